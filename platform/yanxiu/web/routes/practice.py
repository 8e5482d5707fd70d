"""教学实践：上传课堂实录或教案、状态、已审核的诊断（S-T 图、FIAS 热力图、量规雷达图）、申诉。

Who sees what (PIPL art. 24: no purely automated decision reaches a teacher):

- a teacher uploads records and sees their status; the diagnosis only once a trainer accepted
  or edited it, in its reviewed form, and may contest it;
- a trainer or admin sees the records of the teachers in their scope, and the full AI draft of
  those they may review (the review queue and page: :mod:`yanxiu.web.routes.review`);
- everyone else gets 403 (pages and API alike).

Pages and answers are assembled by :mod:`yanxiu.practice.workspace` and
:mod:`yanxiu.practice.upload`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, TypedDict

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.accounts.models import Role
from yanxiu.errors import Conflict, Invalid
from yanxiu.practice.compare import compare_lessons, compare_picker, trend_page
from yanxiu.practice.service import ReviewError
from yanxiu.practice.speakers import parse_speaker_map
from yanxiu.practice.upload import (
    BODY_LIMIT,
    SpeakersToMap,
    Submitted,
    UploadForm,
    UploadRefused,
    mapping_preview,
    speaker_map_from_form,
    upload_record,
)
from yanxiu.practice.workspace import (
    contest_confirmation,
    contest_record,
    practice_index,
    record_detail,
    record_page,
    record_rows,
)
from yanxiu.services import Services
from yanxiu.web.deps import PathReader, ScopeDep, ServicesDep, SessionDep, TeacherUser
from yanxiu.web.errors import status_of
from yanxiu.web.pages import flash, local_time, render_view
from yanxiu.web.schemas.practice import (
    ContestIn,
    ContestOut,
    PracticeCreated,
    RecordDetail,
    RecordList,
    RecordOut,
    UploadErrorOut,
)

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


class FormLimits(TypedDict, total=False):  # FastAPI's form_limits (its own type is private)
    max_fields: int
    max_files: int
    max_part_size: int


# multipart parsing: a text field may carry a whole pasted transcript (see yanxiu.practice.upload)
FORM_LIMITS: FormLimits = {"max_part_size": BODY_LIMIT, "max_files": 2, "max_fields": 20}


def _upload(
    db: SessionDep, services: Services, teacher_id: int, *, kind: str, title: str,
    file: UploadFile | None, text: str, pending: str = "", pending_name: str = "",
    speaker_map: dict[str, str] | None = None,
) -> Submitted:  # fmt: skip
    """Parse, score and store an upload (UploadRefused, nothing stored, if it is unusable)."""
    return upload_record(
        db, teacher_id=teacher_id, kind=kind, title=title, text=text,
        filename=file.filename if file is not None else None,
        stream=file.file if file is not None else None,
        today=local_time(datetime.now(UTC), "%Y-%m-%d"),
        find_resources=services.resource_finder(db), calibration=services.calibration(),
        pending=pending, pending_name=pending_name, speaker_map=speaker_map,
    )  # fmt: skip


# ---------------------------------------------------------------- pages


@router.get("/practice", response_class=HTMLResponse)
def practice_home(request: Request, me: TeacherUser, db: SessionDep) -> HTMLResponse:
    return render_view(request, "practice/index.html", practice_index(db, me.id), me=me)


@router.post(
    "/practice", response_class=HTMLResponse, form_limits=FORM_LIMITS, max_body_size=BODY_LIMIT
)
def practice_upload(
    request: Request,
    me: TeacherUser,
    db: SessionDep,
    services: ServicesDep,
    kind: str = Form("transcript", max_length=20),
    title: str = Form("", max_length=200),
    text: str = Form(""),
    file: UploadFile | None = File(None),
    pending: str = Form(""),
    pending_name: str = Form("", max_length=255),
    speaker: list[str] = Form([]),
    role: list[str] = Form([]),
    name: list[str] = Form([]),
) -> Response:
    """Upload; a file whose speakers are not 师/生 comes back with the mapping step (200),
    and that form posts here again with the file (``pending``) and each speaker's role."""
    try:
        mapping = speaker_map_from_form(speaker, role, name) if speaker else None
        submitted = _upload(db, services, me.id, kind=kind, title=title, file=file, text=text,
                            pending=pending, pending_name=pending_name, speaker_map=mapping)  # fmt: skip
    except UploadRefused as refused:
        view = practice_index(db, me.id, UploadForm.refused(kind, title, text, refused))
        code = 200 if isinstance(refused, SpeakersToMap) else status_of(refused)
        return render_view(request, "practice/index.html", view, me=me, status_code=code)
    flash(request, "已提交。AI 已完成初步分析，诊断将在培训者审核后向您显示。")
    return RedirectResponse(f"/practice/{submitted.id}", status_code=303)


