"""logistics: carriers, shipments, carrier event inbox, webhook refusals; dealer address

Revision ID: 59833c66d5d6
Revises: 009dbd54982d
Create Date: 2026-12-01 23:13:15.752726

"""
from alembic import op
import sqlalchemy as sa

import app.models.types


# revision identifiers, used by Alembic.
revision = '59833c66d5d6'
down_revision = '009dbd54982d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('carriers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('previous_secret', sa.String(length=128), nullable=True),
    sa.Column('previous_valid_until', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carriers')),
    sa.UniqueConstraint('code', name=op.f('uq_carriers_code'))
    )
    op.create_table('webhook_refusals',
    sa.Column('carrier_code', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('last_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("reason IN ('bad_signature', 'stale_timestamp', 'unknown_carrier', 'bad_body')", name=op.f('ck_webhook_refusals_reason_known')),
    sa.PrimaryKeyConstraint('carrier_code', 'reason', name=op.f('pk_webhook_refusals'))
    )
    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('carrier_id', sa.Integer(), nullable=False),
    sa.Column('tracking_no', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('has_exception', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_name', sa.String(length=128), nullable=False),
    sa.Column('status_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_event_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('created', 'picked_up', 'in_transit', 'out_for_delivery', 'returned', 'delivered')", name=op.f('ck_shipments_status_known')),
    sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_shipments_carrier_id_carriers')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_shipments_created_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments')),
    sa.UniqueConstraint('carrier_id', 'tracking_no', name='uq_shipments_carrier_tracking')
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_shipments_status_last_event', ['status', 'last_event_at'], unique=False)

    op.create_table('carrier_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier_id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=128), nullable=False),
    sa.Column('tracking_no', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('received_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("outcome IN ('applied', 'duplicate', 'unmatched')", name=op.f('ck_carrier_events_outcome_known')),
    sa.CheckConstraint("status IN ('picked_up', 'in_transit', 'out_for_delivery', 'delivered', 'exception', 'returned')", name=op.f('ck_carrier_events_status_known')),
    sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_carrier_events_carrier_id_carriers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_carrier_events_shipment_id_shipments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_events'))
    )
    with op.batch_alter_table('carrier_events', schema=None) as batch_op:
        batch_op.create_index('ix_carrier_events_carrier_received', ['carrier_id', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_carrier_events_shipment_id'), ['shipment_id'], unique=False)
        batch_op.create_index('ix_carrier_events_unmatched', ['carrier_id', 'tracking_no', 'outcome'], unique=False)
        batch_op.create_index('uq_carrier_events_original', ['carrier_id', 'event_key'], unique=True, sqlite_where=sa.text("outcome != 'duplicate'"), postgresql_where=sa.text("outcome != 'duplicate'"))

    op.create_table('shipment_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_shipment_lines_qty_positive')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_shipment_lines_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_lines_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_lines'))
    )
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_lines_shipment_id'), ['shipment_id'], unique=False)

    # Plain ADD COLUMN with a default works on SQLite and PostgreSQL without a table rebuild.
    op.add_column('dealers', sa.Column('address', sa.String(length=255), server_default='', nullable=False))
    op.add_column('dealers', sa.Column('contact_name', sa.String(length=64), server_default='', nullable=False))
    op.add_column('dealers', sa.Column('contact_phone', sa.String(length=32), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('dealers', schema=None) as batch_op:
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('address')

    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_lines_shipment_id'))

    op.drop_table('shipment_lines')
    with op.batch_alter_table('carrier_events', schema=None) as batch_op:
        batch_op.drop_index('uq_carrier_events_original', sqlite_where=sa.text("outcome != 'duplicate'"), postgresql_where=sa.text("outcome != 'duplicate'"))
        batch_op.drop_index('ix_carrier_events_unmatched')
        batch_op.drop_index(batch_op.f('ix_carrier_events_shipment_id'))
        batch_op.drop_index('ix_carrier_events_carrier_received')

    op.drop_table('carrier_events')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_status_last_event')
        batch_op.drop_index(batch_op.f('ix_shipments_order_id'))

    op.drop_table('shipments')
    op.drop_table('webhook_refusals')
    op.drop_table('carriers')
