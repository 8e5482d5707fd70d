"""Practice records end to end: submit → AI draft → trainer review → teacher view / contest.

- A record is parsed completely before anything is written: a bad file raises
  :class:`TranscriptError` naming the line, and nothing is stored.
- The AI draft is stored with status ``pending_review`` and is never shown to the teacher.
- A trainer accepts, edits (scores and text) or rejects it; each decision is an append-only
  :class:`DiagnosisReview` row, and the diagnosis's status follows the latest decision.
- The teacher sees only accepted or edited diagnoses, in their reviewed form, and may contest
  one, which puts it back in the review queue.
- Who may review a record is its teacher's :class:`~yanxiu.accounts.scope.Scope` (trainers and
  admins over that teacher); a refusal is a :class:`ReviewError` of the domain kind that says
  why (not found, not allowed, a conflict with the diagnosis's state, invalid input).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, User
from yanxiu.accounts.scope import Account, Scope
from yanxiu.audit.service import record_audit
from yanxiu.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from yanxiu.practice.diagnosis import (
    ResourceFinder,
    diagnose_lesson_plan,
    diagnose_transcript,
    priority_weaknesses,
    strength,
    suggestion_text,
    summary_line,
)
from yanxiu.practice.draft import (
    DraftView,
    PlanAnalytics,
    Report,
    ReportEdit,
    ResourceLink,
    ReviewedDiagnosis,
    ReviewedScore,
    Strength,
    Suggestion,
    Weakness,
    score_values,
)
from yanxiu.practice.models import (
    Diagnosis,
    DiagnosisReview,
    DiagnosisStatus,
    PracticeRecord,
    RecordKind,
    ReviewDecision,
)
from yanxiu.practice.parse import (
    LessonPlan,
    TranscriptError,
    Utterance,
    parse_lesson_plan,
    parse_transcript,
)

VISIBLE_TO_TEACHER = (DiagnosisStatus.ACCEPTED, DiagnosisStatus.EDITED)
IN_QUEUE = (DiagnosisStatus.PENDING_REVIEW, DiagnosisStatus.CONTESTED)
REVIEWER_ROLES = (Role.TRAINER, Role.ADMIN)


class ReviewError(DomainError):
    """A review, contest or re-score refused; each is also the domain kind that says why."""


class ReviewNotFound(ReviewError, NotFound):
    pass


class ReviewNotAllowed(ReviewError, NotAllowed):
    pass


class ReviewConflict(ReviewError, Conflict):
    """The diagnosis's state does not allow it (already decided, not yet reviewed…)."""


class ReviewInvalid(ReviewError, Invalid):
    pass


def submit_record(
    session: Session,
    *,
    teacher_id: int,
    kind: RecordKind,
    data: bytes,
    filename: str,
    title: str,
    stage: str = "",
    subject: str = "",
    find_resources: ResourceFinder | None = None,
    calibration: dict[str, dict[int, int]] | None = None,
) -> tuple[PracticeRecord, Diagnosis]:
    """Parse, analyse and store a record with its AI draft (pending review), or store nothing.

    Raises:
        TranscriptError: The file cannot be used; the message says which line and why.
    """
    if kind == RecordKind.TRANSCRIPT:
        utterances = parse_transcript(data, filename)
        if not any(u.speaker_role == "teacher" for u in utterances):
            raise TranscriptError("实录中没有教师发言（以“师：”开头的行），无法分析")
        draft = diagnose_transcript(
            utterances, stage=stage, find_resources=find_resources, calibration=calibration
        )
        parsed: dict[str, object] = {"utterances": [asdict(u) for u in utterances]}
        text = "\n".join(f"{u.speaker_label}：{u.text}" for u in utterances)
    else:
        plan = parse_lesson_plan(data, filename)
        if not plan.sections and not plan.other:
            raise TranscriptError("教案内容为空，请检查文件")
        draft = diagnose_lesson_plan(
            plan, stage=stage, find_resources=find_resources, calibration=calibration
        )
        parsed = {"sections": plan.sections, "missing": plan.missing, "lines": plan.lines}
        text = "\n\n".join(f"{k}\n{v}" for k, v in plan.sections.items()) or "\n".join(
            plan.other.values()
        )
    record = PracticeRecord(
        teacher_id=teacher_id, kind=kind, title=title.strip()[:200] or filename, stage=stage, subject=subject,
        filename=filename[:255], source_format=(filename.rsplit(".", 1)[-1].lower() if "." in filename else "text")[:16],
        text=text, parsed=parsed, sha256=hashlib.sha256(data).hexdigest(),
    )  # fmt: skip
    session.add(record)
    session.flush()
    diagnosis = Diagnosis(
        record_id=record.id, model_version=draft.model_version, analytics=draft.analytics,
        scores=draft.scores, report=draft.report, confidence=draft.confidence,
        status=DiagnosisStatus.PENDING_REVIEW,
    )  # fmt: skip
    session.add(diagnosis)
    session.flush()
    record_audit(session, actor_id=teacher_id, action="practice.submit", entity="practice_record",
                 entity_id=record.id, detail={"kind": kind.value, "diagnosis": diagnosis.id})  # fmt: skip
    return record, diagnosis


