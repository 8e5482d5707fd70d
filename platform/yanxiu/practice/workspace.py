"""What the practice workspace shows, assembled for the routes: one function per page or API
answer, each returning a dataclass (times stay datetimes; the templates format them).

- the teacher's records (:func:`teacher_rows`) and a record's page (:func:`record_page`): the
  reviewed diagnosis once a trainer decided, else the teacher's own text without any AI
  judgement;
- the review queue (:func:`queue_page`) and the review page (:func:`review_page`) with the full
  AI draft, for the trainers and admins whose scope covers the teacher;
- a trainer's decision from the review form or the API (:func:`decide_from_form`,
  :func:`decide`), and a teacher's contest (:func:`contest_record`);
- the API's records (:func:`record_rows`, :func:`record_detail`).

Who may see a record is :class:`~yanxiu.accounts.scope.Scope`; who may review it is
:func:`~yanxiu.practice.service.can_review` (the same scope, for trainers and admins).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, User
from yanxiu.accounts.scope import Account, Scope, overseers
from yanxiu.errors import NotAllowed, NotFound
from yanxiu.practice.charts import (
    AnalyticsPanel,
    ChartSpec,
    PlanSection,
    TranscriptRow,
    evidence_index,
    plan_sections,
    radar_spec,
    transcript_analytics,
    transcript_rows,
    trend_spec,
)
from yanxiu.practice.compare import score_rows, trend_points
from yanxiu.practice.diagnosis import ResourceFinder
from yanxiu.practice.draft import (
    DimensionScore,
    DraftView,
    LessonAnalytics,
    PlanAnalytics,
    Report,
    ReviewedDiagnosis,
    Suggestion,
    TranscriptAnalytics,
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
from yanxiu.practice.review import (
    HistoryEntry,
    contest_diagnosis,
    in_queue,
    latest_contest,
    pending_in_scope,
    plan_review,
    queue_entries,
    review_from_queue,
    review_history,
)
from yanxiu.practice.service import (
    KIND_LABELS,
    SHOWN_TO_TEACHER,
    VISIBLE_TO_TEACHER,
    ReviewConflict,
    ReviewInvalid,
    ReviewNotAllowed,
    can_review,
    draft_view,
    latest_diagnosis,
    latest_review,
    records_in_scope,
    rejection_comment,
    reviewed_view,
    status_label,
    stored_sections,
    stored_utterances,
    teacher_records,
)
from yanxiu.practice.upload import MAX_MB, TEXT_MAX_CHARS, UPLOAD_SUFFIXES, UploadForm

STATUS_BADGES: dict[DiagnosisStatus | None, str] = {
    DiagnosisStatus.PENDING_REVIEW: "warn",
    DiagnosisStatus.ACCEPTED: "ok",
    DiagnosisStatus.EDITED: "ok",
    DiagnosisStatus.REJECTED: "bad",
    DiagnosisStatus.CONTESTED: "info",
    None: "",
}
RECORD_NOT_FOUND = "没有找到这份实践记录。"
NOT_REVIEWABLE = "无权访问：只能审核本区域教师的诊断。"


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordRow:
    """A record in a list, with its diagnosis's status (the teacher's list, the queue, the API)."""

    id: int
    title: str
    kind: str
    kind_label: str
    filename: str
    teacher: str  # username
    teacher_name: str
    submitted_at: datetime
    status: str  # "" while nothing is drafted
    status_label: str
    badge: str  # the status's colour class
    diagnosis_id: int | None


def record_row(
    record: PracticeRecord, diagnosis: Diagnosis | None, teacher: User | None
) -> RecordRow:
    status = diagnosis.status if diagnosis else None
    return RecordRow(
        id=record.id, title=record.title, kind=record.kind.value, kind_label=KIND_LABELS[record.kind],
        filename=record.filename, teacher=teacher.username if teacher else "",
        teacher_name=teacher.display_name if teacher else "", submitted_at=record.created_at,
        status=status.value if status else "", status_label=status_label(status),
        badge=STATUS_BADGES[status], diagnosis_id=diagnosis.id if diagnosis else None,
    )  # fmt: skip


def _rows(
    session: Session, records: Sequence[tuple[PracticeRecord, Diagnosis | None]]
) -> list[RecordRow]:
    ids = {r.teacher_id for r, _ in records}
    teachers = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    return [record_row(r, d, teachers.get(r.teacher_id)) for r, d in records]


def teacher_rows(session: Session, teacher_id: int) -> list[RecordRow]:
    """A teacher's own records, newest first."""
    return _rows(session, teacher_records(session, teacher_id))


