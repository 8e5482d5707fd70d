"""教学实践：上传课堂实录或教案、状态、已审核的诊断（S-T 图、FIAS 热力图、量规雷达图）、申诉；审核队列与审核页。

Who sees what (PIPL art. 24: no purely automated decision reaches a teacher):

- a teacher uploads records and sees their status; the diagnosis only once a trainer accepted
  or edited it, in its reviewed form, and may contest it;
- a trainer or admin reviews the records of teachers in their region (``can_review``), sees
  the full AI draft there, and can re-score the pending drafts in scope as a background job;
- everyone else gets 403 (pages and API alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, TeacherProfile, User
from yanxiu.accounts.scope import Scope
from yanxiu.db import session_scope
from yanxiu.practice.charts import (
    evidence_index,
    plan_sections,
    radar_spec,
    transcript_analytics,
    transcript_rows,
)
from yanxiu.practice.diagnosis import ResourceFinder
from yanxiu.practice.models import (
    Diagnosis,
    DiagnosisStatus,
    PracticeRecord,
    RecordKind,
    ReviewDecision,
)
from yanxiu.practice.parse import MAX_BYTES, TranscriptError
from yanxiu.practice.service import (
    KIND_LABELS,
    VISIBLE_TO_TEACHER,
    ReviewError,
    can_review,
    contest_diagnosis,
    draft_view,
    in_queue,
    latest_contest,
    latest_diagnosis,
    latest_review,
    pending_in_scope,
    plan_review,
    queue_entries,
    records_in_scope,
    rejection_comment,
    rescore_diagnosis,
    review_from_queue,
    review_history,
    reviewed_view,
    status_label,
    submit_record,
    teacher_records,
)
from yanxiu.web.auth import AuthUser, require_role
from yanxiu.web.deps import get_db, get_services
from yanxiu.web.pages import flash, local_time, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

TEACHER = require_role(Role.TEACHER)
VIEWERS = require_role(Role.TEACHER, Role.TRAINER, Role.ADMIN)
REVIEWERS = require_role(Role.TRAINER, Role.ADMIN)

UPLOAD_SUFFIXES: dict[str, tuple[str, ...]] = {
    "transcript": (".txt", ".docx", ".json", ".srt", ".vtt"),
    "lesson_plan": (".txt", ".md", ".docx"),
}
# multipart parsing: a text field may carry a whole pasted transcript (the parser's 2 MB);
# the body as a whole may add form overhead on top of that, and no more.
# Files or text up to BODY_LIMIT are parsed, so that anything over the parser's 2 MB gets a
# clear Chinese message on the form (413, title kept); beyond BODY_LIMIT the request is cut
# off with a bare 413 before any parsing.
BODY_LIMIT = 8 * MAX_BYTES
FORM_LIMITS: Any = {"max_part_size": BODY_LIMIT, "max_files": 2, "max_fields": 20}
TEXT_MAX_CHARS = 300_000  # a pasted text field (~0.9 MB of UTF-8 Chinese); a lesson is ~20,000
TOO_LARGE = f"文件超过 {MAX_BYTES // (1024 * 1024)} MB 上限，请拆分后分别上传（例如按上下半节课）。"
STATUS_BADGES: dict[DiagnosisStatus | None, str] = {
    DiagnosisStatus.PENDING_REVIEW: "warn",
    DiagnosisStatus.ACCEPTED: "ok",
    DiagnosisStatus.EDITED: "ok",
    DiagnosisStatus.REJECTED: "bad",
    DiagnosisStatus.CONTESTED: "info",
    None: "",
}


def _db_user(session: Session, user: AuthUser) -> User:
    found = session.get(User, user.id)
    if found is None:  # deleted since the request began
        raise HTTPException(403, detail="无权访问：您的账号不能查看此内容。")
    return found


def resource_finder(request: Request, session: Session) -> ResourceFinder:
    """Semantic search when the catalog index is loaded, else courses tagged with the competency."""
    return get_services(request).resource_finder(session)


def _calibration(request: Request) -> dict[str, dict[int, int]]:
    return get_services(request).calibration()


# ---------------------------------------------------------------- upload


@dataclass
class UploadRefused(Exception):
    """An upload that cannot be used: HTTP status, the message people read, the line if known."""

    status: int
    message: str
    line: int | None = None


def _read_upload(kind: str, file: UploadFile | None, text: str) -> tuple[bytes, str]:
    """(bytes, filename) from the file, else the pasted text; UploadRefused if neither fits."""
    if kind not in UPLOAD_SUFFIXES:
        raise UploadRefused(422, "请选择类型：课堂实录或教学设计")
    if file is not None and file.filename:
        name = file.filename.replace("\\", "/").rsplit("/", 1)[-1][:255]
        suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        if suffix not in UPLOAD_SUFFIXES[kind]:
            allowed = "、".join(UPLOAD_SUFFIXES[kind])
            raise UploadRefused(
                422,
                f"不支持“{suffix or name}”文件：{KIND_LABELS[RecordKind(kind)]}请上传 {allowed} 文件",
            )
        data = file.file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise UploadRefused(413, TOO_LARGE)
        if not data.strip():
            raise UploadRefused(422, "上传的文件是空的，请检查后重新选择")
        return data, name
    if text.strip():
        data = text.encode("utf-8")
        if len(data) > MAX_BYTES:
            raise UploadRefused(413, TOO_LARGE)
        return data, "粘贴文本.md" if kind == "lesson_plan" else "粘贴文本.txt"
    raise UploadRefused(422, "请选择要上传的文件，或把内容粘贴到文本框中")


def _submit(
    request: Request,
    session: Session,
    me: AuthUser,
    *,
    kind: str,
    title: str,
    file: UploadFile | None,
    text: str,
) -> tuple[PracticeRecord, Diagnosis]:
    """Parse, score and store an upload for ``me``; UploadRefused (nothing stored) if unusable."""
    data, filename = _read_upload(kind, file, text)
    profile = session.get(TeacherProfile, me.id)
    stage = profile.stage if profile else ""
    subject = profile.subjects[0] if profile and profile.subjects else ""
    title = title.strip() or (filename.rsplit(".", 1)[0] if file is not None else "")
    title = title or f"{KIND_LABELS[RecordKind(kind)]}（{local_time(datetime.now(UTC))[:10]}）"
    try:
        return submit_record(
            session, teacher_id=me.id, kind=RecordKind(kind), data=data, filename=filename,
            title=title, stage=stage, subject=subject,
            find_resources=resource_finder(request, session), calibration=_calibration(request),
        )  # fmt: skip
    except TranscriptError as err:
        session.rollback()  # nothing half-parsed is kept
        raise UploadRefused(422, str(err), err.line_no) from None


# ---------------------------------------------------------------- view models


def _record_row(record: PracticeRecord, diagnosis: Diagnosis | None) -> dict[str, Any]:
    status = diagnosis.status if diagnosis else None
    return {
        "id": record.id, "title": record.title, "kind": record.kind.value,
        "kind_label": KIND_LABELS[record.kind], "submitted": local_time(record.created_at),
        "status": status.value if status else "", "status_label": status_label(status),
        "badge": STATUS_BADGES[status], "diagnosis_id": diagnosis.id if diagnosis else None,
        "filename": record.filename,
    }  # fmt: skip


def diagnosis_panels(
    record: PracticeRecord,
    scores: dict[str, Any],
    report: dict[str, Any],
    analytics: dict[str, Any],
    *,
    compare: dict[str, int] | None = None,
    radar_label: str = "审核后得分",
) -> dict[str, Any]:
    """Charts, transcript rows and plan sections shared by the record page and the review page."""
    panels: dict[str, Any] = {
        "radar": radar_spec(scores, label=radar_label, compare=compare),
        "kind": record.kind.value,
    }
    if record.kind == RecordKind.TRANSCRIPT:
        panels["analytics"] = transcript_analytics(analytics)
        panels["transcript"] = transcript_rows(
            record.parsed.get("utterances", []), evidence_index(scores, report)
        )
    else:
        panels["sections"] = plan_sections(record.parsed, analytics, scores)
        panels["missing"] = analytics.get("missing_sections", [])
    return panels


def _load_record(session: Session, record_id: int, me: AuthUser) -> PracticeRecord:
    record = session.get(PracticeRecord, record_id)
    if record is None:
        raise HTTPException(404, detail="没有找到这份实践记录。")
    Scope.for_user(session, me).require(session, record)
    return record


def _load_for_review(session: Session, diagnosis_id: int, me: AuthUser) -> tuple[Diagnosis, User]:
    diagnosis = session.get(Diagnosis, diagnosis_id)
    if diagnosis is None:
        raise HTTPException(404, detail="没有找到这份诊断。")
    reviewer = _db_user(session, me)
    teacher = session.get(User, diagnosis.record.teacher_id)
    if teacher is None or not can_review(session, reviewer, teacher):
        raise HTTPException(403, detail="无权访问：只能审核本区域教师的诊断。")
    return diagnosis, reviewer


# ---------------------------------------------------------------- teacher pages


def _index(
    request: Request,
    session: Session,
    me: AuthUser,
    *,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    rows = [_record_row(r, d) for r, d in teacher_records(session, me.id)]
    form = {"kind": "transcript", "title": "", "text": "", "error": "", "line": None} | (form or {})
    return render(
        request, "practice/index.html",
        {"me": me, "records": rows, "form": form, "max_mb": MAX_BYTES // (1024 * 1024),
         "suffixes": UPLOAD_SUFFIXES, "text_max": TEXT_MAX_CHARS},
        status_code=status_code,
    )  # fmt: skip


@router.get("/practice", response_class=HTMLResponse)
def practice_index(
    request: Request,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    return _index(request, session, me)


@router.post(
    "/practice", response_class=HTMLResponse, form_limits=FORM_LIMITS, max_body_size=BODY_LIMIT
)
def practice_upload(
    request: Request,
    kind: str = Form("transcript", max_length=20),
    title: str = Form("", max_length=200),
    text: str = Form(""),
    file: UploadFile | None = File(None),
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    try:
        record, _ = _submit(request, session, me, kind=kind, title=title, file=file, text=text)
    except UploadRefused as refused:
        keep = {"kind": kind if kind in UPLOAD_SUFFIXES else "transcript", "title": title,
                "text": text if len(text) <= 200_000 else "", "error": refused.message, "line": refused.line}  # fmt: skip
        return _index(request, session, me, form=keep, status_code=refused.status)
    flash(request, "已提交。AI 已完成初步分析，诊断将在培训者审核后向您显示。")
    return RedirectResponse(f"/practice/{record.id}", status_code=303)


@router.get("/practice/{record_id}", response_class=HTMLResponse)
def practice_record(
    request: Request,
    record_id: int,
    me: AuthUser = Depends(VIEWERS),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    record = _load_record(session, record_id, me)
    diagnosis = latest_diagnosis(session, record.id)
    teacher = session.get(User, record.teacher_id)
    assert teacher is not None
    view = panels = None
    if diagnosis is not None and diagnosis.status in VISIBLE_TO_TEACHER:
        view = reviewed_view(session, diagnosis)
        review = latest_review(session, diagnosis.id)
        view["reviewer"] = review and session.get(User, review.reviewer_id)
        view["reviewed_when"] = local_time(review.created_at if review else None)
        panels = diagnosis_panels(record, view["scores"], view["report"], view["analytics"])
    else:  # the teacher's own text, laid out the same way, without any AI judgement
        panels = {"kind": record.kind.value, "missing": []}
        if record.kind == RecordKind.TRANSCRIPT:
            panels["transcript"] = transcript_rows(record.parsed.get("utterances", []), {})
        else:
            panels["sections"] = plan_sections(record.parsed, {}, {})
    reviewer_link = None
    if (
        me.role != Role.TEACHER
        and diagnosis is not None
        and in_queue(diagnosis)
        and can_review(session, _db_user(session, me), teacher)
    ):
        reviewer_link = f"/review/{diagnosis.id}"
    contest = latest_contest(session, diagnosis.id) if diagnosis else None
    return render(
        request, "practice/record.html",
        {"me": me, "record": record, "row": _record_row(record, diagnosis), "teacher": teacher,
         "diagnosis": diagnosis, "view": view, "panels": panels, "reviewer_link": reviewer_link,
         "rejection": rejection_comment(session, diagnosis) if diagnosis else "",
         "contest": contest, "contest_when": local_time(contest.created_at) if contest else "",
         "history": review_history(session, diagnosis.id) if diagnosis else [],
         "is_owner": me.id == record.teacher_id, "local_time": local_time},
    )  # fmt: skip


@router.post("/practice/{record_id}/contest", response_class=HTMLResponse)
def practice_contest(
    request: Request,
    record_id: int,
    reason: str = Form("", max_length=2000),
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    record = _load_record(session, record_id, me)
    diagnosis = latest_diagnosis(session, record.id)
    if diagnosis is None:
        raise HTTPException(404, detail="这份记录还没有诊断。")
    try:
        contest_diagnosis(
            session, diagnosis_id=diagnosis.id, teacher=_db_user(session, me), comment=reason
        )
    except ReviewError as err:
        flash(request, str(err), "error")
    else:
        flash(request, "申诉已提交，培训者将重新审核这份诊断。")
    return RedirectResponse(f"/practice/{record.id}", status_code=303)


# ---------------------------------------------------------------- trainer pages


@router.get("/review", response_class=HTMLResponse)
def review_index(
    request: Request,
    me: AuthUser = Depends(REVIEWERS),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    reviewer = _db_user(session, me)
    entries = queue_entries(session, reviewer=reviewer)
    items = [
        {**_record_row(e["record"], e["diagnosis"]), "teacher": e["teacher"].display_name,
         "username": e["teacher"].username, "school": e["school"], "contested": e["contested"],
         "contest_reason": e["contest_reason"], "confidence": e["diagnosis"].confidence}
        for e in entries
    ]  # fmt: skip
    scoped = records_in_scope(session, reviewer, limit=30)
    ids = {r.teacher_id for r, _ in scoped}
    names = {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(ids)))}
    recent = [
        _record_row(r, d) | {"teacher": names.get(r.teacher_id, "")}
        for r, d in scoped
        if d is not None and not in_queue(d)
    ][:10]
    return render(
        request, "review/queue.html",
        {"me": me, "items": items, "recent": recent, "pending": len(pending_in_scope(session, reviewer))},
    )  # fmt: skip


@router.post("/review/rescore", response_class=HTMLResponse)
def review_rescore(request: Request, me: AuthUser = Depends(REVIEWERS)) -> Response:
    job = start_rescore(request, me)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/review/{diagnosis_id}", response_class=HTMLResponse)
def review_page(
    request: Request,
    diagnosis_id: int,
    me: AuthUser = Depends(REVIEWERS),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    diagnosis, _ = _load_for_review(session, diagnosis_id, me)
    return _review_page(request, session, me, diagnosis)


def _review_page(
    request: Request,
    session: Session,
    me: AuthUser,
    diagnosis: Diagnosis,
    *,
    error: str = "",
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    record = diagnosis.record
    teacher = session.get(User, record.teacher_id)
    assert teacher is not None
    ai_scores = {dim: int(v["score"]) for dim, v in diagnosis.scores.items()}
    current = dict(ai_scores)
    review = latest_review(session, diagnosis.id)
    if review is not None and review.scores:  # a contested or decided one: start from the decision
        current.update({d: int(s) for d, s in review.scores.items() if d in current})
    report = dict(diagnosis.report)
    if review is not None and review.report:
        report.update(review.report)
    contest = latest_contest(session, diagnosis.id)
    panels = diagnosis_panels(
        record, diagnosis.scores, diagnosis.report, diagnosis.analytics, radar_label="AI 初评"
    )
    if current != ai_scores:  # already decided once (now contested): show both outlines
        panels["radar"] = radar_spec(
            {d: {"score": s} for d, s in current.items()}, label="当前审定", compare=ai_scores
        )
    return render(
        request, "review/review.html",
        {"me": me, "d": diagnosis, "record": record, "teacher": teacher, "row": _record_row(record, diagnosis),
         "ai_scores": ai_scores, "current": form.get("scores", current) if form else current,
         "report": report, "summary": form.get("summary", report.get("summary", "")) if form else report.get("summary", ""),
         "suggestions": report.get("suggestions", []), "comment": form.get("comment", "") if form else "",
         "panels": panels, "open": in_queue(diagnosis), "contest": contest,
         "contest_when": local_time(contest.created_at) if contest else "", "error": error,
         "history": review_history(session, diagnosis.id), "local_time": local_time},
        status_code=status_code,
    )  # fmt: skip


@router.post("/review/{diagnosis_id}", response_class=HTMLResponse)
async def review_submit(
    request: Request,
    diagnosis_id: int,
    me: AuthUser = Depends(REVIEWERS),
) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    await form.close()
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(
        _review_submit, request, diagnosis_id, me, form.multi_items(), fields
    )


def _review_submit(
    request: Request,
    diagnosis_id: int,
    me: AuthUser,
    items: list[tuple[str, Any]],
    fields: dict[str, str],
) -> Response:
    with session_scope(get_services(request).session_factory) as session:
        diagnosis, reviewer = _load_for_review(session, diagnosis_id, me)
        scores: dict[str, int] = {}
        bad: list[str] = []
        for dim in diagnosis.scores:
            raw = fields.get(f"score:{dim}", "").strip()
            if not raw:
                continue
            if raw.isdigit() and 1 <= int(raw) <= 5:
                scores[dim] = int(raw)
            else:
                bad.append(dim)
        suggestions = [v for k, v in items if k == "suggestion" and isinstance(v, str)]
        summary, comment = fields.get("summary"), fields.get("comment", "")[:2000]
        keep = {"scores": {**{d: int(v["score"]) for d, v in diagnosis.scores.items()}, **scores},
                "summary": summary or "", "comment": comment}  # fmt: skip
        try:
            if bad:
                raise ReviewError(f"“{'、'.join(bad)}”的分数须为 1–5 的整数")
            decision, final_scores, report = plan_review(
                diagnosis, fields.get("action", ""), scores, summary, suggestions or None,
                fields.get("extra_suggestion", "")[:2000],
            )  # fmt: skip
            review_from_queue(
                session, diagnosis_id=diagnosis.id, reviewer=reviewer, decision=decision,
                scores=final_scores, report=report, comment=comment,
                find_resources=resource_finder(request, session),
            )  # fmt: skip
        except ReviewError as err:
            session.rollback()
            diagnosis = session.get(Diagnosis, diagnosis_id)  # type: ignore[assignment]
            return _review_page(request, session, me, diagnosis, error=str(err), form=keep,
                                status_code=409 if "不在审核队列" in str(err) else 422)  # fmt: skip
        done = {
            ReviewDecision.ACCEPT: "已通过",
            ReviewDecision.EDIT: "已修改并通过",
            ReviewDecision.REJECT: "已退回",
        }[decision]
        title = diagnosis.record.title
    flash(request, f"“{title}”{done}，教师现在可以看到审核结果。" if decision != ReviewDecision.REJECT
          else f"“{title}”{done}，教师将看到您的退回理由。")  # fmt: skip
    return RedirectResponse("/review", status_code=303)


# ---------------------------------------------------------------- batch re-scoring (a job)


def start_rescore(request: Request, me: AuthUser) -> Any:
    """Submit a job that re-scores every pending draft in ``me``'s scope with the current model."""
    services = get_services(request)
    factory = services.session_factory
    calibration = _calibration(request)

    def work(progress: Any) -> str:
        with session_scope(factory) as s:
            reviewer = s.get(User, me.id)
            ids = pending_in_scope(s, reviewer) if reviewer is not None else []
        progress.set_total(len(ids))
        if not ids:
            return "没有待审核的记录需要重新评分。"
        changed = skipped = 0
        for diagnosis_id in ids:
            with session_scope(factory) as s:  # one transaction per record: finished work stays
                diagnosis = s.get(Diagnosis, diagnosis_id)
                title = diagnosis.record.title if diagnosis else str(diagnosis_id)
                finder = services.resource_finder(s)
                try:
                    moved = rescore_diagnosis(s, diagnosis_id=diagnosis_id, actor_id=me.id,
                                              find_resources=finder, calibration=calibration)  # fmt: skip
                except ReviewError:  # reviewed while the job ran: leave it as decided
                    skipped += 1
                    progress.advance(1, f"“{title}”已被审核，跳过")
                    continue
            changed += moved
            progress.advance(1, f"“{title}”{'分数有变化' if moved else '分数不变'}")
        done = len(ids) - skipped
        return f"已用当前模型重新评分 {done} 份待审核记录，其中 {changed} 份分数有变化" + (
            f"；{skipped} 份在评分期间已被审核，未改动。" if skipped else "。"
        )

    return get_services(request).jobs.submit(
        "score", "重新评分待审核的教学实践记录", work, owner_id=me.id
    )