def can_review(session: Session, scope: Scope, record: PracticeRecord) -> bool:
    """Trainers and admins review the records of the teachers their scope covers."""
    return scope.role in REVIEWER_ROLES and scope.can_read(session, record)


def _reviewable(session: Session, reviewer: Account) -> Scope | None:
    """The reviewer's scope, or None for a role that reviews nothing."""
    if reviewer.role not in REVIEWER_ROLES:
        return None
    return Scope.for_user(session, reviewer)


# How much a day in the queue weighs against the AI's confidence: without it a new, doubtful
# draft would always go before an older, surer one, and a steady flow of doubtful drafts would
# leave the others waiting forever. 0.05 a day: a draft 0.2 surer overtakes after four days.
QUEUE_AGE_WEIGHT_PER_DAY = 0.05


class Queued(Protocol):
    """What the queue order needs of a diagnosis (a Diagnosis, or a row of these columns)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> DiagnosisStatus: ...
    @property
    def confidence(self) -> float: ...
    @property
    def created_at(self) -> datetime: ...


def queue_priority(diagnosis: Queued, now: datetime) -> tuple[bool, float, datetime, int]:
    """Sort key of the review queue: contested diagnoses first (a teacher is waiting on a
    dispute), then least confident, where each day waited counts as lower confidence."""
    created = diagnosis.created_at
    if created.tzinfo is None:  # SQLite hands back naive UTC datetimes
        created = created.replace(tzinfo=UTC)
    days = max(0.0, (now - created).total_seconds() / 86400)
    urgency = float(diagnosis.confidence) - QUEUE_AGE_WEIGHT_PER_DAY * days
    return (diagnosis.status != DiagnosisStatus.CONTESTED, urgency, created, int(diagnosis.id))


def review_queue(
    session: Session, *, reviewer: Account, limit: int = 100, now: datetime | None = None
) -> list[Diagnosis]:
    """Diagnoses awaiting this reviewer in :func:`queue_priority` order.

    The order depends on the time, so it is computed here: over the four columns it needs for
    every waiting diagnosis, before loading the ``limit`` first in full.
    """
    scope = _reviewable(session, reviewer)
    if scope is None:
        return []
    waiting = session.execute(
        scope.filter(
            select(Diagnosis.id, Diagnosis.status, Diagnosis.confidence, Diagnosis.created_at)
            .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
            .where(Diagnosis.status.in_(IN_QUEUE)),
            PracticeRecord.teacher_id,
        )
    ).all()
    moment = now or datetime.now(UTC)
    first = [row.id for row in sorted(waiting, key=lambda r: queue_priority(r, moment))[:limit]]
    loaded = {d.id: d for d in session.scalars(select(Diagnosis).where(Diagnosis.id.in_(first)))}
    return [loaded[i] for i in first]


def plan_review(
    diagnosis: Diagnosis,
    action: str,
    scores: dict[str, int],
    summary: str | None,
    suggestions: list[str] | None,
    extra: str = "",
) -> tuple[ReviewDecision, dict[str, int] | None, ReportEdit | None]:
    """The decision to record from what a trainer submitted (the review form or the API):
    returns (decision, scores, report edit) for :func:`review_diagnosis`.

    "accept" with changed scores or texts is recorded as an edit: what the trainer approved is
    the changed version, and the audit trail must say so.
    """
    try:
        decision = ReviewDecision(action)
    except ValueError:
        raise ReviewInvalid("请选择审核结论：通过、修改后通过或退回") from None
    if decision == ReviewDecision.CONTEST:
        raise ReviewInvalid("申诉由教师本人提出")
    if decision == ReviewDecision.REJECT:
        return decision, None, None
    ai = score_values(diagnosis.scores)
    changed_scores = {d: s for d, s in scores.items() if ai.get(d) != s}
    edit = ReportEdit()
    if summary is not None and summary.strip() and summary.strip() != diagnosis.report.summary:
        edit.summary = summary.strip()
    old = diagnosis.report.suggestions
    if suggestions is not None and len(suggestions) == len(old):
        new = [
            s.model_copy(update={"text": t.strip() or s.text})
            for s, t in zip(old, suggestions, strict=True)
        ]
        if new != old:
            edit.suggestions = new
    if extra.strip():
        added = Suggestion(dimension="培训者补充", text=extra.strip(), by_trainer=True)
        edit.suggestions = [*(old if edit.suggestions is None else edit.suggestions), added]
    if changed_scores:
        # strengths and the one-line summary were written from the AI scores: rebuild them from
        # the trainer's scores, or the teacher reads "提问质量表现较好（5 分）" next to "提问质量有待
        # 加强（2 分，培训者审定）" (a summary the trainer rewrote is kept as written)
        final = {**ai, **scores}
        edit.strengths = _strengths_after_edit(diagnosis, final)
        if edit.summary is None:  # the same weaknesses, in the same order, as the edit shows
            weak = [w.dimension for w in _weaknesses_after_edit(diagnosis, final)]
            edit.summary = summary_line([s.dimension for s in edit.strengths], weak)
    if decision == ReviewDecision.ACCEPT and (changed_scores or edit):
        decision = ReviewDecision.EDIT
    if decision == ReviewDecision.ACCEPT:
        return decision, None, None
    return decision, scores, edit or None


def _strengths_after_edit(diagnosis: Diagnosis, scores: dict[str, int]) -> list[Strength]:
    """The draft's strengths recomputed from the reviewed scores (4 or 5 points, best first)."""
    best = sorted((kv for kv in scores.items() if kv[1] >= 4), key=lambda kv: -kv[1])[:3]
    return [strength(dim, score, diagnosis.scores[dim].evidence) for dim, score in best]


