"""The append-only ledger against a real database (SQLite, and PostgreSQL when configured)."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import TODAY
from tests.factories import make_teacher
from yanxiu.audit.models import AuditEntry
from yanxiu.catalog.models import Course, CourseFormat, CourseStatus, EnrolmentStatus
from yanxiu.credits.compliance import compute_compliance
from yanxiu.credits.ledger import (
    LedgerError,
    credit_hours,
    ledger_entries,
    replace_record,
    review_record,
    void_record,
)
from yanxiu.credits.models import CreditRecord, CreditSource, ReviewState
from yanxiu.learning.enrolments import EnrolmentError, complete_course, enrol
from yanxiu.programs.models import AttendanceStatus, OfflineSession, Program
from yanxiu.programs.service import record_attendance


def make_course(
    session, code="SD-900", hours=6.0, fmt=CourseFormat.ONLINE, status=CourseStatus.PUBLISHED
):
    c = Course(
        code=code, title="师德专题：关爱每一名学生", summary="面向全体教师的师德专题课程。", outline=["一"],
        category="师德师风", stages=["初中"], subjects=["通用"], levels=[], posts=[], competencies=["ETH-CARE"],
        hours=hours, format=fmt, provider="测试中心", status=status,
    )  # fmt: skip
    session.add(c)
    session.flush()
    return c


def count_records(session):
    return session.scalar(select(func.count(CreditRecord.id)))


def test_completing_a_course_twice_credits_once(session, policy):
    t = make_teacher(session)
    course = make_course(session)
    e1, r1, new1 = complete_course(
        session, policy=policy, teacher_id=t.id, course=course, decision=None
    )
    e2, r2, new2 = complete_course(
        session, policy=policy, teacher_id=t.id, course=course, decision=None
    )
    session.commit()
    assert (new1, new2) == (True, False)
    assert r1.id == r2.id and e1.id == e2.id
    assert e1.status == EnrolmentStatus.COMPLETED and e1.progress == 1.0
    assert count_records(session) == 1
    assert r1.hours == 6 and r1.category == "师德师风" and r1.source == CreditSource.ONLINE


def test_offline_courses_credit_as_offline_and_drafts_cannot_be_enrolled(session, policy):
    t = make_teacher(session)
    offline = make_course(session, "SD-901", fmt=CourseFormat.OFFLINE)
    _, record, _ = complete_course(
        session, policy=policy, teacher_id=t.id, course=offline, decision=None
    )
    assert record.source == CreditSource.OFFLINE
    with pytest.raises(EnrolmentError, match="不可报名"):
        enrol(
            session,
            teacher_id=t.id,
            course=make_course(session, "SD-902", status=CourseStatus.DRAFT),
        )


def test_void_stops_a_record_counting_and_keeps_the_row(session, policy):
    t = make_teacher(session)
    rec, _ = credit_hours(
        session, policy=policy, teacher_id=t.id, source=CreditSource.OFFLINE, category="学科教学", hours=6,
        earned_on=date(2025, 3, 1), title="面授", idempotency_key="a:1",
    )  # fmt: skip
    void_record(session, record_id=rec.id, reason="重复登记", actor_id=None)
    session.commit()
    (entry,) = ledger_entries(session, [t.id])
    assert entry.voided and entry.void_reason == "重复登记" and not entry.counts
    assert count_records(session) == 1
    with pytest.raises(LedgerError, match="already voided"):
        void_record(session, record_id=rec.id, reason="again", actor_id=None)
    with pytest.raises(LedgerError, match="reason"):
        void_record(session, record_id=rec.id, reason="  ", actor_id=None)


def test_replace_voids_and_appends_a_corrected_record(session, policy):
    t = make_teacher(session)
    rec, _ = credit_hours(
        session, policy=policy, teacher_id=t.id, source=CreditSource.OFFLINE, category="学科教学", hours=60,
        earned_on=date(2025, 3, 1), title="面授", idempotency_key="a:2",
    )  # fmt: skip
    new = replace_record(
        session, policy=policy, record_id=rec.id, reason="学时应为6", actor_id=None, hours=6
    )
    session.commit()
    entries = {e.id: e for e in ledger_entries(session, [t.id])}
    assert entries[rec.id].voided and entries[rec.id].hours == 60
    assert (
        not entries[new.id].voided
        and entries[new.id].hours == 6
        and entries[new.id].replaces_id == rec.id
    )
    report = compute_compliance(
        entries.values(), policy=policy, teacher_id=t.id, cycle_start=date(2024, 9, 1), today=TODAY
    )
    assert report.counted_total == 6


def test_records_needing_review_count_only_once_approved(session, policy):
    t = make_teacher(session)
    rec, _ = credit_hours(
        session, policy=policy, teacher_id=t.id, source=CreditSource.SCHOOL_BASED, category="教研能力", hours=10,
        earned_on=date(2025, 3, 1), title="校本研修", idempotency_key="sb:1",
    )  # fmt: skip
    (e,) = ledger_entries(session, [t.id])
    assert e.review_state == ReviewState.PENDING and not e.counts
    review_record(session, record_id=rec.id, state=ReviewState.APPROVED, reviewer_id=None)
    (e,) = ledger_entries(session, [t.id])
    assert e.counts
    review_record(
        session, record_id=rec.id, state=ReviewState.REJECTED, reviewer_id=None, comment="材料不全"
    )
    (e,) = ledger_entries(session, [t.id])
    assert e.review_state == ReviewState.REJECTED  # the latest review wins


def test_invalid_hours_are_refused(session, policy):
    t = make_teacher(session)
    with pytest.raises(LedgerError, match="positive"):
        credit_hours(
            session, policy=policy, teacher_id=t.id, source=CreditSource.ONLINE, category="学科教学", hours=0,
            earned_on=date(2025, 1, 1), title="x", idempotency_key="z",
        )  # fmt: skip


def test_attendance_credits_once_and_absence_credits_nothing(session, policy):
    trainer = make_teacher(session)
    t1, t2 = make_teacher(session), make_teacher(session)
    program = Program(code="P1", title="混合式研修", category="学科教学", trainer_id=trainer.id,
                      starts_on=date(2025, 1, 1), ends_on=date(2025, 6, 1))  # fmt: skip
    session.add(program)
    session.flush()
    off = OfflineSession(program_id=program.id, title="集中面授", location="县教师发展中心",
                         starts_at=datetime(2025, 3, 1, 8, tzinfo=UTC), ends_at=datetime(2025, 3, 1, 16, tzinfo=UTC),
                         hours=6, category="学科教学")  # fmt: skip
    session.add(off)
    session.flush()
    for _ in range(2):
        record_attendance(
            session,
            policy=policy,
            offline_session=off,
            teacher_id=t1.id,
            status=AttendanceStatus.PRESENT,
            recorded_by_id=trainer.id,
        )
    record_attendance(
        session,
        policy=policy,
        offline_session=off,
        teacher_id=t2.id,
        status=AttendanceStatus.ABSENT,
        recorded_by_id=trainer.id,
    )
    session.commit()
    assert [e.hours for e in ledger_entries(session, [t1.id])] == [6]
    assert ledger_entries(session, [t2.id]) == []


def test_every_ledger_change_is_audited(session, policy):
    t = make_teacher(session)
    rec, _ = credit_hours(
        session, policy=policy, teacher_id=t.id, source=CreditSource.ONLINE, category="学科教学", hours=2,
        earned_on=date(2025, 1, 1), title="x", idempotency_key="au:1",
    )  # fmt: skip
    void_record(session, record_id=rec.id, reason="误录", actor_id=t.id)
    session.commit()
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"credit.create", "credit.void"} <= actions
