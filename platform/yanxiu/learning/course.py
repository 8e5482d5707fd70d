"""One course as a teacher meets it: the course page, and enrolling, recording progress,
completing, dropping and rating it.

Completing a course is :mod:`yanxiu.learning.completion` (it needs the recorded study).
Each action checks what a web form needs checked and refuses with a domain error whose
Chinese message the teacher is shown: :class:`CourseNotFound` (unknown, or a draft the viewer
may not see) and :class:`~yanxiu.learning.enrolments.EnrolmentError` (the course or the
enrolment does not allow it). The ``*_from_page`` actions take what the course page's forms
send and return the notices to show; a refused one leaves nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.accounts.scope import Account
from yanxiu.catalog.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    course_prerequisites,
)
from yanxiu.credits.models import CreditRecord
from yanxiu.errors import Invalid, NotFound
from yanxiu.learning.browse import FORMAT_LABELS
from yanxiu.learning.enrolments import (
    EnrolmentError,
    course_credit_key,
    drop_course,
    enrol,
    get_enrolment,
    rate_course,
)

STATUS_LABELS = {"published": "已发布", "draft": "草稿", "retired": "已下架"}
# Staff see drafts (to check a course before it is published); teachers only what is offered.
SEES_DRAFTS = (Role.ADMIN, Role.TRAINER)


class CourseNotFound(NotFound):
    """No course with this code, or a draft the viewer may not see."""


@dataclass(frozen=True)
class Prerequisite:
    code: str
    title: str
    status: str  # "mastered" | "in_progress" | "not_started"

    @property
    def label(self) -> str:
        return {"mastered": "已完成", "in_progress": "学习中", "not_started": "未学习"}[self.status]


@dataclass
class CourseView:
    course: Course
    prerequisites: list[Prerequisite]
    unlocks: list[tuple[str, str]]  # (code, title) of published courses that need this one
    enrolment: Enrolment | None
    credited_hours: float | None  # hours in the ledger for completing it, if credited

    @property
    def missing_prerequisites(self) -> list[Prerequisite]:
        return [p for p in self.prerequisites if p.status != "mastered"]

    @property
    def status(self) -> str:
        """The teacher's state for this course: none, enrolled, completed or dropped."""
        return self.enrolment.status.value if self.enrolment else "none"

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.course.format.value, self.course.format.value)

    @property
    def course_status_label(self) -> str:
        return STATUS_LABELS.get(self.course.status.value, self.course.status.value)


def get_course(session: Session, code: str, *, include_drafts: bool = False) -> Course:
    """The course with ``code``; drafts only when ``include_drafts`` (else CourseNotFound)."""
    course = session.scalar(select(Course).where(Course.code == code))
    if course is None or (course.status == CourseStatus.DRAFT and not include_drafts):
        raise CourseNotFound(f"课程 {code} 不存在或尚未发布")
    return course


def _statuses(session: Session, teacher_id: int, course_ids: Sequence[int]) -> dict[int, str]:
    if not course_ids:
        return {}
    rows = session.execute(
        select(Enrolment.course_id, Enrolment.status).where(
            Enrolment.teacher_id == teacher_id, Enrolment.course_id.in_(course_ids)
        )
    )
    return {cid: EnrolmentStatus(status).value for cid, status in rows}


def course_view(session: Session, course: Course, *, teacher_id: int | None) -> CourseView:
    """A course with its prerequisites (and the teacher's mastery of each) and what it unlocks."""
    prereqs = sorted(course.prerequisites, key=lambda c: c.code)
    status = _statuses(session, teacher_id, [c.id for c in prereqs]) if teacher_id else {}
    prerequisites = [
        Prerequisite(
            c.code,
            c.title,
            "mastered"
            if status.get(c.id) == "completed"
            else "in_progress"
            if status.get(c.id) == "enrolled"
            else "not_started",
        )
        for c in prereqs
    ]
    unlocks = [
        (code, title)
        for code, title in session.execute(
            select(Course.code, Course.title)
            .join(course_prerequisites, course_prerequisites.c.course_id == Course.id)
            .where(
                course_prerequisites.c.prerequisite_id == course.id,
                Course.status == CourseStatus.PUBLISHED,
            )
            .order_by(Course.code)
        )
    ]
    enrolment = get_enrolment(session, teacher_id, course.id) if teacher_id else None
    credited = None
    if teacher_id and enrolment is not None and enrolment.status == EnrolmentStatus.COMPLETED:
        credited = session.scalar(
            select(CreditRecord.hours).where(
                CreditRecord.idempotency_key == course_credit_key(teacher_id, course.code)
            )
        )
    return CourseView(course, prerequisites, unlocks, enrolment, credited)


def viewed_course(session: Session, code: str, viewer: Account) -> CourseView:
    """The course as ``viewer`` sees it: drafts for staff only, a teacher's own enrolment."""
    course = get_course(session, code, include_drafts=viewer.role in SEES_DRAFTS)
    teacher_id = viewer.id if viewer.role == Role.TEACHER else None
    return course_view(session, course, teacher_id=teacher_id)