@dataclass(frozen=True)
class PracticeIndex:
    """The teacher's practice page: the upload form and their records."""

    records: list[RecordRow]
    form: UploadForm
    trend: ChartSpec | None = None  # reviewed transcript scores over time (two lessons or more)
    trend_rows: list[tuple[str, dict[str, int]]] = field(
        default_factory=list
    )  # the same as a table
    max_mb: int = MAX_MB
    suffixes: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(UPLOAD_SUFFIXES))
    text_max: int = TEXT_MAX_CHARS


def practice_index(
    session: Session, teacher_id: int, form: UploadForm | None = None
) -> PracticeIndex:
    points = score_trend(session, teacher_id)
    return PracticeIndex(records=teacher_rows(session, teacher_id), form=form or UploadForm(),
                         trend=trend_spec(points) if len(points) >= 2 else None,
                         trend_rows=points)  # fmt: skip


def score_trend(session: Session, teacher_id: int) -> list[tuple[str, dict[str, int]]]:
    """The teacher's reviewed transcript scores, oldest lesson first (:func:`trend_points`)."""
    return score_rows(trend_points(session, teacher_id))


def load_record(session: Session, scope: Scope, record_id: int) -> PracticeRecord:
    """A record this user may see (NotFound, NotAllowed)."""
    record = session.get(PracticeRecord, record_id)
    if record is None:
        raise NotFound(RECORD_NOT_FOUND)
    scope.require(session, record)
    return record


def record_rows(
    session: Session, scope: Scope, viewer: Account, *, teacher: str | None = None
) -> list[RecordRow]:
    """Records for the API: a teacher's own; for a trainer or admin, those of the teachers in
    scope, or of one teacher (username or id), NotAllowed outside the scope."""
    if viewer.role == Role.TEACHER:
        return teacher_rows(session, viewer.id)
    if not teacher:
        return _rows(session, records_in_scope(session, viewer))
    found = session.scalar(
        select(User).where(User.id == int(teacher))
        if teacher.isdigit()
        else select(User).where(User.username == teacher)
    )
    if found is None or found.role != Role.TEACHER:
        raise NotFound(f"没有教师“{teacher}”")
    scope.require(session, found)
    return teacher_rows(session, found.id)


# ---------------------------------------------------------------- panels shared by both pages


@dataclass(frozen=True)
class Panels:
    """The record laid out for reading: charts and analytics (once there is a diagnosis to
    show), and the transcript's turns or the plan's sections with the evidence marked."""

    kind: str
    radar: ChartSpec | None = None
    analytics: AnalyticsPanel | None = None
    transcript: list[TranscriptRow] = field(default_factory=list)
    sections: list[PlanSection] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def diagnosis_panels(
    record: PracticeRecord,
    scores: Mapping[str, DimensionScore],
    report: Report,
    analytics: LessonAnalytics,
    *,
    radar: ChartSpec,
) -> Panels:
    """Charts, transcript rows and plan sections shared by the record page and the review page."""
    if record.kind == RecordKind.TRANSCRIPT:
        turns = transcript_rows(stored_utterances(record), evidence_index(scores, report))
        panel = transcript_analytics(
            analytics if isinstance(analytics, TranscriptAnalytics) else TranscriptAnalytics()
        )
        return Panels(kind=record.kind.value, radar=radar, analytics=panel, transcript=turns)
    plan = analytics if isinstance(analytics, PlanAnalytics) else PlanAnalytics()
    return Panels(kind=record.kind.value, radar=radar, missing=plan.missing_sections,
                  sections=plan_sections(stored_sections(record), plan, scores))  # fmt: skip