def review_diagnosis(
    session: Session,
    *,
    diagnosis_id: int,
    reviewer: Account,
    decision: ReviewDecision,
    scores: dict[str, int] | None = None,
    report: ReportEdit | None = None,
    comment: str = "",
    find_resources: ResourceFinder | None = None,
) -> DiagnosisReview:
    """Accept, edit (scores and/or report text) or reject a diagnosis, with a comment.

    On an edit the weaknesses follow the trainer's scores; with ``find_resources``, a dimension
    that became a weakness gets catalog resources too (those of dimensions no longer weak go).
    """
    diagnosis = session.get(Diagnosis, diagnosis_id)
    if diagnosis is None:
        raise ReviewNotFound(f"诊断 {diagnosis_id} 不存在")
    if not can_review(session, Scope.for_user(session, reviewer), diagnosis.record):
        raise ReviewNotAllowed("只能审核本区域教师的诊断")
    if decision == ReviewDecision.CONTEST:
        raise ReviewInvalid("申诉由教师本人提出")
    if decision == ReviewDecision.REJECT and not comment.strip():
        raise ReviewInvalid("退回诊断需要填写理由")
    ai_scores = score_values(diagnosis.scores)
    final_scores = dict(ai_scores)
    if decision == ReviewDecision.EDIT:
        for dim, value in (scores or {}).items():
            if dim not in final_scores:
                raise ReviewInvalid(f"没有维度“{dim}”")
            if not 1 <= int(value) <= 5:
                raise ReviewInvalid(f"“{dim}”的分数须在 1–5 之间")
            final_scores[dim] = int(value)
        if final_scores == ai_scores and not report:
            raise ReviewInvalid("没有修改任何内容：请选择“通过”")
    final_report = report.applied_to(diagnosis.report) if report else diagnosis.report
    if decision == ReviewDecision.EDIT:
        weaknesses = _weaknesses_after_edit(diagnosis, final_scores)
        changes: dict[str, object] = {
            "weaknesses": weaknesses,
            "suggestions": _suggestions_after_edit(diagnosis, weaknesses, final_report.suggestions),
        }
        if find_resources is not None and not (report and report.resources):
            changes["resources"] = _resources_after_edit(diagnosis, weaknesses, find_resources)
        final_report = final_report.model_copy(update=changes)
    final_report = final_report.model_copy(update={"reviewed": True})
    row = DiagnosisReview(
        diagnosis_id=diagnosis.id, reviewer_id=reviewer.id, decision=decision, scores=final_scores,
        report=final_report if decision != ReviewDecision.REJECT else None, comment=comment.strip(),
    )  # fmt: skip
    session.add(row)
    diagnosis.status = {
        ReviewDecision.ACCEPT: DiagnosisStatus.ACCEPTED,
        ReviewDecision.EDIT: DiagnosisStatus.EDITED,
        ReviewDecision.REJECT: DiagnosisStatus.REJECTED,
    }[decision]
    session.flush()
    record_audit(session, actor_id=reviewer.id, action=f"diagnosis.{decision.value}", entity="diagnosis",
                 entity_id=diagnosis.id, detail={"scores": final_scores, "comment": comment})  # fmt: skip
    return row


