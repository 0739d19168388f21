"""targeting models and selection

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "selection_settings",
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("office", sa.String(length=12), nullable=False),
        sa.Column("exploration", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_selection_settings_owner_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("owner_org_id", "office", name=op.f("pk_selection_settings")),
    )
    op.create_table(
        "targeting_models",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("train_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("train_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_train", sa.Integer(), nullable=False),
        sa.Column("rows_valid", sa.Integer(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("artefact", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_targeting_models_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"],
            ["sharing_groups.id"],
            name=op.f("fk_targeting_models_sharing_group_id_sharing_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targeting_models")),
    )
    with op.batch_alter_table("targeting_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_targeting_models_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "selection_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("office", sa.String(length=12), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("exploration", sa.Float(), nullable=False),
        sa.Column("declarations", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=40), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["targeting_models.id"], name=op.f("fk_selection_runs_model_id_targeting_models")
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_selection_runs_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_selection_runs_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_runs")),
    )
    with op.batch_alter_table("selection_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selection_runs_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_selection_runs_office"), ["office"], unique=False)
        batch_op.create_index(batch_op.f("ix_selection_runs_owner_org_id"), ["owner_org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("selection_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selection_runs_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_selection_runs_office"))
        batch_op.drop_index(batch_op.f("ix_selection_runs_day"))

    op.drop_table("selection_runs")
    with op.batch_alter_table("targeting_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_targeting_models_owner_org_id"))

    op.drop_table("targeting_models")
    op.drop_table("selection_settings")
