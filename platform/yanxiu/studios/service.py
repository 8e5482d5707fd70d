"""Studio services: case resources from content."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.catalog.service import SyncCounts
from yanxiu.studios.cases import CaseIn
from yanxiu.studios.models import CaseKind, CaseResource, Studio


def sync_cases(session: Session, cases: list[CaseIn], *, origin: str) -> SyncCounts:
    """Insert new cases and update changed ones (cases of unknown studios are skipped)."""
    counts = SyncCounts()
    studios = {s.code: s for s in session.scalars(select(Studio))}
    existing = {c.code: c for c in session.scalars(select(CaseResource))}
    for case in cases:
        studio = studios.get(case.studio)
        if studio is None:
            continue
        digest = case.content_hash()
        row = existing.get(case.id)
        if row is not None and row.content_hash == digest:
            counts.unchanged += 1
            continue
        if row is None:
            row = CaseResource(code=case.id)
            session.add(row)
            counts.created += 1
        else:
            counts.updated += 1
        row.studio_id, row.kind, row.title = studio.id, CaseKind(case.kind), case.title
        row.stage, row.subject, row.grade = case.stage, case.subject, case.grade
        row.competencies, row.summary, row.body = case.competencies, case.summary, case.body
        row.origin, row.content_hash = origin, digest
    session.flush()
    return counts