def _weaknesses_after_edit(diagnosis: Diagnosis, scores: dict[str, int]) -> list[Weakness]:
    """Weaknesses recomputed from the trainer's scores: the trainer's judgement is what counts.

    The draft's rule (:func:`~yanxiu.practice.diagnosis.priority_weaknesses`), applied to the
    reviewed scores.
    """
    weak = priority_weaknesses(
        {dim: (score, diagnosis.scores[dim].confidence) for dim, score in scores.items()}
    )
    out = []
    for dim in weak:
        ai, score = diagnosis.scores[dim], scores[dim]
        label = "有待加强" if score <= 2 else "相对薄弱"
        out.append(Weakness(dimension=dim, competency=ai.competency, score=score,
                            severity=round((3.5 - score) / 2.5, 2), evidence=ai.evidence[:3],
                            text=f"{dim}{label}（{score} 分，培训者审定）"))  # fmt: skip
    return out


def _suggestions_after_edit(
    diagnosis: Diagnosis, weaknesses: list[Weakness], submitted: list[Suggestion]
) -> list[Suggestion]:
    """Suggestions that match the reviewed weaknesses, in their order.

    A dimension the trainer made weak gets the suggestion written from the lesson's own
    measures; the AI's suggestion for a dimension that is no longer a weakness goes. Text the
    trainer wrote or changed in this review is theirs and stays, whatever the scores.
    """
    drafted = [(s.dimension, s.text) for s in diagnosis.report.suggestions]
    weak = [w.dimension for w in weaknesses]
    out: list[Suggestion] = []
    for dim in weak:
        kept = [s for s in submitted if s.dimension == dim]
        measure = diagnosis.scores[dim].measure
        out += kept or [Suggestion(dimension=dim, text=suggestion_text(dim, measure))]
    trainers = [
        s for s in submitted if s.dimension not in weak and (s.dimension, s.text) not in drafted
    ]
    return out + trainers


