"""Hybrid programs: offline attendance, credited to the ledger once per teacher and session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.audit.service import record_audit
from yanxiu.credits.ledger import credit_hours, void_record
from yanxiu.credits.models import CreditRecord, CreditSource, CreditVoid
from yanxiu.credits.policy import CreditPolicy
from yanxiu.credits.rules import Decision, Evidence, decide
from yanxiu.db.base import utcnow
from yanxiu.errors import Malformed
from yanxiu.programs.clock import stored_wall
from yanxiu.programs.models import (
    Attendance,
    AttendanceStatus,
    OfflineSession,
    program_participants,
)


class AttendanceError(ValueError):
    pass


def attendance_credit_key(session_id: int, teacher_id: int) -> str:
    return f"attendance:{session_id}:{teacher_id}"


def attendance_decision(policy: CreditPolicy, method: str) -> Decision:
    """Attendance is the offline evidence: a check-in code or the trainer's sheet."""
    how = "checkin" if method == "code" else "trainer_sheet"
    return decide(policy, CreditSource.OFFLINE, Evidence(attendance=how))


def record_attendance(
    session: Session,
    *,
    policy: CreditPolicy,
    offline_session: OfflineSession,
    teacher_id: int,
    status: AttendanceStatus,
    recorded_by_id: int | None,
    method: str = "manual",
) -> tuple[Attendance, bool]:
    """Record attendance once; present or late credits the session's hours to the ledger.

    Returns ``(row, created)``. A second call for the same teacher and session returns the
    first record unchanged, also when both run at once: the row's unique key decides, and the
    loser gets the winner's row (attendance, like credits, is a fact recorded once).
    """
    existing = _attendance(session, offline_session.id, teacher_id)
    if existing is not None:
        return existing, False
    row = Attendance(
        session_id=offline_session.id, teacher_id=teacher_id, status=status, method=method,
        recorded_by_id=recorded_by_id,
    )  # fmt: skip
    try:
        with session.begin_nested():  # a concurrent twin may insert first: keep theirs
            session.add(row)
            session.flush()
    except IntegrityError:
        winner = _attendance(session, offline_session.id, teacher_id)
        if winner is None:
            raise
        return winner, False
    if status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        credit_hours(
            session,
            policy=policy,
            teacher_id=teacher_id,
            source=CreditSource.OFFLINE,
            category=offline_session.category,
            hours=offline_session.hours,
            earned_on=session_day(offline_session),
            title=offline_session.title,
            idempotency_key=attendance_credit_key(offline_session.id, teacher_id),
            evidence={
                "session": offline_session.id,
                "program": offline_session.program_id,
                "status": status.value,
                "method": method,
            },
            created_by_id=recorded_by_id,
            decision=attendance_decision(policy, method),
        )
    return row, True


def _attendance(session: Session, session_id: int, teacher_id: int) -> Attendance | None:
    return session.scalar(
        select(Attendance)
        .where(Attendance.session_id == session_id, Attendance.teacher_id == teacher_id)
        .execution_options(populate_existing=True)
    )


# ----------------------------------------------------------------- trainer's attendance sheet

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
STATUS_LABELS = {
    AttendanceStatus.PRESENT: "出勤",
    AttendanceStatus.LATE: "迟到",
    AttendanceStatus.ABSENT: "缺勤",
}
MarkOutcome = Literal["recorded", "unchanged", "changed"]


def session_day(offline_session: OfflineSession) -> date:
    """The (Beijing) day a session takes place."""
    return stored_wall(offline_session.starts_at).date()


def is_participant(session: Session, program_id: int, teacher_id: int) -> bool:
    return (
        session.scalar(
            select(program_participants.c.teacher_id).where(
                program_participants.c.program_id == program_id,
                program_participants.c.teacher_id == teacher_id,
            )
        )
        is not None
    )


def _live_credit(
    session: Session, session_id: int, teacher_id: int
) -> tuple[CreditRecord | None, int]:
    """The attendance credit of (session, teacher) that still counts, and how many exist."""
    key = attendance_credit_key(session_id, teacher_id)
    records = list(
        session.scalars(
            select(CreditRecord)
            .where(
                CreditRecord.teacher_id == teacher_id,
                (CreditRecord.idempotency_key == key)
                | CreditRecord.idempotency_key.like(f"{key}#%"),
            )
            .order_by(CreditRecord.id)
        )
    )
    voided = set(
        session.scalars(
            select(CreditVoid.record_id).where(CreditVoid.record_id.in_([r.id for r in records]))
        )
    )
    live = [r for r in records if r.id not in voided]
    return (live[-1] if live else None), len(records)


