"""the database refuses an order debit that takes funds below minus the credit limit

The placement service already debits with a guarded UPDATE; this trigger makes the rule hold
for any writer. HQ adjustments stay authoritative (CONTRACT §3 refuses only the rebate case),
so the rule is on `order_debit` entries, whose balance_after is the balance the debit left.

Revision ID: c41d7e0f3a92
Revises: 6b230864ad22
Create Date: 2026-12-02 07:00:00

"""

from alembic import op

revision = "c41d7e0f3a92"
down_revision = "6b230864ad22"
branch_labels = None
depends_on = None

MESSAGE = "order debit below the credit limit"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION order_debit_within_credit() RETURNS trigger AS $$
            BEGIN
                IF NEW.balance_after < -(SELECT credit_limit FROM dealers
                                         WHERE id = NEW.dealer_id) THEN
                    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
            END
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            """
            CREATE TRIGGER order_debit_within_credit
            BEFORE INSERT ON ledger_entries
            FOR EACH ROW WHEN (NEW.type = 'order_debit')
            EXECUTE FUNCTION order_debit_within_credit()
            """
        )
    else:
        op.execute(
            f"""
            CREATE TRIGGER order_debit_within_credit
            BEFORE INSERT ON ledger_entries
            WHEN NEW.type = 'order_debit'
             AND NEW.balance_after < -(SELECT credit_limit FROM dealers WHERE id = NEW.dealer_id)
            BEGIN
                SELECT RAISE(ABORT, '{MESSAGE}');
            END
            """
        )


def downgrade():
    op.execute(
        "DROP TRIGGER IF EXISTS order_debit_within_credit"
        + (" ON ledger_entries" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS order_debit_within_credit()")