# ---------------------------------------------------------------- JSON API


class UploadErrorOut(BaseModel):
    message: str = Field(description="中文说明，含行号，例如“第3行：无法识别说话人…”")
    line: int | None = Field(None, description="出错的行（段、条）号；无法定位时为空")


class PracticeCreated(BaseModel):
    id: int
    diagnosis_id: int
    status: str = Field(description="pending_review：等待培训者审核")
    status_label: str
    kind: str
    title: str
    url: str


class RecordOut(BaseModel):
    id: int
    title: str
    kind: str = Field(description="transcript 课堂实录 | lesson_plan 教学设计")
    kind_label: str
    teacher: str = Field(description="教师用户名")
    submitted_at: str
    status: str = Field(description="pending_review | accepted | edited | rejected | contested")
    status_label: str
    diagnosis_id: int | None


class RecordList(BaseModel):
    records: list[RecordOut]


class RecordDetail(RecordOut):
    filename: str
    text: str = Field(description="解析后的文本")
    diagnosis: dict[str, Any] | None = Field(
        None, description="经培训者审核的诊断（通过或修改后）；未审核时为空"
    )
    rejection_comment: str = Field("", description="被退回时培训者写的理由")
    draft: dict[str, Any] | None = Field(
        None, description="AI 诊断草稿全文：仅对有权审核的培训者/管理员返回"
    )
    history: list[dict[str, Any]] = Field(default_factory=list, description="审核与申诉记录")


