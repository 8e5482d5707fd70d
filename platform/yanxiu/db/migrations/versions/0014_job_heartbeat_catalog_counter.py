"""job heartbeats and run counts (a crashed worker's job is recovered); the catalog's change
counter (every server process reloads its search index when another one changed the catalog)

Revision ID: 0014
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from yanxiu.db.change_counters import create_change_triggers, drop_change_triggers

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    create_change_triggers(op.get_bind(), ("catalog",))


def downgrade() -> None:
    drop_change_triggers(op.get_bind(), ("catalog",))
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("attempts")
        batch.drop_column("heartbeat_at")
