"""What the study pages and the player's reports ask for: a unit's page, its media file,
progress reports that may complete the course, and the quiz's forms.

Each function is one route's service: it checks who may do what, records, and — when the
new evidence completes what the policy asks for — completes and credits the course once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.accounts.scope import Account
from yanxiu.catalog.media import media_file
from yanxiu.catalog.models import Course, CourseUnit, EnrolmentStatus
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import NotAllowed
from yanxiu.learning.completion import Completion, complete_if_earned, completion_notices
from yanxiu.learning.course import Notice, get_course
from yanxiu.learning.enrolments import get_enrolment
from yanxiu.learning.quiz import (
    Paper,
    QuizError,
    attempt_paper,
    parse_answers,
    start_attempt,
    submit_attempt,
)
from yanxiu.learning.study import (
    PositionResult,
    StudyView,
    UnitState,
    open_unit,
    reach_end,
    report_position,
    study_view,
    viewed_unit,
)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # raw HTML in a unit is shown as text, never run; links with javascript: are refused
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> Markup:
    return Markup(_markdown().render(text))  # noqa: S704 - markdown-it escapes raw HTML


@dataclass(frozen=True)
class UnitPage:
    course: Course
    unit: CourseUnit
    state: UnitState
    study: StudyView
    html: Markup
    is_teacher: bool
    enrolled: bool
    previous: CourseUnit | None
    next: CourseUnit | None
    report_interval: float
    complete_ratio: float


def unit_page(
    session: Session, policy: CreditPolicy, code: str, unit_id: int, viewer: Account
) -> UnitPage:
    course, unit = viewed_unit(session, code, unit_id, viewer)
    teacher_id = viewer.id if viewer.role == Role.TEACHER else None
    enrolment = get_enrolment(session, teacher_id, course.id) if teacher_id else None
    enrolled = enrolment is not None and enrolment.status != EnrolmentStatus.DROPPED
    study = study_view(session, policy, course, teacher_id if enrolled else None)
    units = [s.unit for s in study.units]
    at = units.index(unit)
    rule = policy.crediting.online
    return UnitPage(
        course, unit, study.units[at], study, render_markdown(unit.body), teacher_id is not None,
        enrolled, units[at - 1] if at > 0 else None, units[at + 1] if at + 1 < len(units) else None,
        rule.report_interval_seconds, rule.media_complete_ratio,
    )  # fmt: skip


def unit_media(
    session: Session, code: str, unit_id: int, viewer: Account, *, media_dir: Path,
    source_dir: Path,
) -> tuple[Path, str]:  # fmt: skip
    """The file of a unit the viewer may study: staff, or a teacher enrolled in the course."""
    course, unit = viewed_unit(session, code, unit_id, viewer)
    if viewer.role == Role.TEACHER:
        enrolment = get_enrolment(session, viewer.id, course.id)
        if enrolment is None or enrolment.status == EnrolmentStatus.DROPPED:
            raise NotAllowed("报名该课程后才能学习课程资料")
    elif viewer.role == Role.HOST:
        raise NotAllowed("课程资料供报名教师学习及培训者、管理员审阅")
    if not unit.media_file:
        raise NotAllowed("该单元没有媒体文件")
    return media_file(media_dir, unit.media_file, source_dir), unit.media_type


@dataclass(frozen=True)
class StudyReport:
    unit_percent: int
    unit_completed: bool
    course_percent: int
    course_completed: bool  # this report completed (and credited) the course
    frontier: float | None = None
    refused: bool = False
    message: str = ""


def _after(
    session: Session, policy: CreditPolicy, teacher_id: int, course: Course
) -> tuple[int, Completion | None]:
    done = complete_if_earned(session, policy=policy, teacher_id=teacher_id, course=course)
    return study_view(session, policy, course, teacher_id).percent, done


def _message(done: Completion | None) -> str:
    return completion_notices(done)[0].text if done else ""


def opened(session: Session, *, teacher_id: int, code: str, unit_id: int) -> None:
    open_unit(session, teacher_id=teacher_id, code=code, unit_id=unit_id)


def read_to_end(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str, unit_id: int
) -> StudyReport:
    reach_end(session, policy=policy, teacher_id=teacher_id, code=code, unit_id=unit_id)
    course = get_course(session, code)
    percent, done = _after(session, policy, teacher_id, course)
    return StudyReport(100, True, percent, done is not None, message=_message(done))


def played(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str, unit_id: int,
    position: float,
) -> StudyReport:  # fmt: skip
    result: PositionResult = report_position(
        session, policy=policy, teacher_id=teacher_id, code=code, unit_id=unit_id,
        position=position,
    )  # fmt: skip
    course = get_course(session, code)
    percent, done = _after(session, policy, teacher_id, course) if result.completed else (
        study_view(session, policy, course, teacher_id).percent, None)  # fmt: skip
    note = "跳过的部分不计入学习进度，请从上次看到的位置继续播放。" if result.refused else ""
    return StudyReport(
        result.percent, result.completed, percent, done is not None, result.frontier,
        result.refused, _message(done) or note,
    )  # fmt: skip


# -- quiz pages -----------------------------------------------------------------------------


def start_quiz(session: Session, *, policy: CreditPolicy, teacher_id: int, code: str) -> int:
    """Start (or resume) an attempt; returns its id for the quiz page."""
    with session.begin_nested():
        attempt = start_attempt(session, policy=policy, teacher_id=teacher_id, code=code)
    return attempt.id


def quiz_paper(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str, attempt_id: int
) -> Paper:
    paper = attempt_paper(
        session, policy=policy, teacher_id=teacher_id, code=code, attempt_id=attempt_id
    )
    if paper.attempt.submitted_at is not None:
        raise QuizError("这次测验已经提交，结果见课程页")
    return paper


def submit_quiz(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str, attempt_id: int,
    fields: Iterable[tuple[str, str]],
) -> list[Notice]:  # fmt: skip
    """Score the submitted form; a pass completes the course when the units are done too."""
    with session.begin_nested():
        result = submit_attempt(
            session, policy=policy, teacher_id=teacher_id, code=code, attempt_id=attempt_id,
            answers=parse_answers(fields),
        )  # fmt: skip
    score, mark = result.attempt.score, policy.crediting.quiz.pass_mark
    wrong = "、".join(f"第 {n} 题" for n in result.wrong_numbers)
    if not result.passed:
        return [Notice(f"本次测验 {score} 分，未达到 {mark} 分，未计入学时。答错：{wrong}。"
                       "请复习相关单元后再试。", "error")]  # fmt: skip
    notices = [
        Notice(f"测验通过：{score} 分（及格 {mark} 分）。" + (f"答错：{wrong}。" if wrong else ""))
    ]
    course = get_course(session, code)
    with session.begin_nested():
        done = complete_if_earned(session, policy=policy, teacher_id=teacher_id, course=course)
    if done is not None:
        notices += completion_notices(done)
    else:
        notices.append(Notice("完成全部学习单元后即可计入学时。", "warn"))
    return notices
