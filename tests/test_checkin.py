"""Offline check-in by code: codes, the window, membership, crediting once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_teacher
from yanxiu.credits.models import CreditRecord
from yanxiu.programs.checkin import (
    CheckinError,
    check_in,
    checkin_code,
    checkin_window,
    normalise_code,
    session_overview,
)
from yanxiu.programs.clock import store_wall
from yanxiu.programs.models import (
    Attendance,
    AttendanceStatus,
    OfflineSession,
    Program,
    program_participants,
)

SECRET = "test-secret-for-checkin-codes"
DAY = date(2026, 11, 20)


def _programme(session, trainer_id: int, code: str, members: list[int]) -> Program:
    program = Program(
        code=code, title=f"{code} 混合式研修", category="课堂提问与对话", trainer_id=trainer_id,
        starts_on=DAY - timedelta(days=60), ends_on=DAY + timedelta(days=60),
    )  # fmt: skip
    session.add(program)
    session.flush()
    for teacher_id in members:
        session.execute(
            program_participants.insert().values(program_id=program.id, teacher_id=teacher_id)
        )
    return program


def _offline(session, program: Program, day: date, hours: float = 6) -> OfflineSession:
    starts = store_wall(datetime(day.year, day.month, day.day, 8, 30))
    row = OfflineSession(
        program_id=program.id, title=f"{day:%m月%d日}集中研修", location="县教师发展中心",
        starts_at=starts, ends_at=starts + timedelta(hours=hours + 1.5), hours=hours,
        category="课堂提问与对话",
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def setup(session):
    teacher, other = make_teacher(session), make_teacher(session)
    trainer = make_teacher(session)  # any user id will do as the programme's trainer
    mine = _programme(session, trainer.id, "PX-T-1", [teacher.id])
    theirs = _programme(session, trainer.id, "PX-T-2", [other.id])
    today = _offline(session, mine, DAY)
    past = _offline(session, mine, DAY - timedelta(days=10))
    future = _offline(session, mine, DAY + timedelta(days=10))
    elsewhere = _offline(session, theirs, DAY)
    session.commit()
    return {"teacher": teacher.id, "other": other.id, "today": today, "past": past,
            "future": future, "elsewhere": elsewhere}  # fmt: skip


def _credits(session, teacher_id: int) -> int:
    return session.scalar(
        select(func.count(CreditRecord.id)).where(CreditRecord.teacher_id == teacher_id)
    )


def test_codes_are_six_stable_digits_that_depend_on_session_and_secret():
    code = checkin_code(SECRET, 12)
    assert len(code) == 6 and code.isdigit()
    assert checkin_code(SECRET, 12) == code
    assert checkin_code(SECRET, 13) != code
    assert checkin_code("another-secret", 12) != code
    assert len({checkin_code(SECRET, i) for i in range(200)}) > 190  # spread, not a counter


def test_typed_codes_are_normalised():
    assert normalise_code(" 123 456 ") == "123456"
    assert normalise_code("１２３-４５６") == "123456"
    assert normalise_code("abc") == ""


AT_START = datetime(2026, 11, 20, 8, 40)  # Beijing wall clock, ten minutes into "today"


def test_the_right_code_records_attendance_and_credits_once(session, policy, setup):
    teacher, today = setup["teacher"], setup["today"]
    code = checkin_code(SECRET, today.id)
    result = check_in(session, teacher_id=teacher, code=code, secret=SECRET, policy=policy,
                      now=AT_START)  # fmt: skip
    session.commit()
    assert result.newly_recorded and result.offline_session.id == today.id
    assert result.attendance.status == AttendanceStatus.PRESENT
    assert result.attendance.method == "code" and result.credited_hours == 6
    assert _credits(session, teacher) == 1
    again = check_in(session, teacher_id=teacher, code=code, secret=SECRET, policy=policy,
                     now=AT_START + timedelta(minutes=5))  # fmt: skip
    session.commit()
    assert not again.newly_recorded
    assert _credits(session, teacher) == 1
    assert session.scalar(select(func.count(Attendance.id))) == 1


def test_checking_in_long_after_the_start_is_late_but_still_credited(session, policy, setup):
    code = checkin_code(SECRET, setup["today"].id)
    result = check_in(session, teacher_id=setup["teacher"], code=code, secret=SECRET,
                      policy=policy, now=datetime(2026, 11, 20, 10, 0))  # fmt: skip
    assert result.attendance.status == AttendanceStatus.LATE
    assert _credits(session, setup["teacher"]) == 1


def test_an_aware_moment_is_read_as_beijing_time(session, policy, setup):
    code = checkin_code(SECRET, setup["today"].id)
    utc = datetime(2026, 11, 20, 0, 40, tzinfo=UTC)  # 08:40 in Beijing
    assert check_in(session, teacher_id=setup["teacher"], code=code, secret=SECRET,
                    policy=policy, now=utc).attendance.status == AttendanceStatus.PRESENT  # fmt: skip


@pytest.mark.parametrize("code", ["000000", "12345", "一二三四五六", ""])
def test_a_wrong_or_malformed_code_is_refused_and_credits_nothing(session, policy, setup, code):
    real = checkin_code(SECRET, setup["today"].id)
    # the secret and session are fixed, so the real code is too: none of these can be it
    assert code != real
    with pytest.raises(CheckinError, match="签到码"):
        check_in(session, teacher_id=setup["teacher"], code=code, secret=SECRET, policy=policy,
                 now=AT_START)  # fmt: skip
    assert _credits(session, setup["teacher"]) == 0
    assert session.scalar(select(func.count(Attendance.id))) == 0


def test_codes_of_other_programmes_do_not_work(session, policy, setup):
    code = checkin_code(SECRET, setup["elsewhere"].id)
    with pytest.raises(CheckinError, match="不正确"):
        check_in(session, teacher_id=setup["teacher"], code=code, secret=SECRET, policy=policy,
                 now=AT_START)  # fmt: skip
    # the same code is fine for a member of that programme
    ok = check_in(session, teacher_id=setup["other"], code=code, secret=SECRET, policy=policy,
                  now=AT_START)  # fmt: skip
    assert ok.newly_recorded


def test_a_code_works_only_inside_its_window(session, policy, setup):
    today = setup["today"]
    code = checkin_code(SECRET, today.id)
    opens, closes = checkin_window(today)
    assert opens == datetime(2026, 11, 20, 8, 0) and closes == datetime(2026, 11, 20, 16, 0)
    # the code of a past session: expired; before the window: not open yet (not even compared)
    with pytest.raises(CheckinError, match="已过期"):
        check_in(session, teacher_id=setup["teacher"], code=checkin_code(SECRET, setup["past"].id),
                 secret=SECRET, policy=policy, now=datetime(2026, 11, 11, 9, 0))  # fmt: skip
    with pytest.raises(CheckinError, match="将于 11月20日 08:00 开始"):
        check_in(session, teacher_id=setup["teacher"], code=code, secret=SECRET, policy=policy,
                 now=opens - timedelta(minutes=1))  # fmt: skip
    with pytest.raises(CheckinError, match="已过期"):
        check_in(session, teacher_id=setup["teacher"], code=code, secret=SECRET, policy=policy,
                 now=closes + timedelta(minutes=1))  # fmt: skip
    assert _credits(session, setup["teacher"]) == 0
    early = check_in(session, teacher_id=setup["teacher"], code=code, secret=SECRET,
                     policy=policy, now=opens)  # fmt: skip
    assert early.newly_recorded and early.attendance.status == AttendanceStatus.PRESENT
    assert _credits(session, setup["teacher"]) == 1


def test_overview_lists_sessions_with_their_state(session, policy, setup):
    check_in(session, teacher_id=setup["teacher"], code=checkin_code(SECRET, setup["today"].id),
             secret=SECRET, policy=policy, now=AT_START)  # fmt: skip
    lines = session_overview(session, teacher_id=setup["teacher"], now=AT_START)
    states = {ln.offline_session.id: ln.state for ln in lines}
    assert states == {setup["past"].id: "missed", setup["today"].id: "attended",
                      setup["future"].id: "upcoming"}  # fmt: skip
    assert [ln.offline_session.id for ln in lines] == sorted(states, key=lambda i: {
        setup["past"].id: 0, setup["today"].id: 1, setup["future"].id: 2}[i])  # fmt: skip
    assert all(ln.program_title == "PX-T-1 混合式研修" for ln in lines)


def test_a_session_the_trainer_marked_absent_is_not_overridden_by_a_code(session, policy, setup):
    from yanxiu.programs.service import record_attendance

    today = setup["today"]
    record_attendance(session, policy=policy, offline_session=today, teacher_id=setup["teacher"],
                      status=AttendanceStatus.ABSENT, recorded_by_id=None)  # fmt: skip
    session.commit()
    with pytest.raises(CheckinError, match="联系培训者"):
        check_in(session, teacher_id=setup["teacher"], code=checkin_code(SECRET, today.id),
                 secret=SECRET, policy=policy, now=AT_START)  # fmt: skip
    assert _credits(session, setup["teacher"]) == 0
