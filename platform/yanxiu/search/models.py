"""Search tables: the site's own synonym entries (:class:`SiteSynonym`) and 课程缺口.

课程缺口 (:class:`SearchGap`): what teachers looked for and the catalog could not answer, anonymised.

One row per (normalised query, stage, subject) with a count: no user id, no time of each
search, and the stage/subject come from the query's own words or the searcher's profile
only. Digits runs that could be a phone or id number are removed before the query is kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yanxiu.db.base import Base, utcnow


class SearchGap(Base):
    __tablename__ = "search_gaps"
    __table_args__ = (UniqueConstraint("query", "stage", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(8), default="")
    subject: Mapped[str] = mapped_column(String(16), default="")
    count: Mapped[int] = mapped_column(default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SiteSynonym(Base):
    """A site's own synonym entry (管理员在「检索同义词」页添加), beside the shipped table in
    content/search/synonyms.yaml. Never deleted: removal sets ``removed_at``/``removed_by``,
    and the entry stays as history."""

    __tablename__ = "search_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    expansion: Mapped[str] = mapped_column(String(100))
    # where it came from: "admin" (the web page), "cli" (yanxiu synonyms add), "legacy" (a
    # pre-0015 <data_dir>/search_synonyms.yaml, imported once)
    origin: Mapped[str] = mapped_column(String(16), default="admin")
    # the legacy file's entry this row was imported from (its hash), so it is imported once
    legacy_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    aliases: Mapped[list[SiteSynonymAlias]] = relationship(
        back_populates="synonym", order_by="SiteSynonymAlias.position", lazy="selectin"
    )


class SiteSynonymAlias(Base):
    """One alias of a site entry. An alias belongs to one entry in force at a time: a unique
    index over the aliases of entries not removed (two admins adding 大概念 at once: one wins,
    the other is told which entry has it)."""

    __tablename__ = "search_synonym_aliases"
    __table_args__ = (
        Index(
            "uq_search_synonym_aliases_live", "alias", unique=True,
            sqlite_where=text("removed_at IS NULL"), postgresql_where=text("removed_at IS NULL"),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    synonym_id: Mapped[int] = mapped_column(ForeignKey("search_synonyms.id"), index=True)
    alias: Mapped[str] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(default=0)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)  # the entry's removal
    synonym: Mapped[SiteSynonym] = relationship(back_populates="aliases")