def _resources_after_edit(
    diagnosis: Diagnosis, weaknesses: list[Weakness], find: ResourceFinder
) -> list[ResourceLink]:
    """Resources for the reviewed weaknesses: the draft's where it had them, else found anew."""
    out: list[ResourceLink] = []
    for w in weaknesses:
        kept = [r for r in diagnosis.report.resources if r.for_dimension == w.dimension]
        if not kept:
            query = f"{w.dimension} 提升方法"
            found = find(w.competency, query, diagnosis.record.stage)[:2]
            kept = [r.for_(w.dimension) for r in found]
        out += kept
    return out


def latest_review(session: Session, diagnosis_id: int) -> DiagnosisReview | None:
    return session.scalar(
        select(DiagnosisReview)
        .where(
            DiagnosisReview.diagnosis_id == diagnosis_id,
            DiagnosisReview.decision != ReviewDecision.CONTEST,
        )
        .order_by(DiagnosisReview.id.desc())
    )


def reviewed_view(session: Session, diagnosis: Diagnosis) -> ReviewedDiagnosis:
    """What the teacher sees: the reviewed scores and report, with the AI draft's evidence."""
    if diagnosis.status not in VISIBLE_TO_TEACHER:
        raise ReviewConflict("该诊断尚未经过培训者审核")
    review = latest_review(session, diagnosis.id)
    assert review is not None
    scores = {
        dim: ReviewedScore.model_validate(
            v.model_dump() | {"score": review.scores.get(dim, v.score), "ai_score": v.score}
        )
        for dim, v in diagnosis.scores.items()
    }
    return ReviewedDiagnosis(
        diagnosis_id=diagnosis.id, status=diagnosis.status.value, scores=scores,
        report=review.report or Report(), analytics=diagnosis.analytics,
        reviewed_at=review.created_at.isoformat(), review_comment=review.comment,
        model_version=diagnosis.model_version,
    )  # fmt: skip


def teacher_diagnoses(session: Session, teacher_id: int) -> list[ReviewedDiagnosis]:
    """A teacher's reviewed diagnoses (pending, rejected and contested ones are not shown)."""
    rows = session.scalars(
        select(Diagnosis).join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
        .where(PracticeRecord.teacher_id == teacher_id, Diagnosis.status.in_(VISIBLE_TO_TEACHER))
        .order_by(Diagnosis.created_at.desc())
    )  # fmt: skip
    return [reviewed_view(session, d) for d in rows]


def contest_diagnosis(
    session: Session, *, diagnosis_id: int, teacher: Account, comment: str
) -> DiagnosisReview:
    """The teacher disputes a reviewed diagnosis; it returns to the review queue."""
    diagnosis = session.get(Diagnosis, diagnosis_id)
    if diagnosis is None or diagnosis.record.teacher_id != teacher.id:
        raise ReviewNotAllowed("只能对本人的诊断提出申诉")
    if diagnosis.status not in VISIBLE_TO_TEACHER:
        raise ReviewConflict("只能对已审核的诊断提出申诉")
    if not comment.strip():
        raise ReviewInvalid("请写明申诉理由")
    row = DiagnosisReview(diagnosis_id=diagnosis.id, reviewer_id=teacher.id, decision=ReviewDecision.CONTEST,
                          comment=comment.strip())  # fmt: skip
    session.add(row)
    diagnosis.status = DiagnosisStatus.CONTESTED
    session.flush()
    record_audit(session, actor_id=teacher.id, action="diagnosis.contest", entity="diagnosis",
                 entity_id=diagnosis.id, detail={"comment": comment})  # fmt: skip
    return row


# ---------------------------------------------------------------- what the workspace shows