class QueueItem(BaseModel):
    diagnosis_id: int
    record_id: int
    title: str
    kind: str
    teacher: str
    teacher_name: str
    school: str
    confidence: float
    urgency: float = Field(description="confidence less 0.05 per day waited: the queue order")
    submitted_at: str
    status: str
    contested: bool
    contest_reason: str


class QueueOut(BaseModel):
    items: list[QueueItem]


class SuggestionIn(BaseModel):
    dimension: str
    text: str = Field(max_length=2000)


class ReviewIn(BaseModel):
    action: Literal["accept", "edit", "reject"]
    scores: dict[str, int] = Field(default_factory=dict, description="维度 → 1–5（edit 时）")
    summary: str | None = Field(None, max_length=2000, description="修改后的总体评语")
    suggestions: list[str] | None = Field(
        None, description="修改后的建议文字，顺序与草稿中的建议一一对应"
    )
    extra_suggestion: str = Field("", max_length=2000, description="培训者补充的建议（可选）")
    comment: str = Field("", max_length=2000, description="审核意见；退回时必填")


class ReviewOut(BaseModel):
    diagnosis_id: int
    review_id: int
    decision: str
    status: str
    status_label: str


class ContestIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="申诉理由")


class ContestOut(BaseModel):
    diagnosis_id: int
    status: str
    status_label: str