def source_panels(record: PracticeRecord) -> Panels:
    """The teacher's own text, laid out the same way, without any AI judgement."""
    if record.kind == RecordKind.TRANSCRIPT:
        return Panels(
            kind=record.kind.value, transcript=transcript_rows(stored_utterances(record), {})
        )
    return Panels(kind=record.kind.value, sections=plan_sections(stored_sections(record), None, {}))


# ---------------------------------------------------------------- the record page


@dataclass(frozen=True)
class RecordPage:
    record: PracticeRecord
    row: RecordRow
    teacher: User
    diagnosis: Diagnosis | None
    view: ReviewedDiagnosis | None  # the reviewed diagnosis, once accepted or edited
    reviewer: User | None  # who decided it
    reviewed_at: datetime | None
    panels: Panels
    reviewable: bool  # the viewer may review it now (it waits in their queue)
    rejection: str  # why a trainer sent the draft back
    contest: DiagnosisReview | None
    history: list[HistoryEntry]
    is_owner: bool
    reviewers: list[str]  # who reviews a contest (the trainers over the teacher)


def contest_reviewers(session: Session, teacher: User) -> list[str]:
    """The trainers a contest goes to (the same people :func:`tell_trainers_contested` tells)."""
    return [u.display_name for u in overseers(session, teacher, (Role.TRAINER,))]


def record_page(session: Session, scope: Scope, record_id: int) -> RecordPage:
    record = load_record(session, scope, record_id)
    diagnosis = latest_diagnosis(session, record.id)
    teacher = session.get(User, record.teacher_id)
    assert teacher is not None
    view = reviewer = reviewed_at = None
    panels = source_panels(record)
    if diagnosis is not None and diagnosis.status in SHOWN_TO_TEACHER:
        view = reviewed_view(session, diagnosis)
        review = latest_review(session, diagnosis.id)
        if review is not None:
            reviewer, reviewed_at = session.get(User, review.reviewer_id), review.created_at
        radar = radar_spec(score_values(view.scores), label="审核后得分")
        panels = diagnosis_panels(record, view.scores, view.report, view.analytics, radar=radar)
    return RecordPage(
        record=record, row=record_row(record, diagnosis, teacher), teacher=teacher,
        diagnosis=diagnosis, view=view, reviewer=reviewer, reviewed_at=reviewed_at, panels=panels,
        reviewable=scope.role != Role.TEACHER and diagnosis is not None and in_queue(diagnosis)
        and can_review(session, scope, record),
        rejection=rejection_comment(session, diagnosis) if diagnosis else "",
        contest=latest_contest(session, diagnosis.id) if diagnosis else None,
        history=review_history(session, diagnosis.id) if diagnosis else [],
        is_owner=scope.user_id == record.teacher_id,
        reviewers=contest_reviewers(session, teacher),
    )  # fmt: skip


@dataclass(frozen=True)
class ContestConfirmation:
    """The step before contesting: what is contested, what happens, who will review it."""

    record: PracticeRecord
    diagnosis: Diagnosis
    view: ReviewedDiagnosis
    reviewer: User | None  # who decided the diagnosis being contested
    reviewers: list[str]  # who will review the contest