def average_rating(session: Session, course_id: int) -> tuple[float | None, int]:
    """Mean rating of a course and how many teachers rated it."""
    mean, n = session.execute(
        select(func.avg(Enrolment.rating), func.count(Enrolment.rating)).where(
            Enrolment.course_id == course_id, Enrolment.rating.is_not(None)
        )
    ).one()
    return (round(float(mean), 1) if mean is not None else None), int(n)


@dataclass(frozen=True)
class CoursePage:
    """What the course page shows one viewer."""

    view: CourseView
    mean_rating: float | None
    raters: int
    is_teacher: bool  # only teachers enrol and study; others read


def course_page(session: Session, code: str, viewer: Account) -> CoursePage:
    view = viewed_course(session, code, viewer)
    mean, raters = average_rating(session, view.course.id)
    return CoursePage(view, mean, raters, is_teacher=viewer.role == Role.TEACHER)


# -- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolResult:
    enrolment: Enrolment
    outcome: str  # "enrolled" | "reopened" | "already" | "completed"
    missing_prerequisites: list[Prerequisite]


def enrol_teacher(session: Session, *, teacher_id: int, code: str) -> EnrolResult:
    """Enrol the teacher in a published course (prerequisites are advised, not enforced)."""
    course = get_course(session, code)
    if course.status == CourseStatus.RETIRED:
        raise EnrolmentError("该课程已下架，不再接受报名")
    existing = get_enrolment(session, teacher_id, course.id)
    before = existing.status if existing else None
    enrolment = enrol(session, teacher_id=teacher_id, course=course)
    outcome = {
        None: "enrolled",
        EnrolmentStatus.DROPPED: "reopened",
        EnrolmentStatus.ENROLLED: "already",
        EnrolmentStatus.COMPLETED: "completed",
    }[before]
    view = course_view(session, course, teacher_id=teacher_id)
    return EnrolResult(enrolment, outcome, view.missing_prerequisites)


def _active_enrolment(session: Session, teacher_id: int, course: Course) -> Enrolment:
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None or enrolment.status == EnrolmentStatus.DROPPED:
        raise EnrolmentError("您尚未报名该课程，请先报名")
    return enrolment


def drop_teacher(session: Session, *, teacher_id: int, code: str) -> Enrolment:
    course = get_course(session, code)
    enrolment = _active_enrolment(session, teacher_id, course)
    return drop_course(session, enrolment=enrolment)


def rate_teacher_course(session: Session, *, teacher_id: int, code: str, rating: int) -> Enrolment:
    if not 1 <= rating <= 5:
        raise EnrolmentError("评分须为 1 到 5 星")
    course = get_course(session, code)
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None or enrolment.status != EnrolmentStatus.COMPLETED:
        raise EnrolmentError("完成课程后才能评价")
    return rate_course(session, enrolment=enrolment, rating=rating)


# -- the course page's forms: each returns what to tell the teacher --------------------------


@dataclass(frozen=True)
class Notice:
    """One message for the teacher after an action."""

    text: str
    kind: str = "ok"  # "ok" | "warn" | "error"


ENROL_NOTICES = {
    "enrolled": "报名成功，开始学习吧。",
    "reopened": "已重新报名该课程，之前的学习进度已保留。",
    "already": "您已报名该课程。",
    "completed": "您已完成该课程，无需再次报名。",
}


def enrol_from_page(session: Session, *, teacher_id: int, code: str) -> list[Notice]:
    with session.begin_nested():  # a refusal leaves nothing written
        result = enrol_teacher(session, teacher_id=teacher_id, code=code)
    notices = [Notice(ENROL_NOTICES[result.outcome])]
    if result.outcome in ("enrolled", "reopened") and result.missing_prerequisites:
        names = "、".join(f"「{p.title}」" for p in result.missing_prerequisites)
        notices.append(Notice(f"建议先完成先修课程：{names}。", "warn"))
    return notices


def drop_from_page(session: Session, *, teacher_id: int, code: str) -> list[Notice]:
    with session.begin_nested():
        drop_teacher(session, teacher_id=teacher_id, code=code)
    return [Notice("已退选该课程；需要时可重新报名，学习进度会保留。")]


def rate_from_page(session: Session, *, teacher_id: int, code: str, typed: str) -> list[Notice]:
    """Record the stars the teacher chose (1–5)."""
    try:
        stars = int(typed)
    except ValueError:
        raise Invalid("请选择 1 到 5 星的评分", fields={"rating": "请选择 1 到 5 星"}) from None
    with session.begin_nested():
        rate_teacher_course(session, teacher_id=teacher_id, code=code, rating=stars)
    return [Notice(f"感谢评价！您给出了 {stars} 星。")]
