"""Study recorded by the server: reading to the end, playing media in real time, quizzes,
and completing a course only on the evidence the policy asks for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_teacher
from tests.learning.helpers import lesson_course, right_answers, wrong_answers
from yanxiu.catalog.models import CourseFormat, CourseUnit
from yanxiu.credits.models import CreditRecord
from yanxiu.credits.rules import CreditRefused
from yanxiu.errors import Conflict
from yanxiu.learning.completion import complete_teacher_course
from yanxiu.learning.course import enrol_teacher
from yanxiu.learning.models import UnitProgress
from yanxiu.learning.quiz import QuizError, attempt_paper, start_attempt, submit_attempt
from yanxiu.learning.study import open_unit, reach_end, report_position, study_view
from yanxiu.learning.studying import played, submit_quiz

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def credits(session) -> int:
    return session.scalar(select(func.count()).select_from(CreditRecord))


def units(session, course):
    return list(session.scalars(select(CourseUnit).where(CourseUnit.course_id == course.id)
                                .order_by(CourseUnit.position)))  # fmt: skip


def play(session, policy, teacher, course, unit, *, upto, step=10.0, start=0.0, t0=T0):
    """Real playback: a report every ``step`` seconds of server time, ``step`` seconds on."""
    now, pos = t0, start
    result = report_position(session, policy=policy, teacher_id=teacher.id, code=course.code,
                             unit_id=unit.id, position=pos, now=now)  # fmt: skip
    while pos < upto:
        now, pos = now + timedelta(seconds=step), min(pos + step, upto)
        result = report_position(session, policy=policy, teacher_id=teacher.id,
                                 code=course.code, unit_id=unit.id, position=pos, now=now)  # fmt: skip
    return result, now


def test_a_text_unit_counts_only_when_opened_then_read_to_the_end(session, policy):
    t, course = make_teacher(session), lesson_course(session)
    text, _ = units(session, course)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    with pytest.raises(Conflict, match="请先打开"):
        reach_end(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=text.id)
    open_unit(session, teacher_id=t.id, code=course.code, unit_id=text.id)
    reach_end(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=text.id)
    view = study_view(session, policy, course, t.id)
    assert [u.percent for u in view.units] == [100, 0] and view.percent == 50


def test_skipping_ahead_in_media_does_not_count(session, policy):
    t, course = make_teacher(session), lesson_course(session, audio_seconds=60)
    _, audio = units(session, course)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    report_position(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=audio.id,
                    position=0, now=T0)  # fmt: skip
    # a jump to the end ten seconds later: nothing beyond what was played
    jump = report_position(session, policy=policy, teacher_id=t.id, code=course.code,
                           unit_id=audio.id, position=58, now=T0 + timedelta(seconds=10))  # fmt: skip
    assert jump.refused and jump.frontier == 0 and not jump.completed
    # playing on from the jumped-to place still counts nothing: it is not contiguous
    on = report_position(session, policy=policy, teacher_id=t.id, code=course.code,
                         unit_id=audio.id, position=60, now=T0 + timedelta(seconds=12))  # fmt: skip
    assert on.frontier == 0 and not on.completed
    # twice real speed (a playbackRate trick or a forged report) counts real time only
    report_position(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=audio.id,
                    position=0, now=T0 + timedelta(seconds=20))  # fmt: skip
    fast = report_position(session, policy=policy, teacher_id=t.id, code=course.code,
                           unit_id=audio.id, position=20, now=T0 + timedelta(seconds=30))  # fmt: skip
    assert fast.refused and fast.frontier == 11  # ten seconds of server time (+1 s slack)
    faster = report_position(session, policy=policy, teacher_id=t.id, code=course.code,
                             unit_id=audio.id, position=40, now=T0 + timedelta(seconds=40))  # fmt: skip
    assert faster.frontier == 22 and not faster.completed
    # a long pause followed by a jump earns nothing
    report_position(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=audio.id,
                    position=20, now=T0 + timedelta(seconds=50))  # fmt: skip
    paused = report_position(session, policy=policy, teacher_id=t.id, code=course.code,
                             unit_id=audio.id, position=58, now=T0 + timedelta(hours=1))  # fmt: skip
    assert paused.refused and paused.frontier == 22 and not paused.completed


def test_playing_twice_as_fast_still_takes_real_time(session, policy):
    t, course = make_teacher(session), lesson_course(session, audio_seconds=60)
    _, audio = units(session, course)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    now, pos, result = T0, 0.0, None
    while pos < 60:  # a report every 10 s of server time, the position 20 s further each time
        result = report_position(session, policy=policy, teacher_id=t.id, code=course.code,
                                 unit_id=audio.id, position=pos, now=now)  # fmt: skip
        now, pos = now + timedelta(seconds=10), pos + 20
    assert result is not None and not result.completed and result.frontier <= 33


def test_media_played_in_real_time_completes_at_ninety_percent(session, policy):
    t, course = make_teacher(session), lesson_course(session, audio_seconds=60)
    _, audio = units(session, course)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    result, _ = play(session, policy, t, course, audio, upto=50)
    assert result.frontier == 50 and not result.completed  # 83 % < 90 %
    result, _ = play(session, policy, t, course, audio, upto=54, start=50,
                     t0=T0 + timedelta(minutes=5))  # fmt: skip
    assert result.completed and result.percent == 100


def test_a_video_counts_only_what_was_played_and_completes_at_ninety_percent(session, policy):
    """The player of a video reports like an audio's: a jump ahead is refused and counts
    nothing, playing from the start in real time completes the unit at 90 % (not before)."""
    t = make_teacher(session)
    course = lesson_course(session, "ZY-950", audio_seconds=20, media="video")
    text, video = units(session, course)
    assert video.kind.value == "video" and video.media_type == "video/webm"
    enrol_teacher(session, teacher_id=t.id, code=course.code)

    def at(position: float, seconds: float):
        return report_position(session, policy=policy, teacher_id=t.id, code=course.code,
                                unit_id=video.id, position=position,
                                now=T0 + timedelta(seconds=seconds))  # fmt: skip

    at(0, 0)
    at(1.5, 1.5)
    jump = at(19, 2)  # dragged to the end after a second and a half
    assert jump.refused and jump.frontier <= 3 and not jump.completed
    assert at(20, 3).frontier <= 3  # the end "played" after the jump counts nothing
    at(0, 4)  # back to the start: playing goes on from what was verified
    on = None
    for second in range(1, 18):  # a report every second of server time, one second further
        on = at(second, 4 + second)
    assert on is not None and on.frontier == 17 and not on.completed  # 85 %
    assert study_view(session, policy, course, t.id).units[1].percent == 94  # of the 90 % mark
    done = at(18, 22)
    assert done.completed and done.percent == 100 and not done.refused
    row = session.scalar(select(UnitProgress).where(UnitProgress.unit_id == video.id))
    assert row.refused_jumps == 2 and row.completed_at is not None  # the jump and the end
    view = study_view(session, policy, course, t.id)
    assert [u.done for u in view.units] == [False, True] and view.percent == 50
    assert credits(session) == 0  # a unit is not the course: nothing credited yet


def test_the_quiz_sends_no_answers_and_a_fail_credits_nothing(session, policy):
    t, course = make_teacher(session), lesson_course(session)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    attempt = start_attempt(session, policy=policy, teacher_id=t.id, code=course.code)
    paper = attempt_paper(session, policy=policy, teacher_id=t.id, code=course.code,
                          attempt_id=attempt.id)  # fmt: skip
    assert len(paper.questions) == policy.crediting.quiz.questions_per_attempt
    assert all(not hasattr(q, "answer") for q in paper.questions)
    fail = submit_attempt(session, policy=policy, teacher_id=t.id, code=course.code,
                          attempt_id=attempt.id, answers=wrong_answers(session, attempt.paper))  # fmt: skip
    assert not fail.passed and fail.attempt.score == 0
    assert credits(session) == 0
    with pytest.raises(QuizError, match="已经提交"):
        submit_attempt(session, policy=policy, teacher_id=t.id, code=course.code,
                       attempt_id=attempt.id, answers=right_answers(session, attempt.paper))  # fmt: skip


def test_attempts_are_limited_by_the_policy(session, policy):
    t, course = make_teacher(session), lesson_course(session)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    for _ in range(policy.crediting.quiz.max_attempts):
        a = start_attempt(session, policy=policy, teacher_id=t.id, code=course.code)
        submit_attempt(session, policy=policy, teacher_id=t.id, code=course.code,
                       attempt_id=a.id, answers=wrong_answers(session, a.paper))  # fmt: skip
    with pytest.raises(QuizError, match="次数已用完"):
        start_attempt(session, policy=policy, teacher_id=t.id, code=course.code)
    with pytest.raises(CreditRefused, match="机会已用完"):
        complete_teacher_course(session, policy=policy, teacher_id=t.id, code=course.code)


def test_completing_needs_every_unit_and_the_quiz_then_credits_once(session, policy):
    t, course = make_teacher(session), lesson_course(session, hours=4, audio_seconds=30)
    text, audio = units(session, course)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    with pytest.raises(CreditRefused) as refused:  # 0 %: the old "完成课程" credited at once
        complete_teacher_course(session, policy=policy, teacher_id=t.id, code=course.code)
    assert (
        "「阅读单元」「音频单元」" in refused.value.message and "课程测验" in refused.value.message
    )
    assert credits(session) == 0
    open_unit(session, teacher_id=t.id, code=course.code, unit_id=text.id)
    reach_end(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=text.id)
    play(session, policy, t, course, audio, upto=30)
    a = start_attempt(session, policy=policy, teacher_id=t.id, code=course.code)
    fields = [(f"q{q}", str(p[0])) for q, p in right_answers(session, a.paper).items()]
    notices = submit_quiz(session, policy=policy, teacher_id=t.id, code=course.code,
                          attempt_id=a.id, fields=fields)  # fmt: skip
    assert "已计入学时 4" in " ".join(n.text for n in notices)
    record = session.scalar(select(CreditRecord))
    assert record.evidence["quiz_attempt"] == a.id and record.evidence["course_version"] == 1
    assert record.policy_version == "GX-2024.1"
    again = complete_teacher_course(session, policy=policy, teacher_id=t.id, code=course.code)
    assert not again.credited and credits(session) == 1


def test_an_offline_course_is_never_self_completed(session, policy):
    t = make_teacher(session)
    course = lesson_course(session, "BZR-950", fmt=CourseFormat.OFFLINE)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    with pytest.raises(CreditRefused, match="签到"):
        complete_teacher_course(session, policy=policy, teacher_id=t.id, code=course.code)
    assert credits(session) == 0


def test_a_report_after_the_last_unit_completes_the_course(session, policy):
    t, course = make_teacher(session), lesson_course(session, audio_seconds=20)
    text, audio = units(session, course)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    a = start_attempt(session, policy=policy, teacher_id=t.id, code=course.code)
    submit_attempt(session, policy=policy, teacher_id=t.id, code=course.code, attempt_id=a.id,
                   answers=right_answers(session, a.paper))  # fmt: skip
    open_unit(session, teacher_id=t.id, code=course.code, unit_id=text.id)
    reach_end(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=text.id)
    assert credits(session) == 0  # the audio is not played yet
    played(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=audio.id, position=0)
    assert credits(session) == 0
