"""change counters: bumped by triggers on users, teacher profiles and schools

Revision ID: 0011
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from yanxiu.db.change_counters import create_change_triggers, drop_change_triggers

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_counters")),
    )
    create_change_triggers(op.get_bind())


def downgrade() -> None:
    drop_change_triggers(op.get_bind())
    op.drop_table("change_counters")
