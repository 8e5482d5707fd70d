"""学习单元与测验：单元页、媒体文件（支持 Range 请求）、学习进度上报、课程测验。

Study is recorded by the server (:mod:`yanxiu.learning.studying`): the unit page's script
(web/static/js/study.js) reports that a text or PDF unit was opened and read to its end, and
where a video or audio is playing every few seconds; the server counts only what real time
allows. Media are read from ``var/media`` and sent with HTTP range support (Starlette's
FileResponse answers ``Range`` with 206), for the enrolled teacher and for staff.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.catalog.models import UnitKind
from yanxiu.errors import Conflict, Invalid
from yanxiu.learning.studying import (
    StudyReport,
    opened,
    played,
    quiz_paper,
    read_to_end,
    start_quiz,
    submit_quiz,
    unit_media,
    unit_page,
)
from yanxiu.web.deps import CurrentUser, ServicesDep, SessionDep, TeacherUser
from yanxiu.web.headers import DOCUMENT_PAGE_POLICY, EMBEDDABLE_MEDIA_HEADERS
from yanxiu.web.pages import flash, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@router.get("/courses/{code}/units/{unit_id}", response_class=HTMLResponse)
def unit(
    request: Request, code: str, unit_id: int, me: CurrentUser, db: SessionDep,
    services: ServicesDep,
) -> Response:  # fmt: skip
    page = unit_page(db, services.policy, code, unit_id, me)
    response = render_view(request, "courses/unit.html", page, me=me)
    if page.unit.kind == UnitKind.DOCUMENT:  # the PDF is shown in the page
        response.headers["content-security-policy"] = DOCUMENT_PAGE_POLICY
    return response


@router.get("/courses/{code}/units/{unit_id}/media")
def media(
    code: str, unit_id: int, me: CurrentUser, db: SessionDep, services: ServicesDep
) -> Response:
    settings = services.settings
    path, media_type = unit_media(
        db, code, unit_id, me, media_dir=settings.data_dir / "media",
        source_dir=settings.content_dir / "lessons" / "media",
    )  # fmt: skip
    # private: only this user may keep a copy; the file name is the content hash
    # (and it may be shown inside this site's unit page, see headers.py)
    headers = {"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"}
    headers |= EMBEDDABLE_MEDIA_HEADERS
    return FileResponse(path, media_type=media_type, headers=headers)


# -- the player's and the reader's reports (JSON, sent by study.js) ---------------------------


class PositionIn(BaseModel):
    position: float = Field(ge=0, le=6 * 3600, description="Seconds into the media")


class StudyOut(BaseModel):
    unit_percent: int
    unit_completed: bool
    course_percent: int
    course_completed: bool = Field(description="This report completed and credited the course")
    frontier: float | None = Field(None, description="Seconds counted as played (media)")
    refused: bool = Field(False, description="A jump ahead or faster than real time: not counted")
    message: str = ""

    @classmethod
    def of(cls, r: StudyReport) -> StudyOut:
        return cls(
            unit_percent=r.unit_percent, unit_completed=r.unit_completed,
            course_percent=r.course_percent, course_completed=r.course_completed,
            frontier=r.frontier, refused=r.refused, message=r.message,
        )  # fmt: skip


@api.post("/courses/{code}/units/{unit_id}/opened", tags=["study"], status_code=204)
def api_opened(code: str, unit_id: int, me: TeacherUser, db: SessionDep) -> Response:
    """The unit's page was shown to the enrolled teacher (a text or PDF unit starts here)."""
    opened(db, teacher_id=me.id, code=code, unit_id=unit_id)
    return Response(status_code=204)


@api.post("/courses/{code}/units/{unit_id}/end", tags=["study"])
def api_end(
    code: str, unit_id: int, me: TeacherUser, db: SessionDep, services: ServicesDep
) -> StudyOut:
    """The end of a text or PDF unit came into view: the unit is complete (if opened first)."""
    report = read_to_end(db, policy=services.policy, teacher_id=me.id, code=code, unit_id=unit_id)
    return StudyOut.of(report)


@api.post("/courses/{code}/units/{unit_id}/position", tags=["study"])
def api_position(
    code: str, unit_id: int, body: PositionIn, me: TeacherUser, db: SessionDep,
    services: ServicesDep,
) -> StudyOut:  # fmt: skip
    """Where the video or audio is now. Counted only as far as real time since the previous
    report allows, and only when playing on from what was already watched."""
    report = played(db, policy=services.policy, teacher_id=me.id, code=code, unit_id=unit_id,
                    position=body.position)  # fmt: skip
    return StudyOut.of(report)


# -- the quiz -------------------------------------------------------------------------------


@router.post("/courses/{code}/quiz")
def quiz_start(
    request: Request, code: str, me: TeacherUser, db: SessionDep, services: ServicesDep
) -> Response:
    try:
        attempt_id = start_quiz(db, policy=services.policy, teacher_id=me.id, code=code)
    except Conflict as refused:
        flash(request, refused.message, "error")
        return RedirectResponse(f"/courses/{code}", status_code=303)
    return RedirectResponse(f"/courses/{code}/quiz/{attempt_id}", status_code=303)


@router.get("/courses/{code}/quiz/{attempt_id}", response_class=HTMLResponse)
def quiz_page(
    request: Request, code: str, attempt_id: int, me: TeacherUser, db: SessionDep,
    services: ServicesDep,
) -> Response:  # fmt: skip
    try:
        paper = quiz_paper(db, policy=services.policy, teacher_id=me.id, code=code,
                           attempt_id=attempt_id)  # fmt: skip
    except Conflict as refused:
        flash(request, refused.message, "warn")
        return RedirectResponse(f"/courses/{code}", status_code=303)
    return render_view(request, "courses/quiz.html", paper, me=me)


async def _form_fields(request: Request) -> list[tuple[str, str]]:
    """Every (name, value) of the posted form: a multiple-choice question sends several."""
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


@router.post("/courses/{code}/quiz/{attempt_id}")
def quiz_submit(
    request: Request, code: str, attempt_id: int, me: TeacherUser, db: SessionDep,
    services: ServicesDep, fields: Annotated[list[tuple[str, str]], Depends(_form_fields)],
) -> Response:  # fmt: skip
    try:
        notices = submit_quiz(db, policy=services.policy, teacher_id=me.id, code=code,
                              attempt_id=attempt_id, fields=fields)  # fmt: skip
    except (Conflict, Invalid) as refused:
        flash(request, refused.message, "error")
    else:
        for notice in notices:
            flash(request, notice.text, notice.kind)
    return RedirectResponse(f"/courses/{code}", status_code=303)
