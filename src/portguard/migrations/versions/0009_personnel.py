"""personnel

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:55:48.075779
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "employees",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("job_role", sa.String(length=80), nullable=False),
        sa.Column("badge_id", sa.String(length=32), nullable=False),
        sa.Column("vetting_status", sa.String(length=12), nullable=False),
        sa.Column("vetting_expires", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=20), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("shift_start", sa.Integer(), nullable=False),
        sa.Column("shift_end", sa.Integer(), nullable=False),
        sa.Column("shift_days", sa.JSON(), nullable=False),
        sa.Column("work_areas", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_org_id", sa.String(length=40), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("sharing_group_id", sa.String(length=40), nullable=True),
        sa.Column("legal_regime", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_employees_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_employees_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employees")),
        sa.UniqueConstraint("owner_org_id", "badge_id", name="uq_employees_owner_badge"),
    )
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_employees_owner_org_id"), ["owner_org_id"], unique=False)

    op.create_table(
        "personnel_access_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("employee_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("zone", sa.String(length=40), nullable=True),
        sa.Column("system", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=True),
        sa.Column("container_number", sa.String(length=11), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_personnel_access_events_employee_id_employees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personnel_access_events")),
        sa.UniqueConstraint("key", name=op.f("uq_personnel_access_events_key")),
    )
    with op.batch_alter_table("personnel_access_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personnel_access_events_container_number"), ["container_number"], unique=False
        )
        batch_op.create_index("ix_personnel_access_events_employee_at", ["employee_id", "at"], unique=False)

    op.create_table(
        "personnel_screenings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("employee_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_by", sa.String(length=40), nullable=True),
        sa.Column("run_by_org_id", sa.String(length=40), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("watchlist_hits", sa.JSON(), nullable=False),
        sa.Column("network_hits", sa.JSON(), nullable=False),
        sa.Column("signal_counts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_personnel_screenings_employee_id_employees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_by_org_id"], ["organisations.id"], name=op.f("fk_personnel_screenings_run_by_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personnel_screenings")),
    )
    with op.batch_alter_table("personnel_screenings", schema=None) as batch_op:
        batch_op.create_index("ix_personnel_screenings_employee_run", ["employee_id", "run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_personnel_screenings_run_by_org_id"), ["run_by_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_personnel_screenings_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("personnel_screenings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personnel_screenings_run_id"))
        batch_op.drop_index(batch_op.f("ix_personnel_screenings_run_by_org_id"))
        batch_op.drop_index("ix_personnel_screenings_employee_run")

    op.drop_table("personnel_screenings")
    with op.batch_alter_table("personnel_access_events", schema=None) as batch_op:
        batch_op.drop_index("ix_personnel_access_events_employee_at")
        batch_op.drop_index(batch_op.f("ix_personnel_access_events_container_number"))

    op.drop_table("personnel_access_events")
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employees_owner_org_id"))

    op.drop_table("employees")
