"""What teachers looked for and the catalog could not answer (课程缺口), anonymised.

One row per (normalised query, stage, subject) with a count: no user id, no time of each
search, and the stage/subject come from the query's own words or the searcher's profile
only. Digits runs that could be a phone or id number are removed before the query is kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

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
