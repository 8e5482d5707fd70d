"""Twenty identical requests at once write one decision, one contest, one push, one enrolment,
one attendance: the losers get a conflict (409) or the first result, never a 500.

Each "request" is a thread with its own session and connection, released together by a
barrier, committing like a web request does. Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role, User
from yanxiu.accounts.service import create_user
from yanxiu.catalog.models import Course, CourseFormat, CourseStatus, Enrolment
from yanxiu.credits.models import CreditRecord
from yanxiu.errors import Conflict
from yanxiu.learning.enrolments import enrol
from yanxiu.practice.models import (
    Diagnosis,
    DiagnosisReview,
    DiagnosisStatus,
    RecordKind,
    ReviewDecision,
)
from yanxiu.practice.review import contest_diagnosis, review_from_queue
from yanxiu.practice.service import submit_record
from yanxiu.programs.models import (
    Attendance,
    AttendanceStatus,
    OfflineSession,
    Program,
    program_participants,
)
from yanxiu.programs.service import mark_attendance
from yanxiu.studios import push as pushes
from yanxiu.studios.models import CaseKind, CaseResource, Push, PushDelivery, Studio

N = 20


def race(db: Any, action: Callable[[Session, int], object], n: int = N) -> list[object]:
    """Run ``action(session, i)`` in ``n`` threads released at once, each committing its own
    transaction; returns each thread's result or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        with db.factory() as session:
            barrier.wait()
            try:
                results[i] = action(session, i)
                session.commit()
            except Exception as exc:  # noqa: BLE001 - the test inspects what each one got
                session.rollback()
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def unexpected(results: list[object]) -> list[object]:
    """What a web request would have answered with a 500: any error but a domain conflict."""
    return [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]


def count(db: Any, column: Any, *where: Any) -> int:
    with db.factory() as s:
        return int(s.scalar(select(func.count(column)).where(*where)) or 0)


