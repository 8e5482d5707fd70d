"""课程缺口: counting what teachers searched for that the catalog could not answer.

``record_gap`` is called when a search shows no match. It keeps the normalised query and the
stage/subject (from the query's words, else the searcher's profile) with a count, and nothing
about who searched. The increment is one UPDATE (atomic on SQLite and PostgreSQL); the first
search of a new query inserts in a savepoint, and a concurrent first insert that loses the
race on the unique key becomes an increment instead of an error.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.db.base import utcnow
from yanxiu.search.models import SearchGap
from yanxiu.search.query import normalise_query
from yanxiu.spreadsheet import BOM, csv_writer

MAX_QUERY = 100
MIN_CHARS = 2
TYPING = timedelta(minutes=2)
_ANY_DIGITS = re.compile(r"\d{5,}")
_MAIL = re.compile(r"\S+@\S+")


def gap_key(query: str) -> str:
    """The query as kept: normalised, lower-case, no long digit runs or e-mail addresses."""
    text = _MAIL.sub(" ", normalise_query(query))
    text = _ANY_DIGITS.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip().lower()[:MAX_QUERY]


def record_gap(session: Session, query: str, *, stage: str = "", subject: str = "") -> None:
    key = gap_key(query)
    if len(key) < MIN_CHARS:
        return
    stage, subject = stage[:8], subject[:16]
    now = utcnow()
    # live search asks as the teacher types: what they typed on the way (a prefix of this
    # query, seen once, just now) was not a question of its own
    typed = session.execute(
        select(SearchGap.id, SearchGap.query).where(
            SearchGap.count == 1, SearchGap.stage == stage, SearchGap.subject == subject,
            SearchGap.last_seen >= now - TYPING,
        )
    ).all()  # fmt: skip
    prefixes = [gid for gid, q in typed if q != key and key.startswith(q)]
    if prefixes:
        session.execute(delete(SearchGap).where(SearchGap.id.in_(prefixes)))
    bump = (
        update(SearchGap)
        .where(SearchGap.query == key, SearchGap.stage == stage, SearchGap.subject == subject)
        .values(count=SearchGap.count + 1, last_seen=now)
    )
    if session.execute(bump).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            session.add(
                SearchGap(
                    query=key, stage=stage, subject=subject, count=1, first_seen=now,
                    last_seen=now,
                )
            )  # fmt: skip
    except IntegrityError:  # someone else inserted it first: count this search on their row
        session.execute(bump)


@dataclass(frozen=True)
class GapRow:
    query: str
    stage: str
    subject: str
    count: int
    last_seen: datetime


@dataclass(frozen=True)
class GapReport:
    rows: list[GapRow]
    total_searches: int
    by_stage: list[tuple[str, int]]
    by_subject: list[tuple[str, int]]


def gap_report(session: Session, *, limit: int = 200) -> GapReport:
    """The most searched gaps first, with totals by stage and subject."""
    rows = [
        GapRow(g.query, g.stage, g.subject, g.count, g.last_seen)
        for g in session.scalars(
            select(SearchGap)
            .order_by(SearchGap.count.desc(), SearchGap.last_seen.desc(), SearchGap.id)
            .limit(limit)
        )
    ]
    total = session.scalar(select(func.coalesce(func.sum(SearchGap.count), 0))) or 0
    by: dict[str, list[tuple[str, int]]] = {}
    for column in ("stage", "subject"):
        col = getattr(SearchGap, column)
        by[column] = [
            (value or "未注明", int(n))
            for value, n in session.execute(
                select(col, func.sum(SearchGap.count))
                .group_by(col)
                .order_by(func.sum(SearchGap.count).desc())
            )
        ]
    return GapReport(rows, int(total), by["stage"], by["subject"])


def gap_csv(report: GapReport) -> str:
    """The gaps as CSV for Excel (UTF-8 with BOM; cells neutralised against formulas)."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv_writer(buf)
    writer.writerow(["检索词", "学段", "学科", "次数", "最近一次"])
    for r in report.rows:
        writer.writerow([r.query, r.stage, r.subject, r.count, r.last_seen.strftime("%Y-%m-%d")])
    return buf.getvalue()
