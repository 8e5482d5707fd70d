"""Hybrid programs: offline attendance, credited to the ledger once per teacher and session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.credits.ledger import credit_hours
from yanxiu.credits.models import CreditSource
from yanxiu.credits.policy import CreditPolicy
from yanxiu.programs.models import Attendance, AttendanceStatus, OfflineSession


class AttendanceError(ValueError):
    pass


def attendance_credit_key(session_id: int, teacher_id: int) -> str:
    return f"attendance:{session_id}:{teacher_id}"


def record_attendance(
    session: Session,
    *,
    policy: CreditPolicy,
    offline_session: OfflineSession,
    teacher_id: int,
    status: AttendanceStatus,
    recorded_by_id: int | None,
    method: str = "manual",
) -> Attendance:
    """Record attendance once; present or late credits the session's hours to the ledger.

    A second call for the same teacher and session returns the first record unchanged:
    attendance, like credits, is a fact recorded once.
    """
    existing = session.scalar(
        select(Attendance).where(
            Attendance.session_id == offline_session.id, Attendance.teacher_id == teacher_id
        )
    )
    if existing is not None:
        return existing
    row = Attendance(
        session_id=offline_session.id, teacher_id=teacher_id, status=status, method=method,
        recorded_by_id=recorded_by_id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    if status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        credit_hours(
            session,
            policy=policy,
            teacher_id=teacher_id,
            source=CreditSource.OFFLINE,
            category=offline_session.category,
            hours=offline_session.hours,
            earned_on=offline_session.starts_at.date(),
            title=offline_session.title,
            idempotency_key=attendance_credit_key(offline_session.id, teacher_id),
            evidence={
                "session": offline_session.id,
                "program": offline_session.program_id,
                "status": status.value,
            },
            created_by_id=recorded_by_id,
        )
    return row