@pytest.fixture
def reviewed_world(db, content):
    lecture = next(c for c in content.cases if c.id == "CASE-001").body.encode("utf-8")
    with db.factory() as s:
        school = make_school(s)
        teacher = make_teacher(s, school=school)
        trainer = create_user(s, username="trainer.race", display_name="培训者", role=Role.TRAINER,
                              password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
        _, diagnosis = submit_record(s, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT, data=lecture,
                                     filename="实录.txt", title="行程问题", stage="初中", subject="数学")  # fmt: skip
        s.commit()
        return teacher.id, trainer.id, diagnosis.id


def test_twenty_identical_reviews_write_one_decision(db, reviewed_world):
    teacher_id, trainer_id, diagnosis_id = reviewed_world

    def review(s: Session, i: int) -> object:
        decision = ReviewDecision.ACCEPT if i % 2 else ReviewDecision.REJECT
        return review_from_queue(s, diagnosis_id=diagnosis_id, reviewer=s.get(User, trainer_id),
                                 decision=decision, comment=f"第{i}位")  # fmt: skip

    results = race(db, review)
    assert unexpected(results) == []
    assert count(db, DiagnosisReview.id, DiagnosisReview.diagnosis_id == diagnosis_id) == 1
    assert sum(1 for r in results if isinstance(r, DiagnosisReview)) == 1
    with db.factory() as s:
        review_row = s.scalar(select(DiagnosisReview))
        diagnosis = s.get(Diagnosis, diagnosis_id)
        assert review_row is not None and diagnosis is not None
        # the status is the one decision that was written
        expected = {ReviewDecision.ACCEPT: DiagnosisStatus.ACCEPTED,
                    ReviewDecision.REJECT: DiagnosisStatus.REJECTED}[review_row.decision]  # fmt: skip
        assert diagnosis.status == expected

    # the teacher contests the (accepted) diagnosis twenty times at once: one contest
    with db.factory() as s:
        s.get(Diagnosis, diagnosis_id).status = DiagnosisStatus.ACCEPTED  # type: ignore[union-attr]
        s.commit()

    def contest(s: Session, i: int) -> object:
        return contest_diagnosis(s, diagnosis_id=diagnosis_id, teacher=s.get(User, teacher_id),
                                 comment="评分与课堂实际不符")  # fmt: skip

    results = race(db, contest)
    assert unexpected(results) == []
    contests = count(db, DiagnosisReview.id, DiagnosisReview.decision == ReviewDecision.CONTEST)
    assert contests == 1


def test_twenty_identical_pushes_deliver_the_case_once(db):
    with db.factory() as s:
        school = make_school(s)
        host = create_user(s, username="host.race", display_name="主持人", role=Role.HOST,
                           password_hash=password_hash(), region_id=school.county_id,
                           school_id=school.id)  # fmt: skip
        studio = Studio(
            code="ST-R", name="竞态测试工作室", host_id=host.id, stage="初中", subject="数学"
        )
        s.add(studio)
        s.flush()
        case = CaseResource(code="CASE-R1", studio_id=studio.id, kind=CaseKind.TRANSCRIPT,
                            title="《一元一次方程的应用》课堂实录片段", stage="初中", subject="数学",
                            competencies=["PRC-QUES"], summary="问题链引导学生分析行程问题。",
                            body="[00:01:00] 师：你们是怎么想的？")  # fmt: skip
        s.add(case)
        teachers = [make_teacher(s, school=school).id for _ in range(2)]
        s.commit()
        ids = (studio.id, case.id, host.id)

    def push(s: Session, i: int) -> object:
        studio_id, case_id, host_id = ids
        return pushes.create_push(s, studio=s.get(Studio, studio_id), case=s.get(CaseResource, case_id),  # type: ignore[arg-type]
                                  host=s.get(User, host_id), teacher_ids=teachers, note="请学习")  # type: ignore[arg-type]  # fmt: skip

    results = race(db, push)
    assert unexpected(results) == []
    assert count(db, Push.id) == 1
    for teacher_id in teachers:
        assert count(db, PushDelivery.id, PushDelivery.teacher_id == teacher_id) == 1
    created = [r for r in results if isinstance(r, pushes.PushResult) and r.created]
    assert len(created) == 1


def test_twenty_identical_enrolments_enrol_once_and_all_succeed(db):
    with db.factory() as s:
        teacher_id = make_teacher(s).id
        course = Course(code="CR-RACE", title="课堂提问的设计", summary="提问链设计", category="学科教学",
                        hours=4, format=CourseFormat.ONLINE, provider="县教师发展中心",
                        status=CourseStatus.PUBLISHED)  # fmt: skip
        s.add(course)
        s.commit()
        course_id = course.id

    results = race(
        db, lambda s, i: enrol(s, teacher_id=teacher_id, course=s.get(Course, course_id))
    )  # type: ignore[arg-type]
    assert [r for r in results if isinstance(r, Exception)] == []
    assert count(db, Enrolment.id) == 1
    assert {r.id for r in results if isinstance(r, Enrolment)} == {
        next(r.id for r in results if isinstance(r, Enrolment))
    }


def test_twenty_identical_attendance_sheets_record_and_credit_once(db, policy):
    with db.factory() as s:
        school = make_school(s)
        trainer = create_user(s, username="tr.race", display_name="培训者", role=Role.TRAINER,
                              password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
        teacher = make_teacher(s, school=school)
        program = Program(code="P-RACE", title="混合式研修", category="学科教学", trainer_id=trainer.id,
                          region_id=school.county_id, starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 1))  # fmt: skip
        s.add(program)
        s.flush()
        s.execute(insert(program_participants).values(program_id=program.id, teacher_id=teacher.id))
        off = OfflineSession(program_id=program.id, title="集中面授", location="县教师发展中心",
                             starts_at=datetime(2026, 10, 10, 8, 30, tzinfo=UTC),
                             ends_at=datetime(2026, 10, 10, 16, tzinfo=UTC), hours=6, category="学科教学")  # fmt: skip
        s.add(off)
        s.commit()
        ids = (off.id, teacher.id, trainer.id)

    def mark(status: AttendanceStatus) -> Callable[[Session, int], object]:
        def run(s: Session, i: int) -> object:
            off_id, teacher_id, trainer_id = ids
            return mark_attendance(s, policy=policy, offline_session=s.get(OfflineSession, off_id),  # type: ignore[arg-type]
                                   teacher_id=teacher_id, status=status, recorded_by_id=trainer_id,
                                   today=date(2026, 10, 10))  # fmt: skip

        return run

    results = race(db, mark(AttendanceStatus.PRESENT))
    assert unexpected(results) == []
    assert count(db, Attendance.id) == 1
    assert count(db, CreditRecord.id) == 1
    assert results.count("recorded") == 1
    # twenty identical corrections to absent: one correction, one void
    results = race(db, mark(AttendanceStatus.ABSENT))
    assert unexpected(results) == []
    assert results.count("changed") == 1


def test_a_unique_key_met_in_a_request_answers_409_not_500():
    """The last line: a duplicate a service did not expect is a conflict, never a 500."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import IntegrityError

    from yanxiu.web.errors import install_error_pages

    app = FastAPI()
    install_error_pages(app)

    @app.post("/api/v1/dup")
    def dup() -> None:
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    response = TestClient(app, raise_server_exceptions=False).post("/api/v1/dup")
    assert response.status_code == 409
    assert "另一个请求" in response.json()["detail"]
