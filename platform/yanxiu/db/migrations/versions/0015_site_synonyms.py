"""site search synonyms in the database (added and removed by admins on the web page, kept as
history), and their change counter (every server process rebuilds its query parser)

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from yanxiu.db.change_counters import create_change_triggers, drop_change_triggers

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expansion", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("legacy_key", sa.String(length=64), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_search_synonyms_added_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["removed_by"], ["users.id"], name=op.f("fk_search_synonyms_removed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonyms")),
        sa.UniqueConstraint("legacy_key", name=op.f("uq_search_synonyms_legacy_key")),
    )
    op.create_table(
        "search_synonym_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("synonym_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=30), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["synonym_id"],
            ["search_synonyms.id"],
            name=op.f("fk_search_synonym_aliases_synonym_id_search_synonyms"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonym_aliases")),
    )
    op.create_index(
        op.f("ix_search_synonym_aliases_synonym_id"), "search_synonym_aliases", ["synonym_id"]
    )
    # one entry in force per alias; a removed entry's aliases may be used again
    op.create_index(
        "uq_search_synonym_aliases_live", "search_synonym_aliases", ["alias"], unique=True,
        sqlite_where=sa.text("removed_at IS NULL"), postgresql_where=sa.text("removed_at IS NULL"),
    )  # fmt: skip
    create_change_triggers(op.get_bind(), ("synonyms",))


def downgrade() -> None:
    drop_change_triggers(op.get_bind(), ("synonyms",))
    op.drop_index("uq_search_synonym_aliases_live", table_name="search_synonym_aliases")
    op.drop_index(op.f("ix_search_synonym_aliases_synonym_id"), table_name="search_synonym_aliases")
    op.drop_table("search_synonym_aliases")
    op.drop_table("search_synonyms")