STATUS_LABELS: dict[DiagnosisStatus, str] = {
    DiagnosisStatus.PENDING_REVIEW: "待审核",
    DiagnosisStatus.ACCEPTED: "已审核",
    DiagnosisStatus.EDITED: "已审核（培训者修改）",
    DiagnosisStatus.REJECTED: "已退回",
    DiagnosisStatus.CONTESTED: "申诉中",
}
DECISION_LABELS: dict[ReviewDecision, str] = {
    ReviewDecision.ACCEPT: "通过",
    ReviewDecision.EDIT: "修改后通过",
    ReviewDecision.REJECT: "退回",
    ReviewDecision.CONTEST: "教师申诉",
}
KIND_LABELS: dict[RecordKind, str] = {
    RecordKind.TRANSCRIPT: "课堂实录",
    RecordKind.LESSON_PLAN: "教学设计",
}


def status_label(status: DiagnosisStatus | None) -> str:
    return "处理中" if status is None else STATUS_LABELS[status]


def latest_diagnosis(session: Session, record_id: int) -> Diagnosis | None:
    """The record's current diagnosis (one per record; re-scoring updates it in place)."""
    return session.scalar(
        select(Diagnosis).where(Diagnosis.record_id == record_id).order_by(Diagnosis.id.desc())
    )


def teacher_records(
    session: Session, teacher_id: int, *, limit: int = 200
) -> list[tuple[PracticeRecord, Diagnosis | None]]:
    """A teacher's records, newest first, each with its diagnosis (for the status only)."""
    records = list(
        session.scalars(
            select(PracticeRecord)
            .where(PracticeRecord.teacher_id == teacher_id)
            .order_by(PracticeRecord.created_at.desc(), PracticeRecord.id.desc())
            .limit(limit)
        )
    )
    return [(r, latest_diagnosis(session, r.id)) for r in records]


def records_in_scope(
    session: Session, reviewer: Account, *, limit: int = 200
) -> list[tuple[PracticeRecord, Diagnosis | None]]:
    """Records of the teachers a trainer or admin may review (their scope), newest first."""
    scope = _reviewable(session, reviewer)
    if scope is None:
        return []
    records = list(
        session.scalars(
            scope.filter(select(PracticeRecord), PracticeRecord.teacher_id)
            .order_by(PracticeRecord.created_at.desc(), PracticeRecord.id.desc())
            .limit(limit)
        )
    )
    return [(r, latest_diagnosis(session, r.id)) for r in records]


@dataclass(frozen=True)
class HistoryEntry:
    """One decision or contest on a diagnosis, as people read the audit trail."""

    id: int
    decision: str
    decision_label: str
    by: str  # the reviewer's (or contesting teacher's) name
    by_role: str
    comment: str
    scores: dict[str, int]
    at: datetime


def review_history(session: Session, diagnosis_id: int) -> list[HistoryEntry]:
    """Every decision and contest on a diagnosis, oldest first (the audit trail people read)."""
    rows = session.execute(
        select(DiagnosisReview, User.display_name, User.role)
        .join(User, User.id == DiagnosisReview.reviewer_id)
        .where(DiagnosisReview.diagnosis_id == diagnosis_id)
        .order_by(DiagnosisReview.id)
    ).all()
    return [
        HistoryEntry(
            id=review.id,
            decision=review.decision.value,
            decision_label=DECISION_LABELS[review.decision],
            by=name,
            by_role=role.value,
            comment=review.comment,
            scores=review.scores,
            at=review.created_at,
        )  # fmt: skip
        for review, name, role in rows
    ]


def latest_contest(session: Session, diagnosis_id: int) -> DiagnosisReview | None:
    return session.scalar(
        select(DiagnosisReview)
        .where(
            DiagnosisReview.diagnosis_id == diagnosis_id,
            DiagnosisReview.decision == ReviewDecision.CONTEST,
        )
        .order_by(DiagnosisReview.id.desc())
    )


