"""network runs, entities, decisions, watch lists

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:49:12.994736
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_decisions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("record", sa.String(length=120), nullable=False),
        sa.Column("other_record", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_network_decisions_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"],
            ["sharing_groups.id"],
            name=op.f("fk_network_decisions_sharing_group_id_sharing_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_decisions")),
    )
    with op.batch_alter_table("network_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_network_decisions_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_network_decisions_record"), ["record"], unique=False)

    op.create_table(
        "network_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("entities", sa.Integer(), nullable=False),
        sa.Column("declarations", sa.Integer(), nullable=False),
        sa.Column("seizures", sa.Integer(), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("communities", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_network_runs_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_network_runs_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_runs")),
    )
    with op.batch_alter_table("network_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_network_runs_as_of"), ["as_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_network_runs_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "watchlists",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_watchlists_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_watchlists_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlists")),
    )
    with op.batch_alter_table("watchlists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_watchlists_file_sha256"), ["file_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_watchlists_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "network_entities",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=12), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("declarations", sa.Integer(), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("hops_to_seizure", sa.Integer(), nullable=True),
        sa.Column("community", sa.Integer(), nullable=True),
        sa.Column("degree", sa.Integer(), nullable=False),
        sa.Column("betweenness", sa.Float(), nullable=False),
        sa.Column("watch_hits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["network_runs.id"], name=op.f("fk_network_entities_run_id_network_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "id", name=op.f("pk_network_entities")),
    )
    with op.batch_alter_table("network_entities", schema=None) as batch_op:
        batch_op.create_index("ix_network_entities_run_risk", ["run_id", "risk"], unique=False)

    op.create_table(
        "network_keys",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=260), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["network_runs.id"], name=op.f("fk_network_keys_run_id_network_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "key", "entity_id", name=op.f("pk_network_keys")),
    )
    with op.batch_alter_table("network_keys", schema=None) as batch_op:
        batch_op.create_index("ix_network_keys_run_key", ["run_id", "key"], unique=False)

    op.create_table(
        "network_links",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("declaration_id", sa.String(length=100), nullable=False),
        sa.Column("party_seq", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("matched_record", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["network_runs.id"], name=op.f("fk_network_links_run_id_network_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "declaration_id", "party_seq", name=op.f("pk_network_links")),
    )
    with op.batch_alter_table("network_links", schema=None) as batch_op:
        batch_op.create_index("ix_network_links_run_entity", ["run_id", "entity_id"], unique=False)

    op.create_table(
        "network_watch_hits",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("watchlist_id", sa.String(length=40), nullable=False),
        sa.Column("entry_id", sa.String(length=200), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["network_runs.id"], name=op.f("fk_network_watch_hits_run_id_network_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "entity_id", "watchlist_id", "entry_id", name=op.f("pk_network_watch_hits")),
    )
    op.create_table(
        "watchlist_entries",
        sa.Column("watchlist_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("schema", sa.String(length=40), nullable=False),
        sa.Column("caption", sa.String(length=300), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("birth_dates", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["watchlists.id"],
            name=op.f("fk_watchlist_entries_watchlist_id_watchlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("watchlist_id", "id", name=op.f("pk_watchlist_entries")),
    )


def downgrade() -> None:
    op.drop_table("watchlist_entries")
    op.drop_table("network_watch_hits")
    with op.batch_alter_table("network_links", schema=None) as batch_op:
        batch_op.drop_index("ix_network_links_run_entity")

    op.drop_table("network_links")
    with op.batch_alter_table("network_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_network_keys_run_key")

    op.drop_table("network_keys")
    with op.batch_alter_table("network_entities", schema=None) as batch_op:
        batch_op.drop_index("ix_network_entities_run_risk")

    op.drop_table("network_entities")
    with op.batch_alter_table("watchlists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watchlists_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_watchlists_file_sha256"))

    op.drop_table("watchlists")
    with op.batch_alter_table("network_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_runs_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_network_runs_as_of"))

    op.drop_table("network_runs")
    with op.batch_alter_table("network_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_decisions_record"))
        batch_op.drop_index(batch_op.f("ix_network_decisions_owner_org_id"))

    op.drop_table("network_decisions")
