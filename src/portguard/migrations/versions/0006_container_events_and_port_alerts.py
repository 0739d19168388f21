"""container events and port alerts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:30:17.747286
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rejected_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_events")),
    )
    with op.batch_alter_table("rejected_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rejected_events_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "container_events",
        sa.Column("id", sa.String(length=150), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("container_number", sa.String(length=11), nullable=True),
        sa.Column("event_type", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("classifier", sa.String(length=3), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("place", sa.String(length=5), nullable=True),
        sa.Column("facility", sa.String(length=6), nullable=True),
        sa.Column("retracted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("flat", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_container_events_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"],
            ["sharing_groups.id"],
            name=op.f("fk_container_events_sharing_group_id_sharing_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_container_events")),
    )
    with op.batch_alter_table("container_events", schema=None) as batch_op:
        batch_op.create_index("ix_container_events_container_time", ["container_number", "event_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_container_events_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "port_alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("container_number", sa.String(length=11), nullable=False),
        sa.Column("detector", sa.String(length=32), nullable=False),
        sa.Column("finding_key", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_port_alerts_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_port_alerts_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_port_alerts")),
        sa.UniqueConstraint(
            "owner_org_id", "container_number", "detector", "finding_key", name=op.f("uq_port_alerts_owner_org_id")
        ),
    )
    with op.batch_alter_table("port_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_port_alerts_container_number"), ["container_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_port_alerts_detector"), ["detector"], unique=False)
        batch_op.create_index(batch_op.f("ix_port_alerts_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_port_alerts_raised_at"), ["raised_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("port_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_port_alerts_raised_at"))
        batch_op.drop_index(batch_op.f("ix_port_alerts_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_port_alerts_detector"))
        batch_op.drop_index(batch_op.f("ix_port_alerts_container_number"))

    op.drop_table("port_alerts")
    with op.batch_alter_table("container_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_container_events_owner_org_id"))
        batch_op.drop_index("ix_container_events_container_time")

    op.drop_table("container_events")
    with op.batch_alter_table("rejected_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rejected_events_owner_org_id"))

    op.drop_table("rejected_events")