def contest_confirmation(session: Session, scope: Scope, record_id: int) -> ContestConfirmation:
    """The owner's confirmation page (NotAllowed for others, a conflict if not contestable)."""
    record = load_record(session, scope, record_id)
    if record.teacher_id != scope.user_id:
        raise ReviewNotAllowed("只能对本人的诊断提出申诉")
    diagnosis = latest_diagnosis(session, record.id)
    if diagnosis is None or diagnosis.status not in VISIBLE_TO_TEACHER:
        raise ReviewConflict("只能对已审核的诊断提出申诉（已在申诉中的诊断请等待重新审核）")
    review = latest_review(session, diagnosis.id)
    teacher = session.get(User, record.teacher_id)
    assert teacher is not None
    return ContestConfirmation(
        record=record, diagnosis=diagnosis, view=reviewed_view(session, diagnosis),
        reviewer=session.get(User, review.reviewer_id) if review else None,
        reviewers=contest_reviewers(session, teacher),
    )  # fmt: skip


@dataclass(frozen=True)
class Contested:
    diagnosis_id: int
    status: str
    status_label: str


def contest_record(
    session: Session, scope: Scope, teacher: Account, record_id: int, reason: str
) -> Contested:
    """The owner contests the reviewed diagnosis of a record (a ReviewError if they may not)."""
    record = load_record(session, scope, record_id)
    diagnosis = latest_diagnosis(session, record.id)
    if diagnosis is None:
        raise NotFound("这份记录还没有诊断。")
    contest_diagnosis(session, diagnosis_id=diagnosis.id, teacher=teacher, comment=reason)
    return Contested(diagnosis.id, diagnosis.status.value, status_label(diagnosis.status))


# ---------------------------------------------------------------- the API's record


@dataclass(frozen=True)
class RecordDetail(RecordRow):
    text: str  # as parsed
    diagnosis: ReviewedDiagnosis | None  # once a trainer accepted or edited it
    rejection_comment: str
    draft: DraftView | None  # the full AI draft: only for a reviewer in scope
    history: list[HistoryEntry]


def record_detail(session: Session, scope: Scope, record_id: int) -> RecordDetail:
    """One record for the API: the owner gets the reviewed diagnosis (never the AI draft); a
    reviewer in scope also gets the full draft."""
    record = load_record(session, scope, record_id)
    diagnosis = latest_diagnosis(session, record.id)
    teacher = session.get(User, record.teacher_id)
    reviewed = draft = None
    if diagnosis is not None:
        if diagnosis.status in SHOWN_TO_TEACHER:
            reviewed = reviewed_view(session, diagnosis)
        if scope.role != Role.TEACHER and can_review(session, scope, record):
            draft = draft_view(diagnosis)
    return RecordDetail(
        **asdict(record_row(record, diagnosis, teacher)), text=record.text, diagnosis=reviewed,
        rejection_comment=rejection_comment(session, diagnosis) if diagnosis else "", draft=draft,
        history=review_history(session, diagnosis.id) if diagnosis else [],
    )  # fmt: skip


# ---------------------------------------------------------------- the review queue


@dataclass(frozen=True)
class QueueRow:
    diagnosis_id: int
    record_id: int
    title: str
    kind: str
    kind_label: str
    teacher: str  # username
    teacher_name: str
    school: str
    confidence: float
    urgency: float  # the AI's confidence less 0.05 a day waited: the queue order
    submitted_at: datetime
    status: str
    contested: bool
    contest_reason: str


def queue_rows(session: Session, reviewer: Account) -> list[QueueRow]:
    """Diagnoses waiting for this reviewer: contested first, then by urgency."""
    return [
        QueueRow(
            diagnosis_id=e.diagnosis.id,
            record_id=e.record.id,
            title=e.record.title,
            kind=e.record.kind.value,
            kind_label=KIND_LABELS[e.record.kind],
            teacher=e.teacher.username,
            teacher_name=e.teacher.display_name,
            school=e.school,
            confidence=e.diagnosis.confidence,
            urgency=e.urgency,
            submitted_at=e.submitted_at,
            status=e.diagnosis.status.value,
            contested=e.contested,
            contest_reason=e.contest_reason,
        )  # fmt: skip
        for e in queue_entries(session, reviewer=reviewer)
    ]


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueRow]
    recent: list[RecordRow]  # decided lately, in scope
    pending: int  # drafts nobody reviewed yet, which a re-score would redraft


