"""Notifications (issue 17): who is told what, once, and the inbox they read it in."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Database
from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.errors import NotFound
from yanxiu.notifications.models import Notification, NotificationKind
from yanxiu.notifications.service import inbox, mark_all_read, mark_read, notify, unread_count
from yanxiu.practice.models import RecordKind, ReviewDecision
from yanxiu.practice.review import contest_diagnosis, review_diagnosis
from yanxiu.practice.service import submit_record
from yanxiu.programs.models import OfflineSession, Program, program_participants
from yanxiu.programs.reminders import remind_sessions_tomorrow
from yanxiu.reports.inbox import unread


def _kinds(session: Session, user_id: int) -> list[NotificationKind]:
    rows = session.scalars(
        select(Notification.kind).where(Notification.user_id == user_id).order_by(Notification.id)
    )
    return list(rows)


def test_the_teacher_hears_of_a_review_and_trainers_of_a_contest(session: Session, content) -> None:
    school = make_school(session)
    teacher = make_teacher(session, school=school)
    trainer = create_user(session, username="tr", display_name="县培训者", role=Role.TRAINER,
                          password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
    elsewhere = create_user(session, username="tr2", display_name="外县培训者", role=Role.TRAINER,
                            password_hash=password_hash(), region_id=make_school(session).county_id)  # fmt: skip
    body = next(c for c in content.cases if c.id == "CASE-002").body.encode()
    record, diagnosis = submit_record(session, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT,
                                      data=body, filename="a.txt", title="行程问题", stage="初中")  # fmt: skip
    assert _kinds(session, teacher.id) == []  # a draft is never announced to the teacher

    review_diagnosis(session, diagnosis_id=diagnosis.id, reviewer=trainer,
                     decision=ReviewDecision.ACCEPT, comment="")  # fmt: skip
    assert _kinds(session, teacher.id) == [NotificationKind.DIAGNOSIS_REVIEWED]
    (note,) = inbox(session, teacher.id).items
    assert "行程问题" in note.title and note.link == f"/practice/{record.id}"

    contest_diagnosis(
        session, diagnosis_id=diagnosis.id, teacher=teacher, comment="提问次数统计有误"
    )
    assert _kinds(session, trainer.id) == [NotificationKind.CONTEST_RECEIVED]
    assert _kinds(session, elsewhere.id) == []  # only the trainers whose scope covers her

    review_diagnosis(session, diagnosis_id=diagnosis.id, reviewer=trainer,
                     decision=ReviewDecision.REJECT, comment="实录缺少后半节")  # fmt: skip
    assert _kinds(session, teacher.id)[-1] == NotificationKind.CONTEST_ANSWERED
    assert "实录缺少后半节" in inbox(session, teacher.id).items[0].body


def test_reading_and_unread_counts(session: Session) -> None:
    teacher, other = make_teacher(session), make_teacher(session)
    for n in range(3):
        notify(session, user_id=teacher.id, kind=NotificationKind.CASE_PUSHED, title=f"推送{n}",
               event_key=f"push:{n}")  # fmt: skip
    notify(session, user_id=other.id, kind=NotificationKind.CASE_PUSHED, title="别人的",
           event_key="push:9")  # fmt: skip
    assert unread_count(session, teacher.id) == 3
    first = inbox(session, teacher.id).items[-1]
    mark_read(session, teacher.id, first.id)
    assert unread_count(session, teacher.id) == 2
    assert [n.title for n in inbox(session, teacher.id, unread_only=True).items] == [
        "推送2",
        "推送1",
    ]
    theirs = inbox(session, other.id).items[0]
    with pytest.raises(NotFound):  # someone else's notification: as if it did not exist
        mark_read(session, teacher.id, theirs.id)
    assert mark_all_read(session, teacher.id) == 2 and unread_count(session, teacher.id) == 0
    assert unread_count(session, other.id) == 1


def test_an_event_is_told_once_even_when_reported_concurrently(db: Database) -> None:
    with db.factory() as s:
        teacher_id = make_teacher(s).id
        s.commit()
    barrier, errors = threading.Barrier(6), []

    def report() -> None:
        try:
            with db.factory() as s:
                barrier.wait()
                notify(s, user_id=teacher_id, kind=NotificationKind.CASE_PUSHED, title="同一推送",
                       event_key="push:42")  # fmt: skip
                s.commit()
        except Exception as exc:  # noqa: BLE001 (any error is the failure being tested)
            errors.append(exc)

    threads = [threading.Thread(target=report) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.factory() as s:
        count = s.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == teacher_id)
        )
    # a losing writer meets the unique key and keeps the winner's row: no error, one row
    assert not errors and count == 1, errors


def test_tomorrows_session_is_reminded_once_to_participants_only(session: Session) -> None:
    school = make_school(session)
    teacher, outsider = make_teacher(session, school=school), make_teacher(session, school=school)
    trainer = create_user(session, username="tr3", display_name="培训者", role=Role.TRAINER,
                          password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
    now = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)  # 20:00 in Beijing on the 19th
    program = Program(code="PX-T", title="提醒测试项目", category="师德师风", trainer_id=trainer.id,
                      region_id=school.county_id, starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 1))  # fmt: skip
    session.add(program)
    session.flush()
    # 08:30 Beijing time on the 20th (00:30 UTC): "tomorrow" in local time
    start = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    later = OfflineSession(program_id=program.id, title="下周的活动", location="进修学校",
                           starts_at=start + timedelta(days=7), ends_at=start + timedelta(days=7, hours=3),
                           hours=3, category="师德师风")  # fmt: skip
    tomorrow = OfflineSession(program_id=program.id, title="师德专题报告", location="进修学校报告厅",
                              starts_at=start, ends_at=start + timedelta(hours=3), hours=3,
                              category="师德师风")  # fmt: skip
    session.add_all([later, tomorrow])
    session.execute(
        program_participants.insert().values(program_id=program.id, teacher_id=teacher.id)
    )
    session.flush()
    assert remind_sessions_tomorrow(session, teacher.id, now) == 1
    assert remind_sessions_tomorrow(session, teacher.id, now) == 1  # asked again: not sent twice
    assert _kinds(session, teacher.id) == [NotificationKind.SESSION_TOMORROW]
    assert "08:30" in inbox(session, teacher.id).items[0].title
    assert unread(session, user_id=outsider.id, role=Role.TEACHER, now=now) == 0
    assert remind_sessions_tomorrow(session, teacher.id, now - timedelta(days=1)) == 0
