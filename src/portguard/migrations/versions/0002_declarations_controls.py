"""declarations and controls

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:44:53.604229
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("declarations", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_ingests_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_ingests_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingests")),
    )
    with op.batch_alter_table("ingests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingests_file_sha256"), ["file_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingests_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "declarations",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=4), nullable=False),
        sa.Column("lodged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("office", sa.String(length=12), nullable=False),
        sa.Column("transport_mode", sa.String(length=1), nullable=False),
        sa.Column("transport_document", sa.String(length=40), nullable=True),
        sa.Column("vessel_imo", sa.String(length=7), nullable=True),
        sa.Column("voyage", sa.String(length=20), nullable=True),
        sa.Column("port_of_loading", sa.String(length=5), nullable=True),
        sa.Column("port_of_discharge", sa.String(length=5), nullable=True),
        sa.Column("country_of_departure", sa.String(length=2), nullable=True),
        sa.Column("route_countries", sa.JSON(), nullable=False),
        sa.Column("ingest_id", sa.String(length=40), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["ingest_id"], ["ingests.id"], name=op.f("fk_declarations_ingest_id_ingests")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_declarations_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_declarations_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
        sa.UniqueConstraint("owner_org_id", "ref", name="uq_declarations_owner_ref"),
    )
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_declarations_ingest_id"), ["ingest_id"], unique=False)
        batch_op.create_index("ix_declarations_lodged_at", ["lodged_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_declarations_office"), ["office"], unique=False)
        batch_op.create_index(batch_op.f("ix_declarations_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "control_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("declaration_id", sa.String(length=100), nullable=True),
        sa.Column("container_number", sa.String(length=11), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason_kind", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["declaration_id"], ["declarations.id"], name=op.f("fk_control_orders_declaration_id_declarations")
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_control_orders_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_control_orders_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_orders")),
    )
    with op.batch_alter_table("control_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_control_orders_container_number"), ["container_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_control_orders_declaration_id"), ["declaration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_control_orders_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "declaration_containers",
        sa.Column("declaration_id", sa.String(length=100), nullable=False),
        sa.Column("number", sa.String(length=11), nullable=False),
        sa.Column("seals", sa.JSON(), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name=op.f("fk_declaration_containers_declaration_id_declarations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("declaration_id", "number", name=op.f("pk_declaration_containers")),
    )
    op.create_table(
        "declaration_parties",
        sa.Column("declaration_id", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("eori", sa.String(length=17), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("postcode", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name=op.f("fk_declaration_parties_declaration_id_declarations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("declaration_id", "seq", name=op.f("pk_declaration_parties")),
    )
    with op.batch_alter_table("declaration_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_declaration_parties_eori"), ["eori"], unique=False)

    op.create_table(
        "goods_items",
        sa.Column("declaration_id", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hs_code", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("gross_mass_kg", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("net_mass_kg", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("value", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("packages", sa.Integer(), nullable=True),
        sa.Column("country_of_origin", sa.String(length=2), nullable=True),
        sa.Column("containers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name=op.f("fk_goods_items_declaration_id_declarations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("declaration_id", "seq", name=op.f("pk_goods_items")),
    )
    with op.batch_alter_table("goods_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goods_items_hs_code"), ["hs_code"], unique=False)

    op.create_table(
        "control_results",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("declaration_id", sa.String(length=100), nullable=True),
        sa.Column("container_number", sa.String(length=11), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("goods", sa.Text(), nullable=True),
        sa.Column("quantity_kg", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("drug_type", sa.String(length=60), nullable=True),
        sa.Column("concealment", sa.String(length=120), nullable=True),
        sa.Column("officer", sa.String(length=120), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["declaration_id"], ["declarations.id"], name=op.f("fk_control_results_declaration_id_declarations")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["control_orders.id"], name=op.f("fk_control_results_order_id_control_orders")
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_control_results_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_control_results_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_results")),
    )
    with op.batch_alter_table("control_results", schema=None) as batch_op:
        batch_op.create_index("ix_control_results_declaration", ["declaration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_control_results_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_control_results_owner_org_id"), ["owner_org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("control_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_control_results_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_control_results_order_id"))
        batch_op.drop_index("ix_control_results_declaration")

    op.drop_table("control_results")
    with op.batch_alter_table("goods_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goods_items_hs_code"))

    op.drop_table("goods_items")
    with op.batch_alter_table("declaration_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_declaration_parties_eori"))

    op.drop_table("declaration_parties")
    op.drop_table("declaration_containers")
    with op.batch_alter_table("control_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_control_orders_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_control_orders_declaration_id"))
        batch_op.drop_index(batch_op.f("ix_control_orders_container_number"))

    op.drop_table("control_orders")
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_declarations_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_declarations_office"))
        batch_op.drop_index("ix_declarations_lodged_at")
        batch_op.drop_index(batch_op.f("ix_declarations_ingest_id"))

    op.drop_table("declarations")
    with op.batch_alter_table("ingests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingests_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_ingests_file_sha256"))

    op.drop_table("ingests")
