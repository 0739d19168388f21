"""declarations: drop the unique (owner, ref) constraint, which the primary key already is

Loading a million declarations showed where SQLite spends its time: maintaining B-trees, about 6 µs per row and
index on the reference machine. `uq_declarations_owner_ref` was a second index holding the same keys as the
primary key `<owner>:<ref>` (a reference cannot contain ':', so the id determines owner and reference and back).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("declarations") as batch_op:
        batch_op.drop_constraint("uq_declarations_owner_ref", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("declarations") as batch_op:
        batch_op.create_unique_constraint("uq_declarations_owner_ref", ["owner_org_id", "ref"])