@dataclass(frozen=True)
class QueueEntry:
    """A diagnosis waiting for review, as the queue shows it."""

    diagnosis: Diagnosis
    record: PracticeRecord
    teacher: User
    school: str
    contested: bool
    contest_reason: str
    submitted_at: datetime
    urgency: float  # the AI's confidence less 0.05 a day waited: the queue order


def queue_entries(session: Session, *, reviewer: Account, limit: int = 100) -> list[QueueEntry]:
    """The review queue as people read it: record, teacher, school, confidence, age, contest,
    and the urgency it is ordered by (confidence less 0.05 a day waited)."""
    out = []
    now = datetime.now(UTC)
    for diagnosis in review_queue(session, reviewer=reviewer, limit=limit, now=now):
        record = diagnosis.record
        teacher = session.get(User, record.teacher_id)
        assert teacher is not None
        contest = (
            latest_contest(session, diagnosis.id)
            if diagnosis.status == DiagnosisStatus.CONTESTED
            else None
        )
        out.append(
            QueueEntry(
                diagnosis=diagnosis,
                record=record,
                teacher=teacher,
                school=teacher.school.name if teacher.school else "",
                contested=contest is not None,
                contest_reason=contest.comment if contest else "",
                submitted_at=record.created_at,
                urgency=round(queue_priority(diagnosis, now)[1], 4),
            )
        )
    return out


def in_queue(diagnosis: Diagnosis) -> bool:
    return diagnosis.status in IN_QUEUE


def review_from_queue(
    session: Session,
    *,
    diagnosis_id: int,
    reviewer: Account,
    decision: ReviewDecision,
    scores: dict[str, int] | None = None,
    report: ReportEdit | None = None,
    comment: str = "",
    find_resources: ResourceFinder | None = None,
) -> DiagnosisReview:
    """:func:`review_diagnosis` for a diagnosis that is waiting in the queue (pending or
    contested); a decided diagnosis is not decided again until the teacher contests it."""
    diagnosis = session.get(Diagnosis, diagnosis_id)
    if diagnosis is not None and not in_queue(diagnosis):
        raise ReviewConflict(f"该诊断已{status_label(diagnosis.status)}，不在审核队列中")
    return review_diagnosis(
        session, diagnosis_id=diagnosis_id, reviewer=reviewer, decision=decision,
        scores=scores, report=report, comment=comment, find_resources=find_resources,
    )  # fmt: skip


def draft_view(diagnosis: Diagnosis) -> DraftView:
    """The full AI draft, for a reviewer (never for the teacher before review)."""
    return DraftView(
        diagnosis_id=diagnosis.id,
        status=diagnosis.status.value,
        model_version=diagnosis.model_version,
        confidence=diagnosis.confidence,
        scores=diagnosis.scores,
        report=diagnosis.report,
        analytics=diagnosis.analytics,
        created_at=diagnosis.created_at.isoformat(),
    )


def rejection_comment(session: Session, diagnosis: Diagnosis) -> str:
    """Why a trainer sent the AI draft back (shown to the teacher instead of the draft)."""
    if diagnosis.status != DiagnosisStatus.REJECTED:
        return ""
    review = latest_review(session, diagnosis.id)
    return review.comment if review is not None else ""


# ---------------------------------------------------------------- resources and re-scoring


def tagged_resource_finder(session: Session, *, subject: str = "") -> ResourceFinder:
    """Catalog courses tagged with a weakness's competency, for the teacher's stage (and
    subject: courses for that subject or for every subject).

    The fallback when semantic search is not loaded (demo seeding, search unavailable):
    published courses carrying the competency, those that name it first ranked first.
    """
    from yanxiu.catalog.models import Course, CourseStatus

    courses = list(
        session.scalars(
            select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.code)
        )
    )

    def find(competency: str, query: str, stage: str) -> list[ResourceLink]:
        hits = [
            c
            for c in courses
            if competency in (c.competencies or [])
            and (not stage or stage in (c.stages or []))
            and (not subject or not c.subjects or {subject, "通用"} & set(c.subjects))
        ]
        hits.sort(key=lambda c: (c.competencies.index(competency), len(c.competencies), c.code))
        return [
            ResourceLink(
                code=c.code, title=c.title, hours=c.hours, category=c.category, tagged=True
            )
            for c in hits[:3]
        ]

    return find


