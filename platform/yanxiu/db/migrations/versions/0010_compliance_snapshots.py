"""compliance snapshots: per-teacher summaries the dashboards aggregate at province scale

Revision ID: 0010
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "compliance_snapshots",
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("policy_code", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("cycle_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("on_track", sa.Boolean(), nullable=False),
        sa.Column("ethics_ok", sa.Boolean(), nullable=False),
        sa.Column("current_year_met", sa.Boolean(), nullable=False),
        sa.Column("past_years_ok", sa.Boolean(), nullable=False),
        sa.Column("counted_total", sa.Float(), nullable=False),
        sa.Column("required_total", sa.Float(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("ethics_hours", sa.Float(), nullable=False),
        sa.Column("pending_hours", sa.Float(), nullable=False),
        sa.Column("current_year_hours", sa.Float(), nullable=False),
        sa.Column("yearly_minimum", sa.Float(), nullable=False),
        sa.Column("projected_completion", sa.Date(), nullable=True),
        sa.Column("category_gaps", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["users.id"], name=op.f("fk_compliance_snapshots_teacher_id_users")
        ),
        sa.PrimaryKeyConstraint("teacher_id", name=op.f("pk_compliance_snapshots")),
    )
    op.create_table(
        "compliance_watermarks",
        sa.Column("policy_code", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("max_record_id", sa.Integer(), nullable=False),
        sa.Column("max_void_id", sa.Integer(), nullable=False),
        sa.Column("max_review_id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy_code", name=op.f("pk_compliance_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("compliance_watermarks")
    op.drop_table("compliance_snapshots")
