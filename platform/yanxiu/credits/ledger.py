"""The append-only hour ledger: credit, void, replace, review, read.

Crediting is idempotent: each record carries an ``idempotency_key`` naming the fact it credits
("course:SD-001"), unique in the database, so finishing a course twice, a retried request or
two concurrent workers credit once. Nothing here updates or deletes a ledger row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.audit.service import record_audit
from yanxiu.credits.models import (
    CreditRecord,
    CreditReview,
    CreditSource,
    CreditVoid,
    ReviewState,
)
from yanxiu.credits.policy import CreditPolicy
from yanxiu.credits.rules import Decision


class LedgerError(ValueError):
    """A ledger operation that cannot be done as asked (the message says why)."""


@dataclass(frozen=True)
class LedgerEntry:
    """A credit record with its effective state, as compliance and exports see it."""

    id: int
    teacher_id: int
    source: CreditSource
    category: str
    hours: float
    earned_on: date
    title: str
    evidence: dict[str, Any]
    idempotency_key: str
    review_state: ReviewState
    voided: bool
    void_reason: str
    replaces_id: int | None
    created_at: datetime
    policy_version: str = ""

    @property
    def counts(self) -> bool:
        return not self.voided and self.review_state == ReviewState.APPROVED


def credit_hours(
    session: Session,
    *,
    policy: CreditPolicy,
    teacher_id: int,
    source: CreditSource,
    category: str,
    hours: float,
    earned_on: date,
    title: str,
    idempotency_key: str,
    evidence: dict[str, Any] | None = None,
    created_by_id: int | None = None,
    replaces_id: int | None = None,
    decision: Decision | None = None,
) -> tuple[CreditRecord, bool]:
    """Append a credit record unless one with the same key exists.

    ``decision`` is :func:`yanxiu.credits.rules.decide`'s verdict on the evidence: a refused
    one raises :class:`~yanxiu.credits.rules.CreditRefused` and nothing is written. Every
    crediting path passes one (tests/test_crediting_paths.py); only corrections of records
    already credited (:func:`replace_record`) and the demo's history go without.

    Returns:
        ``(record, created)``; ``created`` is False when the fact was already credited.
    """
    if hours <= 0:
        raise LedgerError(f"hours must be positive, got {hours}")
    if decision is not None:
        if decision.source != source:
            raise LedgerError(f"decision is for {decision.source}, not {source}")
        decision.require()
    existing = session.scalar(
        select(CreditRecord).where(CreditRecord.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return existing, False
    rule = policy.sources[source]
    record = CreditRecord(
        teacher_id=teacher_id,
        source=source,
        category=category,
        hours=round(float(hours), 2),
        earned_on=earned_on,
        title=title,
        evidence=evidence or {},
        idempotency_key=idempotency_key,
        initial_review_state=ReviewState.PENDING if rule.needs_review else ReviewState.APPROVED,
        policy_version=policy.version_label,
        replaces_id=replaces_id,
        created_by_id=created_by_id,
    )
    # A savepoint keeps the caller's transaction usable if a concurrent writer won the race.
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            select(CreditRecord).where(CreditRecord.idempotency_key == idempotency_key)
        )
        if existing is None:
            raise
        return existing, False
    record_audit(
        session,
        actor_id=created_by_id,
        action="credit.create",
        entity="credit_record",
        entity_id=record.id,
        detail={"teacher_id": teacher_id, "hours": record.hours, "key": idempotency_key},
    )
    return record, True


def void_record(
    session: Session, *, record_id: int, reason: str, actor_id: int | None
) -> CreditVoid:
    """Void a record (it stops counting; the row itself stays as it was)."""
    if not reason.strip():
        raise LedgerError("a void needs a reason")
    record = session.get(CreditRecord, record_id)
    if record is None:
        raise LedgerError(f"credit record {record_id} does not exist")
    if session.scalar(select(CreditVoid).where(CreditVoid.record_id == record_id)) is not None:
        raise LedgerError(f"credit record {record_id} is already voided")
    void = CreditVoid(record_id=record_id, reason=reason.strip(), voided_by_id=actor_id)
    session.add(void)
    session.flush()
    record_audit(
        session, actor_id=actor_id, action="credit.void", entity="credit_record",
        entity_id=record_id, detail={"reason": reason},
    )  # fmt: skip
    return void


def replace_record(
    session: Session,
    *,
    policy: CreditPolicy,
    record_id: int,
    reason: str,
    actor_id: int | None,
    hours: float | None = None,
    category: str | None = None,
    earned_on: date | None = None,
    title: str | None = None,
) -> CreditRecord:
    """Void a wrong record and append its corrected replacement, in one transaction."""
    old = session.get(CreditRecord, record_id)
    if old is None:
        raise LedgerError(f"credit record {record_id} does not exist")
    void_record(session, record_id=record_id, reason=reason, actor_id=actor_id)
    new, _ = credit_hours(
        session,
        policy=policy,
        teacher_id=old.teacher_id,
        source=old.source,
        category=category or old.category,
        hours=hours if hours is not None else old.hours,
        earned_on=earned_on or old.earned_on,
        title=title or old.title,
        idempotency_key=f"{old.idempotency_key}#replaces-{old.id}",
        evidence={**old.evidence, "replaces": old.id, "reason": reason},
        created_by_id=actor_id,
        replaces_id=old.id,
    )
    return new


def review_record(
    session: Session,
    *,
    record_id: int,
    state: ReviewState,
    reviewer_id: int | None,
    comment: str = "",
) -> CreditReview:
    """Approve or reject a pending record (school-based, research, imported hours)."""
    if session.get(CreditRecord, record_id) is None:
        raise LedgerError(f"credit record {record_id} does not exist")
    review = CreditReview(
        record_id=record_id, state=state, reviewer_id=reviewer_id, comment=comment
    )
    session.add(review)
    session.flush()
    record_audit(
        session, actor_id=reviewer_id, action=f"credit.review.{state.value}",
        entity="credit_record", entity_id=record_id, detail={"comment": comment},
    )  # fmt: skip
    return review


def ledger_entries(session: Session, teacher_ids: list[int] | None = None) -> list[LedgerEntry]:
    """Every record with its effective review state and void flag, oldest first."""
    query = select(CreditRecord).order_by(CreditRecord.earned_on, CreditRecord.id)
    if teacher_ids is not None:
        query = query.where(CreditRecord.teacher_id.in_(teacher_ids))
    records = list(session.scalars(query))
    if not records:
        return []
    ids = [r.id for r in records]
    voids: dict[int, str] = {}
    reviews: dict[int, ReviewState] = {}
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        for v in session.scalars(select(CreditVoid).where(CreditVoid.record_id.in_(chunk))):
            voids[v.record_id] = v.reason
        for rv in session.scalars(
            select(CreditReview).where(CreditReview.record_id.in_(chunk)).order_by(CreditReview.id)
        ):
            reviews[rv.record_id] = rv.state  # the latest review wins
    return [
        LedgerEntry(
            id=r.id,
            teacher_id=r.teacher_id,
            source=CreditSource(r.source),
            category=r.category,
            hours=float(r.hours),
            earned_on=r.earned_on,
            title=r.title,
            evidence=dict(r.evidence or {}),
            idempotency_key=r.idempotency_key,
            review_state=reviews.get(r.id, ReviewState(r.initial_review_state)),
            voided=r.id in voids,
            void_reason=voids.get(r.id, ""),
            replaces_id=r.replaces_id,
            created_at=r.created_at,
            policy_version=r.policy_version,
        )
        for r in records
    ]
