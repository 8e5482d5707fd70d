"""accounts: roster keys, masked phone, employment, must-change passwords, school type

Revision ID: 0002
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_no", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("employment", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("password_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_users_staff_no"), ["staff_no"])
    with op.batch_alter_table("teacher_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hired_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("title", sa.String(length=16), nullable=True))
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("teacher_profiles", schema=None) as batch_op:
        batch_op.drop_column("title")
        batch_op.drop_column("hired_on")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_staff_no"), type_="unique")
        batch_op.drop_column("password_version")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("employment")
        batch_op.drop_column("phone")
        batch_op.drop_column("staff_no")