@router.post("/practice/speakers/preview", response_class=HTMLResponse)
def practice_speakers_preview(
    request: Request,
    me: TeacherUser,
    role: list[str] = Form([]),
    share: list[str] = Form([]),
) -> HTMLResponse:
    """The mapping step's live preview (htmx): who talks how much under the chosen roles."""
    preview = mapping_preview(role, share)
    return render_view(request, "practice/_speaker_preview.html", None, preview=preview, me=me)


@router.get("/practice/trend", response_class=HTMLResponse)
def practice_trend(
    request: Request,
    me: PathReader,
    scope: ScopeDep,
    db: SessionDep,
    teacher: int | None = Query(None, description="培训者/管理员：教师 id"),
) -> Response:
    """A teacher's reviewed rubric scores over their lessons (the teacher's own; a trainer or
    admin names a teacher in scope; without one, they choose from the lessons in scope)."""
    if teacher is None and scope.role != Role.TEACHER:
        return RedirectResponse("/practice/compare", status_code=303)
    view = trend_page(db, scope, teacher if teacher is not None else me.id)
    return render_view(request, "practice/trend.html", view, me=me)


@router.get("/practice/compare", response_class=HTMLResponse)
def practice_compare(
    request: Request,
    me: PathReader,
    scope: ScopeDep,
    db: SessionDep,
    a: int | None = Query(None),
    b: int | None = Query(None),
    teacher: int | None = Query(None),
) -> HTMLResponse:
    """Two lessons side by side; without ``a`` and ``b``, the choice of lessons. A lesson the
    viewer may not compare (a teacher's unreviewed one, a plan) comes back on the choice with
    the reason; one outside the scope is a 403."""
    comparison, error, status = None, "", 200
    if a is not None and b is not None:
        try:
            comparison = compare_lessons(db, scope, a, b)
        except (Invalid, Conflict) as err:
            error, status = err.message, status_of(err)
    picker = compare_picker(db, scope, teacher_id=teacher, error=error)
    return render_view(request, "practice/compare.html", picker, me=me, comparison=comparison,
                       chosen_a=a, chosen_b=b, status_code=status)  # fmt: skip


@router.get("/practice/{record_id}", response_class=HTMLResponse)
def practice_record(
    request: Request, record_id: int, me: PathReader, scope: ScopeDep, db: SessionDep
) -> HTMLResponse:
    return render_view(request, "practice/record.html", record_page(db, scope, record_id), me=me)


@router.get("/practice/{record_id}/contest", response_class=HTMLResponse)
def practice_contest_confirm(
    request: Request, record_id: int, me: TeacherUser, scope: ScopeDep, db: SessionDep
) -> Response:
    """The step before contesting: what happens and who will review it (no JavaScript)."""
    try:
        view = contest_confirmation(db, scope, record_id)
    except ReviewError as err:
        if status_of(err) != 409:
            raise
        flash(request, err.message, "error")
        return RedirectResponse(f"/practice/{record_id}", status_code=303)
    return render_view(request, "practice/contest.html", view, me=me)


