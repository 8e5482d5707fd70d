"""The trainer's attendance sheet: first marks credit once, corrections keep the ledger right."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select

from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.audit.models import AuditEntry
from yanxiu.credits.ledger import ledger_entries
from yanxiu.programs.models import AttendanceStatus, OfflineSession, Program, program_participants
from yanxiu.programs.service import AttendanceError, mark_attendance

P, L, A = AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT


@pytest.fixture
def sheet(session):
    school = make_school(session)
    trainer = create_user(session, username="tr", display_name="培训者", role=Role.TRAINER,
                          password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
    teacher, outsider = make_teacher(session, school=school), make_teacher(session, school=school)
    program = Program(code="P1", title="混合式研修", category="学科教学", trainer_id=trainer.id,
                      region_id=school.county_id, starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 1))  # fmt: skip
    session.add(program)
    session.flush()
    session.execute(
        insert(program_participants).values(program_id=program.id, teacher_id=teacher.id)
    )
    off = OfflineSession(program_id=program.id, title="集中面授", location="县教师发展中心",
                         starts_at=datetime(2026, 10, 10, 8, 30, tzinfo=UTC),
                         ends_at=datetime(2026, 10, 10, 16, tzinfo=UTC), hours=6, category="学科教学")  # fmt: skip
    session.add(off)
    session.flush()
    return trainer, teacher, outsider, off


def mark(session, policy, sheet, status, *, teacher=None, today=date(2026, 10, 10)):
    trainer, participant, _, off = sheet
    return mark_attendance(session, policy=policy, offline_session=off, teacher_id=(teacher or participant).id,
                           status=status, recorded_by_id=trainer.id, today=today)  # fmt: skip


def live_hours(session, teacher):
    return [e.hours for e in ledger_entries(session, [teacher.id]) if e.counts]


def test_present_credits_once_and_late_keeps_the_credit(session, policy, sheet):
    teacher = sheet[1]
    assert mark(session, policy, sheet, P) == "recorded"
    assert mark(session, policy, sheet, P) == "unchanged"
    assert live_hours(session, teacher) == [6]
    assert mark(session, policy, sheet, L) == "changed"
    assert live_hours(session, teacher) == [6]
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "attendance.mark")
    )
    assert len(list(actions)) == 2  # the unchanged mark writes nothing


def test_corrections_void_and_recredit_the_append_only_way(session, policy, sheet):
    teacher = sheet[1]
    assert mark(session, policy, sheet, A) == "recorded"
    assert live_hours(session, teacher) == []
    mark(session, policy, sheet, P)
    assert live_hours(session, teacher) == [6]
    mark(session, policy, sheet, A)
    entries = ledger_entries(session, [teacher.id])
    assert [e.voided for e in entries] == [True] and "缺勤" in entries[0].void_reason
    mark(session, policy, sheet, P)  # a fresh key: the voided credit stays voided
    entries = ledger_entries(session, [teacher.id])
    assert [(e.hours, e.voided) for e in entries] == [(6, True), (6, False)]
    assert entries[1].idempotency_key.endswith("#2")


def test_only_participants_and_only_once_the_session_began(session, policy, sheet):
    outsider = sheet[2]
    with pytest.raises(AttendanceError, match="不是本项目的学员"):
        mark(session, policy, sheet, P, teacher=outsider)
    with pytest.raises(AttendanceError, match="尚不能记录考勤"):
        mark(session, policy, sheet, P, today=date(2026, 10, 9))
    assert live_hours(session, sheet[1]) == []