def queue_page(session: Session, reviewer: Account) -> QueuePage:
    scoped = records_in_scope(session, reviewer, limit=30)
    decided = [(r, d) for r, d in scoped if d is not None and not in_queue(d)]
    return QueuePage(
        items=queue_rows(session, reviewer),
        recent=_rows(session, decided)[:10],
        pending=len(pending_in_scope(session, reviewer)),
    )


# ---------------------------------------------------------------- the review page and decision


def diagnosis_for_review(session: Session, scope: Scope, diagnosis_id: int) -> Diagnosis:
    """A diagnosis this user may review (NotFound, NotAllowed)."""
    diagnosis = session.get(Diagnosis, diagnosis_id)
    if diagnosis is None:
        raise NotFound("没有找到这份诊断。")
    if not can_review(session, scope, diagnosis.record):
        raise NotAllowed(NOT_REVIEWABLE)
    return diagnosis


@dataclass(frozen=True)
class ReviewForm:
    """What a trainer submitted on the review page (kept when it is refused)."""

    action: str = ""
    scores: dict[str, str] = field(default_factory=dict)  # dimension -> as typed
    summary: str | None = None
    suggestions: list[str] = field(default_factory=list)  # in the draft's order
    extra_suggestion: str = ""
    comment: str = ""

    @classmethod
    def from_fields(cls, fields: Sequence[tuple[str, str]]) -> ReviewForm:
        """From the form's (name, value) pairs: ``score:<dimension>``, repeated ``suggestion``."""
        single = dict(fields)
        return cls(
            action=single.get("action", ""),
            scores={k.removeprefix("score:"): v.strip() for k, v in fields if k.startswith("score:")},
            summary=single.get("summary"),
            suggestions=[v for k, v in fields if k == "suggestion"],
            extra_suggestion=single.get("extra_suggestion", "")[:2000],
            comment=single.get("comment", "")[:2000],
        )  # fmt: skip

    def valid_scores(self, dimensions: Sequence[str]) -> dict[str, int]:
        return {
            dim: int(raw)
            for dim in dimensions
            if (raw := self.scores.get(dim, "")).isdigit() and 1 <= int(raw) <= 5
        }

    def invalid_scores(self, dimensions: Sequence[str]) -> list[str]:
        valid = self.valid_scores(dimensions)
        return [dim for dim in dimensions if self.scores.get(dim) and dim not in valid]


@dataclass(frozen=True)
class ReviewPage:
    d: Diagnosis
    record: PracticeRecord
    teacher: User
    row: RecordRow
    ai_scores: dict[str, int]
    current: dict[str, int]  # the scores the form starts from
    report: Report  # the draft, with the last decision's changes
    summary: str
    suggestions: list[Suggestion]
    comment: str
    panels: Panels
    open: bool  # waiting in the queue: the form is shown
    contest: DiagnosisReview | None
    error: str
    history: list[HistoryEntry]


def review_page(
    session: Session, scope: Scope, diagnosis_id: int, *, error: str = "",
    form: ReviewForm | None = None,
) -> ReviewPage:  # fmt: skip
    """The full AI draft beside the record, with the form (pre-filled with the last decision
    when a contested diagnosis comes back, or with what was submitted when it was refused)."""
    diagnosis = diagnosis_for_review(session, scope, diagnosis_id)
    record = diagnosis.record
    teacher = session.get(User, record.teacher_id)
    assert teacher is not None
    ai_scores = score_values(diagnosis.scores)
    current = dict(ai_scores)
    report = diagnosis.report
    review = latest_review(session, diagnosis.id)
    if review is not None:  # a contested or decided one: start from the decision
        current.update({d: s for d, s in review.scores.items() if d in current})
        if review.report is not None:
            decided = {
                name: getattr(review.report, name) for name in review.report.model_fields_set
            }
            report = report.model_copy(update=decided)
    if current != ai_scores:  # already decided once (now contested): show both outlines
        radar = radar_spec(current, label="当前审定", compare=ai_scores)
    else:
        radar = radar_spec(ai_scores, label="AI 初评")
    panels = diagnosis_panels(
        record, diagnosis.scores, diagnosis.report, diagnosis.analytics, radar=radar
    )
    dims = list(diagnosis.scores)
    return ReviewPage(
        d=diagnosis, record=record, teacher=teacher, row=record_row(record, diagnosis, teacher),
        ai_scores=ai_scores, current={**ai_scores, **form.valid_scores(dims)} if form else current,
        report=report, summary=(form.summary or "") if form else report.summary,
        suggestions=report.suggestions, comment=form.comment if form else "", panels=panels,
        open=in_queue(diagnosis), contest=latest_contest(session, diagnosis.id), error=error,
        history=review_history(session, diagnosis.id),
    )  # fmt: skip


