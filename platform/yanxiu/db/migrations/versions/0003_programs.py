"""programs: trainer-run programmes (status, audience, capacity), enrolment, check-in attempts

Revision ID: 0003
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "draft",
                    "published",
                    "closed",
                    name="programstatus",
                    native_enum=False,
                    length=16,
                ),
                server_default="published",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("audience_stages", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("audience_subjects", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("audience_school_ids", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("offline_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("code_version", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("program_participants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "joined_by",
                sa.Enum("self", "assigned", name="joinedby", native_enum=False, length=16),
                server_default="assigned",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("assigned_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_program_participants_assigned_by_id_users"),
            "users",
            ["assigned_by_id"],
            ["id"],
        )
    op.create_table(
        "checkin_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["offline_sessions.id"],
            name=op.f("fk_checkin_attempts_session_id_offline_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["users.id"], name=op.f("fk_checkin_attempts_teacher_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_attempts")),
    )
    with op.batch_alter_table("checkin_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkin_attempts_session_teacher_at", ["session_id", "teacher_id", "at"]
        )
        batch_op.create_index("ix_checkin_attempts_session_at", ["session_id", "at"])


def downgrade() -> None:
    with op.batch_alter_table("checkin_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_attempts_session_at")
        batch_op.drop_index("ix_checkin_attempts_session_teacher_at")
    op.drop_table("checkin_attempts")
    with op.batch_alter_table("program_participants", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_program_participants_assigned_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("assigned_by_id")
        batch_op.drop_column("joined_at")
        batch_op.drop_column("joined_by")
    with op.batch_alter_table("offline_sessions", schema=None) as batch_op:
        batch_op.drop_column("code_version")
        batch_op.drop_column("capacity")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("audience_school_ids")
        batch_op.drop_column("audience_subjects")
        batch_op.drop_column("audience_stages")
        batch_op.drop_column("status")
