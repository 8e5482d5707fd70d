"""The catalog as an admin oversees it: counts by category, stage, status and format, and
the recent imports (from the audit log)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import User
from yanxiu.audit.models import AuditEntry
from yanxiu.catalog.models import Course, CourseStatus
from yanxiu.catalog.schema import CATEGORIES

FORMAT_LABELS = {"online": "线上", "offline": "线下", "hybrid": "混合"}
COURSE_STATUS_LABELS = {"published": "已发布", "draft": "草稿", "retired": "已下线"}


@dataclass
class CatalogStats:
    total: int = 0
    published: int = 0
    imported: int = 0  # resources that came in through an import (not content/)
    by_status: Counter[str] = field(default_factory=Counter)
    by_format: Counter[str] = field(default_factory=Counter)  # published only
    by_cat_stage: dict[str, Counter[str]] = field(default_factory=dict)  # "*" = all stages
    hours: dict[str, float] = field(default_factory=lambda: defaultdict(float))


def catalog_stats(session: Session) -> CatalogStats:
    stats = CatalogStats(by_cat_stage={c: Counter() for c in CATEGORIES})
    for c in session.scalars(select(Course)):
        stats.total += 1
        stats.by_status[COURSE_STATUS_LABELS[c.status.value]] += 1
        stats.imported += c.origin.startswith("import:")
        if c.status != CourseStatus.PUBLISHED:
            continue
        stats.published += 1
        stats.by_format[FORMAT_LABELS[c.format.value]] += 1
        row = stats.by_cat_stage.setdefault(c.category, Counter())
        row["*"] += 1
        stats.hours[c.category] += c.hours
        for stage in c.stages:
            row[stage] += 1
    return stats


@dataclass(frozen=True)
class ImportRecord:
    at: datetime
    file: str
    who: str
    ok: bool
    detail: dict[str, Any]


def recent_imports(session: Session, limit: int = 10) -> list[ImportRecord]:
    """The latest catalog imports, accepted or rejected, newest first."""
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action.in_(["catalog.sync", "catalog.import_rejected"]),
            AuditEntry.entity_id.like("import:%"),
        )
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
    actors = {e.actor_id for e in entries if e.actor_id}
    names = dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(actors))).all()
    )
    return [
        ImportRecord(
            at=e.created_at,
            file=e.entity_id.removeprefix("import:"),
            who=names.get(e.actor_id, "命令行") if e.actor_id else "命令行",
            ok=e.action == "catalog.sync",
            detail=e.detail,
        )  # fmt: skip
        for e in entries
    ]