class JobStarted(BaseModel):
    job_id: int
    url: str


def _record_out(session: Session, record: PracticeRecord, diagnosis: Diagnosis | None) -> RecordOut:
    teacher = session.get(User, record.teacher_id)
    status = diagnosis.status if diagnosis else None
    return RecordOut(
        id=record.id, title=record.title, kind=record.kind.value, kind_label=KIND_LABELS[record.kind],
        teacher=teacher.username if teacher else "", submitted_at=record.created_at.isoformat(),
        status=status.value if status else "", status_label=status_label(status),
        diagnosis_id=diagnosis.id if diagnosis else None,
    )  # fmt: skip


@api.post(
    "/practice",
    tags=["practice"],
    status_code=201,
    response_model=PracticeCreated,
    responses={
        413: {"description": "文件超过 2 MB"},
        422: {"description": "无法解析：detail 含 message 与 line"},
    },
    form_limits=FORM_LIMITS,
    max_body_size=BODY_LIMIT,
)
def api_upload(
    request: Request,
    kind: Literal["transcript", "lesson_plan"] = Form(..., description="transcript | lesson_plan"),
    title: str = Form("", max_length=200),
    text: str = Form("", description="粘贴的文本（不上传文件时）"),
    file: UploadFile | None = File(
        None, description="txt/docx/json/srt/vtt（实录）或 txt/md/docx（教案），≤ 2 MB"
    ),
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> PracticeCreated:
    """Upload a classroom transcript or a lesson plan (multipart) as the logged-in teacher.

    The record is parsed, analysed and scored at once; the AI draft waits for a trainer's
    review and is not returned. A file that cannot be used is refused with 422 and
    ``{"detail": {"message": "第3行：…", "line": 3}}``; nothing is stored.
    """
    try:
        record, diagnosis = _submit(
            request, session, me, kind=kind, title=title, file=file, text=text
        )
    except UploadRefused as refused:
        raise HTTPException(
            refused.status,
            detail=UploadErrorOut(message=refused.message, line=refused.line).model_dump(),
        ) from None
    return PracticeCreated(
        id=record.id, diagnosis_id=diagnosis.id, status=diagnosis.status.value,
        status_label=status_label(diagnosis.status), kind=record.kind.value, title=record.title,
        url=f"/practice/{record.id}",
    )  # fmt: skip


@api.get("/practice", tags=["practice"], response_model=RecordList)
def api_records(
    teacher: str | None = Query(None, description="培训者/管理员：教师用户名或 id"),
    me: AuthUser = Depends(VIEWERS),
    session: Session = Depends(get_db, scope="function"),
) -> RecordList:
    """Practice records: a teacher gets their own; a trainer or admin gets the records of
    teachers in their region, or of one teacher with ``?teacher=`` (403 outside the region)."""
    if me.role == Role.TEACHER:
        rows = teacher_records(session, me.id)
    elif teacher:
        found = session.scalar(
            select(User).where(User.username == teacher)
            if not teacher.isdigit()
            else select(User).where(User.id == int(teacher))
        )
        if found is None or found.role != Role.TEACHER:
            raise HTTPException(404, detail=f"没有教师“{teacher}”")
        Scope.for_user(session, me).require(session, found)
        rows = teacher_records(session, found.id)
    else:
        rows = records_in_scope(session, _db_user(session, me))
    return RecordList(records=[_record_out(session, r, d) for r, d in rows])


@api.get("/practice/{record_id}", tags=["practice"], response_model=RecordDetail)
def api_record(
    record_id: int,
    me: AuthUser = Depends(VIEWERS),
    session: Session = Depends(get_db, scope="function"),
) -> RecordDetail:
    """One record and its status. The owner teacher gets the reviewed diagnosis once a trainer
    accepted or edited it (never the AI draft); a reviewer in scope also gets the full draft."""
    record = _load_record(session, record_id, me)
    diagnosis = latest_diagnosis(session, record.id)
    out = _record_out(session, record, diagnosis)
    reviewed = draft = None
    history: list[dict[str, Any]] = []
    if diagnosis is not None:
        if diagnosis.status in VISIBLE_TO_TEACHER:
            reviewed = reviewed_view(session, diagnosis)
        teacher = session.get(User, record.teacher_id)
        if (
            me.role != Role.TEACHER
            and teacher is not None
            and can_review(session, _db_user(session, me), teacher)
        ):
            draft = draft_view(diagnosis)
        history = [h | {"at": h["at"].isoformat()} for h in review_history(session, diagnosis.id)]
    return RecordDetail(
        **out.model_dump(), filename=record.filename, text=record.text, diagnosis=reviewed,
        rejection_comment=rejection_comment(session, diagnosis) if diagnosis else "",
        draft=draft, history=history,
    )  # fmt: skip


@api.post("/practice/{record_id}/contest", tags=["practice"], response_model=ContestOut)
def api_contest(
    record_id: int,
    body: ContestIn,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> ContestOut:
    """The owner teacher contests the reviewed diagnosis of a record; it returns to the queue."""
    record = _load_record(session, record_id, me)
    diagnosis = latest_diagnosis(session, record.id)
    if diagnosis is None:
        raise HTTPException(404, detail="这份记录还没有诊断。")
    try:
        contest_diagnosis(
            session, diagnosis_id=diagnosis.id, teacher=_db_user(session, me), comment=body.reason
        )
    except ReviewError as err:
        raise HTTPException(409, detail=str(err)) from None
    return ContestOut(
        diagnosis_id=diagnosis.id,
        status=diagnosis.status.value,
        status_label=status_label(diagnosis.status),
    )


@api.get("/review/queue", tags=["practice"], response_model=QueueOut)
def api_queue(
    me: AuthUser = Depends(REVIEWERS), session: Session = Depends(get_db, scope="function")
) -> QueueOut:
    """Diagnoses waiting for this trainer or admin (their region): contested ones first (with
    the teacher's reason), then by urgency, the AI's confidence less 0.05 per day waited."""
    items = [
        QueueItem(
            diagnosis_id=e["diagnosis"].id,
            record_id=e["record"].id,
            title=e["record"].title,
            kind=e["record"].kind.value,
            teacher=e["teacher"].username,
            teacher_name=e["teacher"].display_name,
            school=e["school"],
            confidence=e["diagnosis"].confidence,
            urgency=e["urgency"],
            submitted_at=e["record"].created_at.isoformat(),
            status=e["diagnosis"].status.value,
            contested=e["contested"],
            contest_reason=e["contest_reason"],
        )  # fmt: skip
        for e in queue_entries(session, reviewer=_db_user(session, me))
    ]
    return QueueOut(items=items)


@api.post("/review/rescore", tags=["practice"], status_code=202, response_model=JobStarted)
def api_rescore(request: Request, me: AuthUser = Depends(REVIEWERS)) -> JobStarted:
    """Re-score every pending draft in scope with the current model, as a background job."""
    job = start_rescore(request, me)
    return JobStarted(job_id=job.id, url=f"/jobs/{job.id}")


@api.post("/review/{diagnosis_id}", tags=["practice"], response_model=ReviewOut)
def api_review(
    request: Request,
    diagnosis_id: int,
    body: ReviewIn,
    me: AuthUser = Depends(REVIEWERS),
    session: Session = Depends(get_db, scope="function"),
) -> ReviewOut:
    """Accept, edit (scores 1–5, summary, suggestion texts) or reject a diagnosis in the queue.

    Each decision is an append-only review row and an audit entry; rejecting needs a comment.
    409 when the diagnosis is not waiting for review, 422 for invalid scores or texts.
    """
    diagnosis, reviewer = _load_for_review(session, diagnosis_id, me)
    unknown = [d for d in body.scores if d not in diagnosis.scores]
    if unknown:
        raise HTTPException(422, detail=f"没有维度“{'、'.join(unknown)}”")
    if any(not 1 <= s <= 5 for s in body.scores.values()):
        raise HTTPException(422, detail="分数须在 1–5 之间")
    try:
        decision, scores, report = plan_review(
            diagnosis, body.action, body.scores, body.summary, body.suggestions,
            body.extra_suggestion,
        )  # fmt: skip
        row = review_from_queue(
            session, diagnosis_id=diagnosis.id, reviewer=reviewer, decision=decision,
            scores=scores, report=report, comment=body.comment,
            find_resources=resource_finder(request, session),
        )  # fmt: skip
    except ReviewError as err:
        status = 409 if not in_queue(diagnosis) else 422
        raise HTTPException(status, detail=str(err)) from None
    return ReviewOut(
        diagnosis_id=diagnosis.id, review_id=row.id, decision=row.decision.value,
        status=diagnosis.status.value, status_label=status_label(diagnosis.status),
    )  # fmt: skip