DONE = {
    ReviewDecision.ACCEPT: "已通过",
    ReviewDecision.EDIT: "已修改并通过",
    ReviewDecision.REJECT: "已退回",
}


@dataclass(frozen=True)
class Decided:
    """A recorded decision, and what the trainer is told."""

    diagnosis_id: int
    review_id: int
    decision: str
    status: str
    status_label: str
    message: str


def _decided(diagnosis: Diagnosis, review: DiagnosisReview) -> Decided:
    title, done = diagnosis.record.title, DONE[review.decision]
    message = (
        f"“{title}”{done}，教师将看到您的退回理由。"
        if review.decision == ReviewDecision.REJECT
        else f"“{title}”{done}，教师现在可以看到审核结果。"
    )
    return Decided(diagnosis_id=diagnosis.id, review_id=review.id, decision=review.decision.value,
                   status=diagnosis.status.value, status_label=status_label(diagnosis.status),
                   message=message)  # fmt: skip


def decide(
    session: Session,
    scope: Scope,
    reviewer: Account,
    diagnosis_id: int,
    *,
    action: str,
    scores: Mapping[str, int],
    summary: str | None,
    suggestions: list[str] | None,
    extra_suggestion: str,
    comment: str,
    find_resources: ResourceFinder | None,
) -> Decided:
    """A trainer's decision on a diagnosis waiting in their queue: accept, edit or reject.

    Invalid input is a ReviewInvalid (422); a diagnosis no longer waiting, a ReviewConflict (409).
    """
    diagnosis = diagnosis_for_review(session, scope, diagnosis_id)
    unknown = [d for d in scores if d not in diagnosis.scores]
    if unknown:
        raise ReviewInvalid(f"没有维度“{'、'.join(unknown)}”")
    if any(not 1 <= s <= 5 for s in scores.values()):
        raise ReviewInvalid("分数须在 1–5 之间")
    decision, final_scores, report = plan_review(
        diagnosis, action, dict(scores), summary, suggestions, extra_suggestion
    )
    review = review_from_queue(
        session, diagnosis_id=diagnosis.id, reviewer=reviewer, decision=decision,
        scores=final_scores, report=report, comment=comment, find_resources=find_resources,
    )  # fmt: skip
    return _decided(diagnosis, review)


def decide_from_form(
    session: Session,
    scope: Scope,
    reviewer: Account,
    diagnosis_id: int,
    form: ReviewForm,
    *,
    find_resources: ResourceFinder | None,
) -> Decided:
    """:func:`decide` with what the review page's form sent (scores typed as text)."""
    dims = list(diagnosis_for_review(session, scope, diagnosis_id).scores)
    bad = form.invalid_scores(dims)
    if bad:
        raise ReviewInvalid(f"“{'、'.join(bad)}”的分数须为 1–5 的整数")
    return decide(
        session, scope, reviewer, diagnosis_id, action=form.action,
        scores=form.valid_scores(dims), summary=form.summary, suggestions=form.suggestions or None,
        extra_suggestion=form.extra_suggestion, comment=form.comment, find_resources=find_resources,
    )  # fmt: skip
