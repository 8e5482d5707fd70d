"""Reviewing AI drafts: the trainer's queue, accepting, editing or rejecting a draft, the
teacher's contest, and the history of decisions people read.

Each decision is an append-only :class:`DiagnosisReview` row and the diagnosis's status follows
the latest one. Who may review is the teacher's :class:`~yanxiu.accounts.scope.Scope`
(:func:`yanxiu.practice.service.can_review`); a refusal is a :class:`ReviewError` of the kind
that says why.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from yanxiu.accounts.models import User
from yanxiu.accounts.scope import Account, Scope
from yanxiu.audit.service import record_audit
from yanxiu.practice.diagnosis import (
    ResourceFinder,
    priority_weaknesses,
    strength,
    suggestion_text,
    summary_line,
)
from yanxiu.practice.draft import (
    ReportEdit,
    ResourceLink,
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
    ReviewDecision,
)
from yanxiu.practice.notices import tell_teacher_reviewed, tell_trainers_contested
from yanxiu.practice.service import (
    DECISION_LABELS,
    IN_QUEUE,
    VISIBLE_TO_TEACHER,
    ReviewConflict,
    ReviewInvalid,
    ReviewNotAllowed,
    ReviewNotFound,
    _reviewable,
    can_review,
    status_label,
)

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
    was_contested = diagnosis.status == DiagnosisStatus.CONTESTED
    _transition(session, diagnosis, {
        ReviewDecision.ACCEPT: DiagnosisStatus.ACCEPTED,
        ReviewDecision.EDIT: DiagnosisStatus.EDITED,
        ReviewDecision.REJECT: DiagnosisStatus.REJECTED,
    }[decision], allowed=(diagnosis.status,))  # fmt: skip
    row = DiagnosisReview(
        diagnosis_id=diagnosis.id, reviewer_id=reviewer.id, decision=decision, scores=final_scores,
        report=final_report if decision != ReviewDecision.REJECT else None, comment=comment.strip(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_audit(session, actor_id=reviewer.id, action=f"diagnosis.{decision.value}", entity="diagnosis",
                 entity_id=diagnosis.id, detail={"scores": final_scores, "comment": comment})  # fmt: skip
    tell_teacher_reviewed(session, diagnosis, row, was_contested=was_contested)
    return row


def _transition(
    session: Session,
    diagnosis: Diagnosis,
    to: DiagnosisStatus,
    *,
    allowed: Collection[DiagnosisStatus],
) -> None:
    """Move the diagnosis to ``to`` only if it is still in a state read as ``allowed``.

    One conditional UPDATE: of twenty identical requests at once, the database lets one change
    the row (PostgreSQL re-checks the condition after the row lock, SQLite serialises writers)
    and the others find nothing to change and get a conflict, before writing any decision.
    """
    changed = session.execute(
        update(Diagnosis)
        .where(Diagnosis.id == diagnosis.id, Diagnosis.status.in_(list(allowed)))
        .values(status=to)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        session.expire(diagnosis, ["status"])
        raise ReviewConflict(f"该诊断刚刚已{status_label(diagnosis.status)}，请刷新页面查看")
    set_committed_value(diagnosis, "status", to)


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
    _transition(session, diagnosis, DiagnosisStatus.CONTESTED, allowed=VISIBLE_TO_TEACHER)
    row = DiagnosisReview(diagnosis_id=diagnosis.id, reviewer_id=teacher.id, decision=ReviewDecision.CONTEST,
                          comment=comment.strip())  # fmt: skip
    session.add(row)
    session.flush()
    record_audit(session, actor_id=teacher.id, action="diagnosis.contest", entity="diagnosis",
                 entity_id=diagnosis.id, detail={"comment": comment})  # fmt: skip
    tell_trainers_contested(session, diagnosis, row)
    return row


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
