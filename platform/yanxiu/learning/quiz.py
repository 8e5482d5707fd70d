"""Course quizzes: an attempt draws questions from the course's bank and shuffles their
options; answers are checked here, on the server. What the browser gets before submitting
is the stems and the option texts in shown order — never which option is right; a form
names options by their shown position, mapped back through the attempt's stored order.

The pass mark, the attempt limit and the number of questions come from the policy file.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.catalog.models import Course, QuestionKind, QuizQuestion
from yanxiu.credits.policy import CreditPolicy
from yanxiu.db.base import utcnow
from yanxiu.errors import Conflict, Malformed, NotFound
from yanxiu.learning.course import get_course
from yanxiu.learning.enrolments import EnrolmentError, get_enrolment
from yanxiu.learning.models import QuizAttempt

KIND_LABELS = {"single": "单选题", "multiple": "多选题", "true_false": "判断题"}
LETTERS = "ABCDEFGH"


class QuizError(Conflict):
    """The quiz cannot be taken now (no attempts left, already passed, not enrolled…)."""


def bank(session: Session, course_id: int) -> list[QuizQuestion]:
    return list(
        session.scalars(
            select(QuizQuestion)
            .where(QuizQuestion.course_id == course_id, QuizQuestion.retired.is_(False))
            .order_by(QuizQuestion.id)
        )
    )


@dataclass(frozen=True)
class QuizSummary:
    has_quiz: bool
    questions: int  # per attempt
    pass_mark: int
    max_attempts: int
    used: int
    passed: bool
    best_score: int | None
    open_attempt: int | None  # an attempt started and not yet submitted

    @property
    def left(self) -> int:
        return max(self.max_attempts - self.used, 0)

    @property
    def can_start(self) -> bool:
        return (
            self.has_quiz and not self.passed and (self.open_attempt is not None or self.left > 0)
        )


def quiz_summary(
    session: Session, policy: CreditPolicy, course: Course, teacher_id: int | None
) -> QuizSummary:
    rule = policy.crediting.quiz
    n_bank = session.scalar(
        select(func.count()).where(
            QuizQuestion.course_id == course.id, QuizQuestion.retired.is_(False)
        )
    )
    attempts: list[QuizAttempt] = []
    if teacher_id:
        attempts = list(
            session.scalars(
                select(QuizAttempt).where(
                    QuizAttempt.teacher_id == teacher_id, QuizAttempt.course_id == course.id
                )
            )
        )
    scores = [a.score for a in attempts if a.score is not None]
    open_attempt = next((a.id for a in attempts if a.submitted_at is None), None)
    return QuizSummary(
        has_quiz=bool(n_bank), questions=min(rule.questions_per_attempt, n_bank or 0),
        pass_mark=rule.pass_mark, max_attempts=rule.max_attempts, used=len(attempts),
        passed=any(a.passed for a in attempts), best_score=max(scores) if scores else None,
        open_attempt=open_attempt,
    )  # fmt: skip


def passed_attempt(session: Session, teacher_id: int, course_id: int) -> QuizAttempt | None:
    return session.scalar(
        select(QuizAttempt)
        .where(
            QuizAttempt.teacher_id == teacher_id,
            QuizAttempt.course_id == course_id,
            QuizAttempt.passed.is_(True),
        )
        .order_by(QuizAttempt.id)
        .limit(1)
    )


def start_attempt(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str,
    rng: random.Random | None = None,
) -> QuizAttempt:  # fmt: skip
    """A new attempt (or the one still open): drawn questions, shuffled options."""
    course = get_course(session, code)
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None or enrolment.status.value == "dropped":
        raise EnrolmentError("请先报名该课程再参加测验")
    summary = quiz_summary(session, policy, course, teacher_id)
    if not summary.has_quiz:
        raise QuizError("本课程尚未配置测验")
    if summary.passed:
        raise QuizError("您已通过本课程测验，无需再次作答")
    if summary.open_attempt is not None:
        attempt = session.get(QuizAttempt, summary.open_attempt)
        assert attempt is not None
        return attempt
    if summary.left == 0:
        raise QuizError(f"测验次数已用完（共 {summary.max_attempts} 次），请联系培训者")
    rng = rng or random.SystemRandom()
    drawn = rng.sample(bank(session, course.id), summary.questions)
    paper = []
    for q in drawn:
        order = list(range(len(q.options)))
        if q.kind != QuestionKind.TRUE_FALSE:  # 正确/错误 stay in their usual order
            rng.shuffle(order)
        paper.append({"q": q.id, "order": order})
    attempt = QuizAttempt(
        teacher_id=teacher_id, course_id=course.id, number=summary.used + 1,
        course_version=course.version, paper=paper,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(attempt)
            session.flush()
    except IntegrityError:  # a concurrent start won: use its attempt
        won = session.scalar(
            select(QuizAttempt).where(
                QuizAttempt.teacher_id == teacher_id, QuizAttempt.course_id == course.id,
                QuizAttempt.number == summary.used + 1,
            )
        )  # fmt: skip
        if won is None:
            raise
        return won
    return attempt


@dataclass(frozen=True)
class PaperQuestion:
    id: int
    number: int
    kind: str
    stem: str
    options: list[tuple[int, str, str]]  # (shown position, letter, text): no answer

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class Paper:
    course: Course
    attempt: QuizAttempt
    questions: list[PaperQuestion]
    summary: QuizSummary


def _own_attempt(session: Session, teacher_id: int, course: Course, attempt_id: int) -> QuizAttempt:
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.teacher_id != teacher_id or attempt.course_id != course.id:
        raise NotFound("没有这次测验")
    return attempt


def attempt_paper(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str, attempt_id: int
) -> Paper:
    """The questions of an attempt as the teacher sees them (never their answers)."""
    course = get_course(session, code)
    attempt = _own_attempt(session, teacher_id, course, attempt_id)
    questions = {q.id: q for q in session.scalars(
        select(QuizQuestion).where(QuizQuestion.id.in_([p["q"] for p in attempt.paper]))
    )}  # fmt: skip
    shown = []
    for n, item in enumerate(attempt.paper, start=1):
        q = questions[item["q"]]
        options = [(pos, LETTERS[pos], q.options[i]) for pos, i in enumerate(item["order"])]
        shown.append(PaperQuestion(q.id, n, q.kind.value, q.stem, options))
    return Paper(course, attempt, shown, quiz_summary(session, policy, course, teacher_id))


def parse_answers(fields: Iterable[tuple[str, str]]) -> dict[int, list[int]]:
    """Form fields ``q<question id>`` = shown position (several for multiple choice)."""
    chosen: dict[int, list[int]] = {}
    for name, value in fields:
        if not name.startswith("q"):
            continue
        try:
            qid, pos = int(name[1:]), int(value)
        except ValueError:
            raise Malformed("答题表单无法识别，请刷新页面后重试") from None
        chosen.setdefault(qid, []).append(pos)
    return chosen


@dataclass(frozen=True)
class AttemptResult:
    attempt: QuizAttempt
    correct: int
    total: int
    wrong_numbers: list[int]  # which questions (by number on the paper) were wrong

    @property
    def passed(self) -> bool:
        return bool(self.attempt.passed)


def submit_attempt(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str, attempt_id: int,
    answers: dict[int, list[int]], now: datetime | None = None,
) -> AttemptResult:  # fmt: skip
    """Score an attempt once; a second (or concurrent) submission is refused."""
    course = get_course(session, code)
    attempt = _own_attempt(session, teacher_id, course, attempt_id)
    if attempt.submitted_at is not None:
        raise QuizError("这次测验已经提交过了")
    questions = {q.id: q for q in session.scalars(
        select(QuizQuestion).where(QuizQuestion.id.in_([p["q"] for p in attempt.paper]))
    )}  # fmt: skip
    correct, wrong, kept = 0, [], {}
    for n, item in enumerate(attempt.paper, start=1):
        order: list[int] = item["order"]
        shown = answers.get(item["q"], [])
        if any(not 0 <= pos < len(order) for pos in shown):
            raise Malformed("答题表单无法识别，请刷新页面后重试")
        picked = sorted({order[pos] for pos in shown})
        kept[str(item["q"])] = picked
        if picked == sorted(questions[item["q"]].answer):
            correct += 1
        else:
            wrong.append(n)
    total = len(attempt.paper)
    score = round(100 * correct / total) if total else 0
    passed = score >= policy.crediting.quiz.pass_mark
    # the row changes only if still unsubmitted: two concurrent submissions score once
    done = session.execute(
        update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.submitted_at.is_(None))
        .values(submitted_at=now or utcnow(), score=score, passed=passed, answers=kept)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise QuizError("这次测验已经提交过了")
    session.refresh(attempt)
    return AttemptResult(attempt, correct, total, wrong)
