"""deposit notices: a dealer tells HQ about a bank transfer; HQ confirms or rejects

Revision ID: a805c0b26504
Revises: 59833c66d5d6
Create Date: 2026-12-02 00:32:21.800322

"""
from alembic import op
import sqlalchemy as sa

import app.models.types


# revision identifiers, used by Alembic.
revision = 'a805c0b26504'
down_revision = '59833c66d5d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deposit_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dealer_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('receipt_path', sa.String(length=128), nullable=True),
    sa.Column('receipt_type', sa.String(length=32), nullable=True),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected')", name=op.f('ck_deposit_notices_status_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_deposit_notices_amount_positive')),
    sa.ForeignKeyConstraint(['dealer_id'], ['dealers.id'], name=op.f('fk_deposit_notices_dealer_id_dealers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_deposit_notices_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_deposit_notices_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deposit_notices'))
    )
    with op.batch_alter_table('deposit_notices', schema=None) as batch_op:
        batch_op.create_index('ix_deposit_notices_dealer_created', ['dealer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_deposit_notices_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('uq_deposit_notices_live_reference', ['dealer_id', 'reference'], unique=True, sqlite_where=sa.text("status != 'rejected'"), postgresql_where=sa.text("status != 'rejected'"))


def downgrade():
    with op.batch_alter_table('deposit_notices', schema=None) as batch_op:
        batch_op.drop_index('uq_deposit_notices_live_reference', sqlite_where=sa.text("status != 'rejected'"), postgresql_where=sa.text("status != 'rejected'"))
        batch_op.drop_index('ix_deposit_notices_status_created')
        batch_op.drop_index('ix_deposit_notices_dealer_created')

    op.drop_table('deposit_notices')
