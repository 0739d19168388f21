"""release rights

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:36:16.184029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_drivers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("haulier_org_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("document_number", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["haulier_org_id"], ["organisations.id"], name=op.f("fk_release_drivers_haulier_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_drivers")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_release_drivers_token_hash")),
    )
    with op.batch_alter_table("release_drivers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_drivers_haulier_org_id"), ["haulier_org_id"], unique=False)

    op.create_table(
        "release_rights",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("container_number", sa.String(length=11), nullable=False),
        sa.Column("transport_document", sa.String(length=35), nullable=False),
        sa.Column("consignee", sa.String(length=200), nullable=False),
        sa.Column("consignee_key", sa.String(length=200), nullable=False),
        sa.Column("issuer_org_id", sa.String(length=40), nullable=False),
        sa.Column("holder_org_id", sa.String(length=40), nullable=False),
        sa.Column("terminal_org_id", sa.String(length=40), nullable=False),
        sa.Column("driver_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("commercial_ok", sa.Boolean(), nullable=False),
        sa.Column("commercial_by", sa.String(length=40), nullable=True),
        sa.Column("commercial_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customs_ok", sa.Boolean(), nullable=False),
        sa.Column("customs_by", sa.String(length=40), nullable=True),
        sa.Column("customs_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terminal_ok", sa.Boolean(), nullable=False),
        sa.Column("terminal_by", sa.String(length=40), nullable=True),
        sa.Column("terminal_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["release_drivers.id"], name=op.f("fk_release_rights_driver_id_release_drivers")
        ),
        sa.ForeignKeyConstraint(
            ["holder_org_id"], ["organisations.id"], name=op.f("fk_release_rights_holder_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_org_id"], ["organisations.id"], name=op.f("fk_release_rights_issuer_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_release_rights_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_release_rights_sharing_group_id_sharing_groups")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_org_id"], ["organisations.id"], name=op.f("fk_release_rights_terminal_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_rights")),
    )
    with op.batch_alter_table("release_rights", schema=None) as batch_op:
        batch_op.create_index("ix_release_rights_consignee_key_status", ["consignee_key", "status"], unique=False)
        batch_op.create_index("ix_release_rights_container_status", ["container_number", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_release_rights_holder_org_id"), ["holder_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_release_rights_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_release_rights_terminal_org_id"), ["terminal_org_id"], unique=False)

    op.create_table(
        "release_steps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("right_id", sa.String(length=40), nullable=True),
        sa.Column("container_number", sa.String(length=11), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_org_id", sa.String(length=40), nullable=True),
        sa.Column("to_org_id", sa.String(length=40), nullable=True),
        sa.Column("driver_id", sa.String(length=40), nullable=True),
        sa.Column("light", sa.String(length=12), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("by_user_id", sa.String(length=40), nullable=True),
        sa.Column("by_org_id", sa.String(length=40), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["release_drivers.id"], name=op.f("fk_release_steps_driver_id_release_drivers")
        ),
        sa.ForeignKeyConstraint(
            ["from_org_id"], ["organisations.id"], name=op.f("fk_release_steps_from_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["right_id"], ["release_rights.id"], name=op.f("fk_release_steps_right_id_release_rights")
        ),
        sa.ForeignKeyConstraint(
            ["to_org_id"], ["organisations.id"], name=op.f("fk_release_steps_to_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_steps")),
        sa.UniqueConstraint("right_id", "seq", name=op.f("uq_release_steps_right_id")),
    )
    with op.batch_alter_table("release_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_steps_container_number"), ["container_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_release_steps_right_id"), ["right_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("release_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_steps_right_id"))
        batch_op.drop_index(batch_op.f("ix_release_steps_container_number"))

    op.drop_table("release_steps")
    with op.batch_alter_table("release_rights", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_rights_terminal_org_id"))
        batch_op.drop_index(batch_op.f("ix_release_rights_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_release_rights_holder_org_id"))
        batch_op.drop_index("ix_release_rights_container_status")
        batch_op.drop_index("ix_release_rights_consignee_key_status")

    op.drop_table("release_rights")
    with op.batch_alter_table("release_drivers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_drivers_haulier_org_id"))

    op.drop_table("release_drivers")