def mark_attendance(
    session: Session,
    *,
    policy: CreditPolicy,
    offline_session: OfflineSession,
    teacher_id: int,
    status: AttendanceStatus,
    recorded_by_id: int,
    today: date,
    _retry: bool = True,
) -> MarkOutcome:
    """The trainer's attendance sheet: record or correct one teacher's attendance.

    A first record goes through :func:`record_attendance` (present or late credits the
    session's hours once). A correction changes the attendance row and keeps the ledger in
    step the append-only way: absent → present credits the hours (a fresh key if an earlier
    credit was voided), present → absent voids the credit with a reason; present ↔ late keeps
    the credit. Marking the same status again changes nothing.

    Raises:
        AttendanceError: The teacher is not in the programme, or the session has not begun.
    """
    if not is_participant(session, offline_session.program_id, teacher_id):
        raise AttendanceError("该教师不是本项目的学员，不能记录考勤")
    first_day = session_day(offline_session)
    if today < first_day:
        raise AttendanceError(f"活动将于 {first_day:%Y年%m月%d日} 举行，尚不能记录考勤")
    existing = _attendance(session, offline_session.id, teacher_id)
    before: str | None = None
    if existing is None:
        existing, created = record_attendance(
            session, policy=policy, offline_session=offline_session, teacher_id=teacher_id,
            status=status, recorded_by_id=recorded_by_id, method="manual",
        )  # fmt: skip
        if created:
            _audit_mark(
                session, offline_session, teacher_id, status, recorded_by_id, None, "recorded"
            )
            return "recorded"
    if existing.status == status:
        return "unchanged"
    before = existing.status.value
    # Compare-and-set: of two trainers correcting the same row at once, one changes it (and
    # the ledger); the other finds it changed and tries again from what is there now.
    result = session.execute(
        update(Attendance)
        .where(Attendance.id == existing.id, Attendance.status == existing.status)
        .values(status=status, recorded_by_id=recorded_by_id, method="manual", recorded_at=utcnow())
    )
    changed = getattr(result, "rowcount", 0)
    if not changed:
        if _retry:
            return mark_attendance(
                session, policy=policy, offline_session=offline_session, teacher_id=teacher_id,
                status=status, recorded_by_id=recorded_by_id, today=today, _retry=False,
            )  # fmt: skip
        return "unchanged"
    session.refresh(existing)
    live, n_records = _live_credit(session, offline_session.id, teacher_id)
    if status in ATTENDED and live is None:
        key = attendance_credit_key(offline_session.id, teacher_id)
        credit_hours(
            session, policy=policy, teacher_id=teacher_id, source=CreditSource.OFFLINE,
            category=offline_session.category, hours=offline_session.hours,
            earned_on=session_day(offline_session), title=offline_session.title,
            idempotency_key=key if n_records == 0 else f"{key}#{n_records + 1}",
            evidence={"session": offline_session.id, "program": offline_session.program_id,
                      "status": status.value, "corrected_from": before},
            created_by_id=recorded_by_id, decision=attendance_decision(policy, "manual"),
        )  # fmt: skip
    elif status not in ATTENDED and live is not None:
        void_record(
            session, record_id=live.id, actor_id=recorded_by_id,
            reason=f"考勤更正：{offline_session.title}记为{STATUS_LABELS[status]}",
        )  # fmt: skip
    session.flush()
    _audit_mark(session, offline_session, teacher_id, status, recorded_by_id, before, "changed")
    return "changed"


def _audit_mark(
    session: Session, offline_session: OfflineSession, teacher_id: int, status: AttendanceStatus,
    actor_id: int, before: str | None, outcome: str,
) -> None:  # fmt: skip
    record_audit(
        session, actor_id=actor_id, action="attendance.mark", entity="offline_session",
        entity_id=offline_session.id,
        detail={"teacher_id": teacher_id, "status": status.value, "before": before, "outcome": outcome},
    )  # fmt: skip


@dataclass
class SheetOutcome:
    """What an attendance sheet changed: teachers newly recorded, corrected, left as they were,
    and the rows that could not be recorded (with why)."""

    recorded: int = 0
    changed: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def parse_sheet(teachers: list[int], statuses: list[str]) -> dict[int, AttendanceStatus]:
    """The sheet's parallel lists (one select per participant) as teacher -> status; an empty
    status leaves the teacher as they are."""
    if len(teachers) != len(statuses):
        raise Malformed("考勤表格不完整，请刷新页面后重试。")
    wanted: dict[int, AttendanceStatus] = {}
    for teacher_id, value in zip(teachers, statuses, strict=True):
        if value:
            try:
                wanted[teacher_id] = AttendanceStatus(value)
            except ValueError as exc:
                raise Malformed(f"未知的考勤状态：{value}") from exc
    return wanted


def record_sheet(
    session: Session,
    *,
    policy: CreditPolicy,
    offline_session: OfflineSession,
    marks: dict[int, AttendanceStatus],
    rest_present: bool,
    recorded_by_id: int,
    today: date,
) -> SheetOutcome:
    """The trainer's attendance sheet: :func:`mark_attendance` for every marked teacher;
    with ``rest_present``, every participant still unrecorded is marked present."""
    wanted = dict(marks)
    if rest_present:
        recorded = set(
            session.scalars(
                select(Attendance.teacher_id).where(Attendance.session_id == offline_session.id)
            )
        )
        members = session.scalars(
            select(program_participants.c.teacher_id).where(
                program_participants.c.program_id == offline_session.program_id
            )
        )
        for teacher_id in members:
            if teacher_id not in recorded and teacher_id not in wanted:
                wanted[teacher_id] = AttendanceStatus.PRESENT
    outcome = SheetOutcome()
    for teacher_id, status in wanted.items():
        try:
            result = mark_attendance(
                session, policy=policy, offline_session=offline_session, teacher_id=teacher_id,
                status=status, recorded_by_id=recorded_by_id, today=today,
            )  # fmt: skip
        except AttendanceError as exc:
            outcome.problems.append(str(exc))
            continue
        setattr(outcome, result, getattr(outcome, result) + 1)
    return outcome
