"""search: 典型困惑 on courses, and the anonymised catalog-gap counts (课程缺口)

Revision ID: 0004
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("problems", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "search_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_gaps")),
        sa.UniqueConstraint(
            "query", "stage", "subject", name=op.f("uq_search_gaps_query_stage_subject")
        ),
    )
    with op.batch_alter_table("search_gaps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_gaps_last_seen"), ["last_seen"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("search_gaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_gaps_last_seen"))
    op.drop_table("search_gaps")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_column("problems")
