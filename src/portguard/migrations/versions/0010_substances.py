"""substances

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 01:23:54.784627
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("substance_groups", sa.JSON(), nullable=False),
        sa.Column("cn_prefixes", sa.JSON(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("alert_types", sa.JSON(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("nats_subject", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_alert_subscriptions_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_subscriptions")),
    )
    with op.batch_alter_table("alert_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_subscriptions_org_id"), ["org_id"], unique=False)

    op.create_table(
        "substances",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("abbrev", sa.String(length=40), nullable=True),
        sa.Column("synonyms", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("group", sa.String(length=24), nullable=False),
        sa.Column("cas", sa.String(length=16), nullable=True),
        sa.Column("cn_code", sa.String(length=200), nullable=True),
        sa.Column("smiles", sa.Text(), nullable=True),
        sa.Column("inchikey", sa.String(length=27), nullable=True),
        sa.Column("formula", sa.String(length=80), nullable=True),
        sa.Column("eu_category", sa.String(length=2), nullable=True),
        sa.Column("eu_category_note", sa.String(length=200), nullable=True),
        sa.Column("un_1988_table", sa.String(length=2), nullable=True),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("parent_reason", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(length=200), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_substances_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["substances.id"], name=op.f("fk_substances_parent_id_substances")),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_substances_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_substances")),
        sa.UniqueConstraint("owner_org_id", "name", name="uq_substances_owner_name"),
    )
    with op.batch_alter_table("substances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_substances_cas"), ["cas"], unique=False)
        batch_op.create_index(batch_op.f("ix_substances_group"), ["group"], unique=False)
        batch_op.create_index(batch_op.f("ix_substances_inchikey"), ["inchikey"], unique=False)
        batch_op.create_index(batch_op.f("ix_substances_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "drug_alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("substance_id", sa.String(length=40), nullable=True),
        sa.Column("incident_ids", sa.JSON(), nullable=False),
        sa.Column("risk_type", sa.Text(), nullable=False),
        sa.Column("risk_origin", sa.Text(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("event_place", sa.String(length=200), nullable=True),
        sa.Column("exposure", sa.Text(), nullable=True),
        sa.Column("analytical_data", sa.Text(), nullable=True),
        sa.Column("identification_methods", sa.Text(), nullable=True),
        sa.Column("risks", sa.Text(), nullable=True),
        sa.Column("measures_taken", sa.Text(), nullable=True),
        sa.Column("response_options", sa.Text(), nullable=True),
        sa.Column("cn_codes", sa.JSON(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("ack_hours", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by", sa.String(length=40), nullable=True),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_drug_alerts_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_drug_alerts_sharing_group_id_sharing_groups")
        ),
        sa.ForeignKeyConstraint(
            ["substance_id"], ["substances.id"], name=op.f("fk_drug_alerts_substance_id_substances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_alerts")),
    )
    with op.batch_alter_table("drug_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drug_alerts_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drug_alerts_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_drug_alerts_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_drug_alerts_substance_id"), ["substance_id"], unique=False)

    op.create_table(
        "substance_incidents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("substance_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=16, scale=3), nullable=True),
        sa.Column("unit", sa.String(length=8), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("port", sa.String(length=5), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("modus_operandi", sa.Text(), nullable=True),
        sa.Column("declaration_id", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_substance_incidents_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"],
            ["sharing_groups.id"],
            name=op.f("fk_substance_incidents_sharing_group_id_sharing_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["substance_id"],
            ["substances.id"],
            name=op.f("fk_substance_incidents_substance_id_substances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_substance_incidents")),
    )
    with op.batch_alter_table("substance_incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_substance_incidents_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_substance_incidents_substance_id"), ["substance_id"], unique=False)

    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("alert_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("message_kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["drug_alerts.id"], name=op.f("fk_alert_deliveries_alert_id_drug_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_alert_deliveries_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["alert_subscriptions.id"],
            name=op.f("fk_alert_deliveries_subscription_id_alert_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_deliveries_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index("ix_alert_deliveries_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "alert_recipients",
        sa.Column("alert_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("subscription_ids", sa.JSON(), nullable=False),
        sa.Column("matched", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["drug_alerts.id"], name=op.f("fk_alert_recipients_alert_id_drug_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_alert_recipients_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("alert_id", "org_id", name=op.f("pk_alert_recipients")),
    )
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_recipients_org_id"), ["org_id"], unique=False)

    op.create_table(
        "precursor_hits",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("declaration_id", sa.String(length=100), nullable=False),
        sa.Column("goods_seq", sa.Integer(), nullable=False),
        sa.Column("substance_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("matched", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("screened_by_org_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name=op.f("fk_precursor_hits_declaration_id_declarations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["substance_id"],
            ["substances.id"],
            name=op.f("fk_precursor_hits_substance_id_substances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_precursor_hits")),
        sa.UniqueConstraint(
            "declaration_id", "goods_seq", "substance_id", "method", name=op.f("uq_precursor_hits_declaration_id")
        ),
    )
    with op.batch_alter_table("precursor_hits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_precursor_hits_declaration_id"), ["declaration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_precursor_hits_substance_id"), ["substance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("precursor_hits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_precursor_hits_substance_id"))
        batch_op.drop_index(batch_op.f("ix_precursor_hits_declaration_id"))

    op.drop_table("precursor_hits")
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_recipients_org_id"))

    op.drop_table("alert_recipients")
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_deliveries_due")
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_alert_id"))

    op.drop_table("alert_deliveries")
    with op.batch_alter_table("substance_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_substance_incidents_substance_id"))
        batch_op.drop_index(batch_op.f("ix_substance_incidents_owner_org_id"))

    op.drop_table("substance_incidents")
    with op.batch_alter_table("drug_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drug_alerts_substance_id"))
        batch_op.drop_index(batch_op.f("ix_drug_alerts_status"))
        batch_op.drop_index(batch_op.f("ix_drug_alerts_sent_at"))
        batch_op.drop_index(batch_op.f("ix_drug_alerts_owner_org_id"))

    op.drop_table("drug_alerts")
    with op.batch_alter_table("substances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_substances_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_substances_inchikey"))
        batch_op.drop_index(batch_op.f("ix_substances_group"))
        batch_op.drop_index(batch_op.f("ix_substances_cas"))

    op.drop_table("substances")
    with op.batch_alter_table("alert_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_subscriptions_org_id"))

    op.drop_table("alert_subscriptions")
