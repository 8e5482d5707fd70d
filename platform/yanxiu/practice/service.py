"""Practice records: submit → AI draft → what the teacher and reviewers see; re-scoring.

Reviewing a draft (the queue, decisions, contests) is :mod:`yanxiu.practice.review`.

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
from collections.abc import Mapping
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.accounts.scope import Account, Scope
from yanxiu.audit.service import record_audit
from yanxiu.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from yanxiu.practice.diagnosis import (
    ResourceFinder,
    diagnose_lesson_plan,
    diagnose_transcript,
)
from yanxiu.practice.draft import (
    DraftView,
    PlanAnalytics,
    Report,
    ResourceLink,
    ReviewedDiagnosis,
    ReviewedScore,
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
    ParsedTranscript,
    SpeakerMappingNeeded,
    TranscriptError,
    Utterance,
    parse_lesson_plan,
    plan_sections_found,
    read_transcript,
    transcript_lines_found,
)

VISIBLE_TO_TEACHER = (DiagnosisStatus.ACCEPTED, DiagnosisStatus.EDITED)
# A contested diagnosis stays visible, marked 申诉中, until a trainer decides it again.
SHOWN_TO_TEACHER = (*VISIBLE_TO_TEACHER, DiagnosisStatus.CONTESTED)
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
    speaker_map: Mapping[str, str] | None = None,
) -> tuple[PracticeRecord, Diagnosis]:
    """Parse, analyse and store a record with its AI draft (pending review), or store nothing.

    ``speaker_map``: the teacher's mapping of raw speaker labels (``SPEAKER_00`` → 师).

    Raises:
        SpeakerMappingNeeded: raw speaker labels without a mapping (nothing stored).
        TranscriptError: The file cannot be used; the message says which line and why.
    """
    if kind == RecordKind.TRANSCRIPT:
        parsed_transcript = _read_transcript(data, filename, speaker_map)
        utterances = parsed_transcript.utterances
        if not any(u.speaker_role == "teacher" for u in utterances):
            raise TranscriptError("实录中没有教师发言（以“师：”开头的行），无法分析")
        draft = diagnose_transcript(
            utterances, stage=stage, subject=subject, find_resources=find_resources,
            calibration=calibration, notes=parsed_transcript.warnings,
        )  # fmt: skip
        parsed: dict[str, object] = {"utterances": [asdict(u) for u in utterances]}
        if parsed_transcript.warnings:
            parsed["warnings"] = parsed_transcript.warnings
        if parsed_transcript.speaker_map:
            parsed["speaker_map"] = parsed_transcript.speaker_map
        text = "\n".join(f"{u.speaker_label}：{u.text}" for u in utterances)
    else:
        plan = parse_lesson_plan(data, filename)
        if not plan.sections and not plan.other:
            raise TranscriptError("教案内容为空，请检查文件")
        if len(plan.sections) < 2 and transcript_lines_found(plan) >= 3:
            raise TranscriptError(
                "这份文件看起来是课堂实录（多行以“师：”“生：”开头），不是教案：请选择“课堂实录”类型后重新提交"
            )
        draft = diagnose_lesson_plan(
            plan, stage=stage, subject=subject, find_resources=find_resources,
            calibration=calibration,
        )  # fmt: skip
        parsed = {"sections": plan.sections, "missing": plan.missing, "lines": plan.lines}
        if plan.guessed:
            parsed["guessed"] = True
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


def _read_transcript(
    data: bytes, filename: str, speaker_map: Mapping[str, str] | None
) -> ParsedTranscript:
    """:func:`read_transcript`; a refused file that reads as a lesson plan says so."""
    try:
        return read_transcript(data, filename, speaker_map)
    except SpeakerMappingNeeded:
        raise
    except TranscriptError as err:
        found = plan_sections_found(data, filename)
        if len(found) >= 2:
            names = "“" + "”“".join(found[:3]) + "”"
            raise TranscriptError(
                f"这份文件看起来是教案（有{names}等部分），不是课堂实录：请选择“教学设计”类型后重新提交"
            ) from err
        raise


def can_review(session: Session, scope: Scope, record: PracticeRecord) -> bool:
    """Trainers and admins review the records of the teachers their scope covers."""
    return scope.role in REVIEWER_ROLES and scope.can_read(session, record)


def _reviewable(session: Session, reviewer: Account) -> Scope | None:
    """The reviewer's scope, or None for a role that reviews nothing."""
    if reviewer.role not in REVIEWER_ROLES:
        return None
    return Scope.for_user(session, reviewer)


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
    review = latest_review(session, diagnosis.id)
    if diagnosis.status not in SHOWN_TO_TEACHER or review is None:
        raise ReviewConflict("该诊断尚未经过培训者审核")
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
    """A teacher's reviewed diagnoses, contested ones included (pending and rejected ones are
    not shown)."""
    rows = session.scalars(
        select(Diagnosis).join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
        .where(PracticeRecord.teacher_id == teacher_id, Diagnosis.status.in_(SHOWN_TO_TEACHER))
        .order_by(Diagnosis.created_at.desc())
    )  # fmt: skip
    return [reviewed_view(session, d) for d in rows]


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

    def find(competency: str, query: str, stage: str, for_subject: str = "") -> list[ResourceLink]:
        wanted = for_subject or subject
        hits = [
            c
            for c in courses
            if competency in (c.competencies or [])
            and (not stage or stage in (c.stages or []))
            and (not wanted or not c.subjects or {wanted, "通用"} & set(c.subjects))
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
        guessed=bool(record.parsed.get("guessed")),
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
            stored_utterances(record), stage=record.stage, subject=record.subject,
            find_resources=find_resources, calibration=calibration,
            notes=[str(w) for w in record.parsed.get("warnings") or []],
        )  # fmt: skip
    else:
        draft = diagnose_lesson_plan(
            stored_plan(record, diagnosis), stage=record.stage, subject=record.subject,
            find_resources=find_resources, calibration=calibration,
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