def stored_utterances(record: PracticeRecord) -> list[Utterance]:
    """The parsed turns stored with a transcript record."""
    return [Utterance(**u) for u in record.parsed.get("utterances", [])]


def stored_sections(record: PracticeRecord) -> dict[str, str]:
    """The sections of a lesson-plan record (canonical key -> text), as parsed."""
    return {str(k): str(v) for k, v in (record.parsed.get("sections") or {}).items()}


def stored_plan(record: PracticeRecord, diagnosis: Diagnosis | None) -> LessonPlan:
    """The parsed lesson plan stored with a record (headings come from its analytics; records
    stored before section lines were kept re-score with evidence at the headings' lines)."""
    analytics = diagnosis.analytics if diagnosis is not None else None
    headings = analytics.headings if isinstance(analytics, PlanAnalytics) else []
    lines = record.parsed.get("lines", {}) or {}
    return LessonPlan(
        sections=stored_sections(record),
        headings=[(h.line, h.heading, h.section) for h in headings],
        missing=list(record.parsed.get("missing", [])),
        lines={key: [(int(no), text) for no, text in rows] for key, rows in lines.items()},
    )


def pending_in_scope(session: Session, reviewer: Account) -> list[int]:
    """Ids of diagnoses pending review (never yet reviewed) that ``reviewer`` may review."""
    scope = _reviewable(session, reviewer)
    if scope is None:
        return []
    return list(
        session.scalars(
            scope.filter(
                select(Diagnosis.id)
                .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
                .where(Diagnosis.status == DiagnosisStatus.PENDING_REVIEW),
                PracticeRecord.teacher_id,
            ).order_by(Diagnosis.id)
        )
    )


def rescore_diagnosis(
    session: Session,
    *,
    diagnosis_id: int,
    actor_id: int | None,
    find_resources: ResourceFinder | None = None,
    calibration: dict[str, dict[int, int]] | None = None,
) -> bool:
    """Re-draft a pending diagnosis with the current model; True if any score changed.

    Only drafts nobody has reviewed yet are re-scored (a reviewed or contested diagnosis
    keeps the draft its reviews refer to). The previous version and scores go to the audit
    log, so the replacement is traceable.
    """
    diagnosis = session.get(Diagnosis, diagnosis_id)
    if diagnosis is None:
        raise ReviewNotFound(f"诊断 {diagnosis_id} 不存在")
    if diagnosis.status != DiagnosisStatus.PENDING_REVIEW:
        raise ReviewConflict("只能重新评分尚未审核的诊断")
    record = diagnosis.record
    if record.kind == RecordKind.TRANSCRIPT:
        draft = diagnose_transcript(
            stored_utterances(record), stage=record.stage, find_resources=find_resources,
            calibration=calibration,
        )  # fmt: skip
    else:
        draft = diagnose_lesson_plan(
            stored_plan(record, diagnosis), stage=record.stage, find_resources=find_resources,
            calibration=calibration,
        )  # fmt: skip
    before, after = score_values(diagnosis.scores), score_values(draft.scores)
    old_version = diagnosis.model_version
    diagnosis.model_version = draft.model_version
    diagnosis.analytics, diagnosis.scores = draft.analytics, draft.scores
    diagnosis.report, diagnosis.confidence = draft.report, draft.confidence
    session.flush()
    record_audit(session, actor_id=actor_id, action="diagnosis.rescore", entity="diagnosis",
                 entity_id=diagnosis.id, detail={"from": old_version, "to": diagnosis.model_version,
                                                 "scores_before": before, "scores_after": after})  # fmt: skip
    return before != after