@router.post("/practice/{record_id}/contest", response_class=HTMLResponse)
def practice_contest(
    request: Request,
    record_id: int,
    me: TeacherUser,
    scope: ScopeDep,
    db: SessionDep,
    reason: str = Form("", max_length=2000),
) -> Response:
    try:
        contest_record(db, scope, me, record_id, reason)
    except ReviewError as err:
        flash(request, err.message, "error")
    else:
        flash(request, "申诉已提交，培训者将重新审核这份诊断；审核前诊断仍在此显示，标为“申诉中”。")
    return RedirectResponse(f"/practice/{record_id}", status_code=303)


# ---------------------------------------------------------------- JSON API


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
    me: TeacherUser,
    db: SessionDep,
    services: ServicesDep,
    kind: Literal["transcript", "lesson_plan"] = Form(..., description="transcript | lesson_plan"),
    title: str = Form("", max_length=200),
    text: str = Form("", description="粘贴的文本（不上传文件时）"),
    file: UploadFile | None = File(
        None, description="txt/docx/json/srt/vtt（实录）或 txt/md/docx（教案），≤ 2 MB"
    ),
    speaker_map: str = Form(
        "", max_length=2000, description="说话人映射，如 SPEAKER_00=师,SPEAKER_01=生（转写导出时）"
    ),
) -> PracticeCreated:
    """Upload a classroom transcript or a lesson plan (multipart) as the logged-in teacher.

    The record is parsed, analysed and scored at once; the AI draft waits for a trainer's
    review and is not returned. A file that cannot be used is refused with 422 and
    ``{"detail": {"message": "第3行：…", "line": 3}}``; nothing is stored.
    """
    try:
        mapping = parse_speaker_map(speaker_map) if speaker_map.strip() else None
        submitted = _upload(db, services, me.id, kind=kind, title=title, file=file, text=text,
                            speaker_map=mapping)  # fmt: skip
    except UploadRefused as refused:
        detail = UploadErrorOut(message=refused.message, line=refused.line).model_dump()
        raise HTTPException(status_of(refused), detail=detail) from None
    except Invalid as invalid:  # a malformed --speaker-map style mapping
        raise HTTPException(422, detail={"message": invalid.message, "line": None}) from None
    return PracticeCreated(
        id=submitted.id, diagnosis_id=submitted.diagnosis_id, status=submitted.status,
        status_label=submitted.status_label, kind=submitted.kind, title=submitted.title,
        url=f"/practice/{submitted.id}",
    )  # fmt: skip


@api.get("/practice", tags=["practice"], response_model=RecordList)
def api_records(
    me: PathReader,
    scope: ScopeDep,
    db: SessionDep,
    teacher: str | None = Query(None, description="培训者/管理员：教师用户名或 id"),
) -> RecordList:
    """Practice records: a teacher gets their own; a trainer or admin gets the records of
    teachers in their region, or of one teacher with ``?teacher=`` (403 outside the region)."""
    rows = record_rows(db, scope, me, teacher=teacher)
    return RecordList(records=[RecordOut.model_validate(r) for r in rows])


@api.get("/practice/{record_id}", tags=["practice"], response_model=RecordDetail)
def api_record(record_id: int, _: PathReader, scope: ScopeDep, db: SessionDep) -> RecordDetail:
    """One record and its status. The owner teacher gets the reviewed diagnosis once a trainer
    accepted or edited it (never the AI draft); a reviewer in scope also gets the full draft."""
    return RecordDetail.model_validate(record_detail(db, scope, record_id))


@api.post("/practice/{record_id}/contest", tags=["practice"], response_model=ContestOut)
def api_contest(
    record_id: int, body: ContestIn, me: TeacherUser, scope: ScopeDep, db: SessionDep
) -> ContestOut:
    """The owner teacher contests the reviewed diagnosis of a record; it returns to the queue."""
    return ContestOut.model_validate(contest_record(db, scope, me, record_id, body.reason))
