"""staff roles: HQ users are admin, order_desk or finance (CONTRACT §3a)

Revision ID: 5e8a1c2d9b70
Revises: c41d7e0f3a92
Create Date: 2026-12-02 06:40:00

"""

from alembic import op

revision = "5e8a1c2d9b70"
down_revision = "c41d7e0f3a92"
branch_labels = None
depends_on = None

NAME = "role_matches_dealer"  # the naming convention makes it ck_users_…
NEW = (
    "(role IN ('admin', 'order_desk', 'finance') AND dealer_id IS NULL)"
    " OR (role = 'dealer' AND dealer_id IS NOT NULL)"
)
OLD = "(role = 'admin' AND dealer_id IS NULL) OR (role = 'dealer' AND dealer_id IS NOT NULL)"


def _replace(condition: str) -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_="check")
        batch_op.create_check_constraint(NAME, condition)


def upgrade():
    _replace(NEW)


def downgrade():
    op.execute("UPDATE users SET active = false WHERE role IN ('order_desk', 'finance')")
    op.execute("UPDATE users SET role = 'admin' WHERE role IN ('order_desk', 'finance')")
    _replace(OLD)
