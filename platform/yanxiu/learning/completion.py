"""Completing a course: gather the evidence, let the policy's rules decide, credit once.

The teacher's "完成课程" (page or API) never credits by itself: it asks
:func:`yanxiu.credits.rules.decide` about what the server recorded — units completed, the quiz
passed — and is refused with a 409 naming what is missing. An offline course is never
completed this way: its hours come from attendance (:mod:`yanxiu.programs.service`).
When the last piece of evidence arrives (the last unit, a passed quiz) the course is
completed and credited at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.accounts.scope import Account
from yanxiu.catalog.models import Course, CourseFormat, EnrolmentStatus
from yanxiu.credits.models import CreditRecord, CreditSource, ReviewState
from yanxiu.credits.policy import CreditPolicy
from yanxiu.credits.rules import Decision, Evidence, decide
from yanxiu.learning.course import CoursePage, Notice, course_page, get_course
from yanxiu.learning.enrolments import EnrolmentError, complete_course, get_enrolment
from yanxiu.learning.quiz import QuizSummary, passed_attempt, quiz_summary
from yanxiu.learning.study import StudyView, study_view


def course_source(course: Course) -> CreditSource:
    return CreditSource.OFFLINE if course.format == CourseFormat.OFFLINE else CreditSource.ONLINE


def completion_decision(
    session: Session, policy: CreditPolicy, teacher_id: int, course: Course
) -> tuple[Decision, StudyView, QuizSummary]:
    """What the policy says about crediting this course to this teacher now."""
    study = study_view(session, policy, course, teacher_id)
    quiz = quiz_summary(session, policy, course, teacher_id)
    source = course_source(course)
    # A teacher's own request is never attendance: offline evidence comes from check-in
    # or the trainer's sheet, which credit the sessions themselves.
    evidence = Evidence(
        units_total=len(study.units), units_missing=study.missing, has_quiz=quiz.has_quiz,
        quiz_passed=quiz.passed, quiz_attempts_left=quiz.left,
    )  # fmt: skip
    return decide(policy, source, evidence), study, quiz


@dataclass(frozen=True)
class Completion:
    """A completed course and its entry in the ledger."""

    course: str  # its code
    record: CreditRecord
    credited: bool  # False: it had been completed (and credited) before; nothing was added


def _credit(
    session: Session, policy: CreditPolicy, teacher_id: int, course: Course, decision: Decision,
    when: datetime | None = None,
) -> Completion:  # fmt: skip
    attempt = passed_attempt(session, teacher_id, course.id)
    evidence = {"course_version": course.version, "rule": "units+quiz"}
    if attempt is not None:
        evidence |= {"quiz_attempt": attempt.id, "quiz_score": attempt.score}
    _, record, created = complete_course(
        session, policy=policy, teacher_id=teacher_id, course=course, decision=decision,
        when=when, actor_id=teacher_id, evidence=evidence,
    )  # fmt: skip
    return Completion(course.code, record, created)


def complete_teacher_course(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str
) -> Completion:
    """The teacher asks to complete the course: credited once if the evidence is complete,
    else :class:`~yanxiu.credits.rules.CreditRefused` (409) saying what is missing."""
    course = get_course(session, code)
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None or enrolment.status == EnrolmentStatus.DROPPED:
        raise EnrolmentError("您尚未报名该课程，请先报名")
    decision, _, _ = completion_decision(session, policy, teacher_id, course)
    if enrolment.status != EnrolmentStatus.COMPLETED:
        decision.require()
    return _credit(session, policy, teacher_id, course, decision)


def complete_if_earned(
    session: Session, *, policy: CreditPolicy, teacher_id: int, course: Course
) -> Completion | None:
    """After new evidence: complete and credit the course if nothing is missing any more."""
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None or enrolment.status != EnrolmentStatus.ENROLLED:
        return None
    decision, _, _ = completion_decision(session, policy, teacher_id, course)
    if not decision.allowed:
        return None
    return _credit(session, policy, teacher_id, course, decision)


def completion_notices(done: Completion) -> list[Notice]:
    hours = f"{done.record.hours:g}"
    if not done.credited:
        return [Notice(f"该课程此前已完成，学时 {hours} 已计入，不重复计入。", "warn")]
    pending = (
        "（待审核通过后计入周期学时）"
        if done.record.initial_review_state != ReviewState.APPROVED
        else ""
    )
    return [Notice(f"恭喜完成课程！已计入学时 {hours}{pending}。")]


def complete_from_page(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str
) -> list[Notice]:
    with session.begin_nested():
        done = complete_teacher_course(session, policy=policy, teacher_id=teacher_id, code=code)
    return completion_notices(done)


@dataclass(frozen=True)
class StudyPage:
    """The course page with the teacher's study: units, quiz, and what crediting still needs."""

    page: CoursePage
    study: StudyView
    quiz: QuizSummary
    decision: Decision | None  # for an enrolled teacher

    @property
    def offline(self) -> bool:
        return self.page.view.course.format == CourseFormat.OFFLINE


def study_page(session: Session, policy: CreditPolicy, code: str, viewer: Account) -> StudyPage:
    page = course_page(session, code, viewer)
    course = page.view.course
    teacher_id = viewer.id if viewer.role == Role.TEACHER else None
    if teacher_id is None:
        return StudyPage(page, study_view(session, policy, course, None),
                         quiz_summary(session, policy, course, None), None)  # fmt: skip
    decision, study, quiz = completion_decision(session, policy, teacher_id, course)
    return StudyPage(page, study, quiz, decision)
