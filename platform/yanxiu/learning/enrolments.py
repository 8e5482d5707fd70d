"""Enrolment lifecycle: enrol, progress, complete (credits the ledger once), drop, rate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.audit.service import record_audit
from yanxiu.catalog.models import Course, CourseFormat, CourseStatus, Enrolment, EnrolmentStatus
from yanxiu.credits.ledger import credit_hours
from yanxiu.credits.models import CreditRecord, CreditSource
from yanxiu.credits.policy import CreditPolicy
from yanxiu.credits.rules import Decision
from yanxiu.db.base import utcnow
from yanxiu.errors import Conflict


class EnrolmentError(Conflict):
    """The course or the teacher's enrolment does not allow this action (not enrolled, already
    completed, retired…); the message (Chinese) says why."""


def course_credit_key(teacher_id: int, course_code: str) -> str:
    """The fact "this teacher completed this course": credited at most once."""
    return f"course:{teacher_id}:{course_code}"


def get_enrolment(session: Session, teacher_id: int, course_id: int) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).where(
            Enrolment.teacher_id == teacher_id, Enrolment.course_id == course_id
        )
    )


def enrol(
    session: Session, *, teacher_id: int, course: Course, when: datetime | None = None
) -> Enrolment:
    """Enrol a teacher (re-enrolling after a drop reopens the same enrolment)."""
    if course.status != CourseStatus.PUBLISHED:
        raise EnrolmentError(f"课程 {course.code} 当前不可报名（状态：{course.status.value}）")
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None:
        enrolment = Enrolment(
            teacher_id=teacher_id, course_id=course.id, status=EnrolmentStatus.ENROLLED,
            progress=0.0, enrolled_at=when or utcnow(),
        )  # fmt: skip
        try:
            with session.begin_nested():  # a concurrent click may have enrolled them already
                session.add(enrolment)
                session.flush()
        except IntegrityError:
            first = get_enrolment(session, teacher_id, course.id)
            if first is None:  # pragma: no cover - another constraint failed
                raise
            return first  # the first request's enrolment: the outcome the teacher wanted
    elif enrolment.status == EnrolmentStatus.DROPPED:
        enrolment.status, enrolment.dropped_at = EnrolmentStatus.ENROLLED, None
    session.flush()
    return enrolment


def update_progress(session: Session, *, enrolment: Enrolment, progress: float) -> Enrolment:
    if not 0.0 <= progress <= 1.0:
        raise EnrolmentError("progress must be between 0 and 1")
    if enrolment.status == EnrolmentStatus.ENROLLED:
        enrolment.progress = max(enrolment.progress, progress)  # progress never goes back
    session.flush()
    return enrolment


def complete_course(
    session: Session,
    *,
    policy: CreditPolicy,
    teacher_id: int,
    course: Course,
    decision: Decision | None,
    when: datetime | None = None,
    actor_id: int | None = None,
    evidence: dict[str, object] | None = None,
) -> tuple[Enrolment, CreditRecord, bool]:
    """Mark a course completed and credit its hours; doing it twice credits once.

    ``decision`` is the crediting rules' verdict on the teacher's evidence
    (:func:`yanxiu.learning.completion.completion_decision`); a refused one raises
    :class:`~yanxiu.credits.rules.CreditRefused` and nothing changes. ``None`` is for the
    demo's history only (completions "migrated" from before the platform recorded study).

    Returns:
        ``(enrolment, credit record, newly credited)``.
    """
    when = when or utcnow()
    key = course_credit_key(teacher_id, course.code)
    credited = session.scalar(select(CreditRecord).where(CreditRecord.idempotency_key == key))
    enrolment = get_enrolment(session, teacher_id, course.id)
    if credited is not None and enrolment is not None:
        return enrolment, credited, False
    if decision is not None:
        decision.require()
    enrolment = get_enrolment(session, teacher_id, course.id) or enrol(
        session, teacher_id=teacher_id, course=course, when=when
    )
    if enrolment.status != EnrolmentStatus.COMPLETED:
        enrolment.status, enrolment.progress, enrolment.completed_at = (
            EnrolmentStatus.COMPLETED, 1.0, when,
        )  # fmt: skip
    source = CreditSource.OFFLINE if course.format == CourseFormat.OFFLINE else CreditSource.ONLINE
    record, created = credit_hours(
        session,
        policy=policy,
        teacher_id=teacher_id,
        source=source,
        category=course.category,
        hours=course.hours,
        earned_on=(enrolment.completed_at or when).date(),
        title=course.title,
        idempotency_key=key,
        evidence={"course": course.code, "enrolment": enrolment.id, **(evidence or {})},
        created_by_id=actor_id,
        decision=decision,
    )
    if created:
        record_audit(
            session, actor_id=actor_id or teacher_id, action="course.complete", entity="course",
            entity_id=course.code, detail={"teacher_id": teacher_id},
        )  # fmt: skip
    return enrolment, record, created


def drop_course(
    session: Session, *, enrolment: Enrolment, when: datetime | None = None
) -> Enrolment:
    if enrolment.status == EnrolmentStatus.COMPLETED:
        raise EnrolmentError("已完成的课程不能退选")
    enrolment.status, enrolment.dropped_at = EnrolmentStatus.DROPPED, when or utcnow()
    session.flush()
    return enrolment


def rate_course(session: Session, *, enrolment: Enrolment, rating: int) -> Enrolment:
    if enrolment.status != EnrolmentStatus.COMPLETED:
        raise EnrolmentError("完成课程后才能评价")
    if not 1 <= rating <= 5:
        raise EnrolmentError("rating must be 1–5")
    enrolment.rating = rating
    session.flush()
    return enrolment
