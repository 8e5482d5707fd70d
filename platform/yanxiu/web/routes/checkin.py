"""线下活动签到：教师输入培训者现场公布的签到码，本场学时计入台账（只计一次）。

The page lists the teacher's offline sessions (:func:`yanxiu.programs.checkin.checkin_page`);
a code is checked by :func:`yanxiu.programs.checkin.check_in`. A refused code re-renders the
page with the reason beside the box (HTTP 400); an accepted one redirects with a flash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.errors import TooManyAttempts
from yanxiu.programs.checkin import CheckinError, CheckinResult, check_in, checkin_page
from yanxiu.web.deps import ServicesDep, SessionDep, TeacherUser
from yanxiu.web.errors import status_of
from yanxiu.web.pages import flash, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


def _check_in(db: SessionDep, services: ServicesDep, teacher_id: int, code: str) -> CheckinResult:
    return check_in(
        db, teacher_id=teacher_id, code=code, secret=services.settings.secret_key.get_secret_value(),
        policy=services.policy, now=datetime.now(UTC),
    )  # fmt: skip


@router.get("/checkin", response_class=HTMLResponse)
def checkin_form(request: Request, me: TeacherUser, db: SessionDep) -> Response:
    page = checkin_page(db, teacher_id=me.id, now=datetime.now(UTC))
    return render_view(request, "courses/checkin.html", page, me=me)


@router.post("/checkin", response_class=HTMLResponse)
def checkin_submit(
    request: Request, me: TeacherUser, db: SessionDep, services: ServicesDep,
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:  # fmt: skip
    try:
        result = _check_in(db, services, me.id, code)
    except (CheckinError, TooManyAttempts) as refused:
        page = checkin_page(db, teacher_id=me.id, now=datetime.now(UTC))
        return render_view(request, "courses/checkin.html", page, me=me, error=refused.message,
                           code=code, status_code=status_of(refused))  # fmt: skip
    flash(request, result.message, "ok" if result.newly_recorded else "warn")
    return RedirectResponse("/checkin", status_code=303)


# -- JSON API --------------------------------------------------------------------------------


class CheckinIn(BaseModel):
    code: str = Field(..., max_length=32, description="The six-digit code shown by the trainer")


class CheckinOut(BaseModel):
    session_id: int
    title: str
    starts_at: str
    status: str = Field(description="present or late")
    newly_recorded: bool
    credited_hours: float
    message: str


@api.post("/checkin", tags=["programs"])
def api_checkin(
    body: Annotated[CheckinIn, Body()], me: TeacherUser, db: SessionDep, services: ServicesDep
) -> CheckinOut:
    """Check in to an offline session with its code; the session's hours are credited once.

    400 with a Chinese message when the code is wrong, expired or not yet open; 429 after too
    many wrong codes (per teacher and per session, in the last ten minutes)."""
    result = _check_in(db, services, me.id, body.code)
    s = result.offline_session
    return CheckinOut(
        session_id=s.id, title=s.title, starts_at=s.starts_at.isoformat(),
        status=result.attendance.status.value, newly_recorded=result.newly_recorded,
        credited_hours=result.credited_hours if result.newly_recorded else 0.0,
        message=result.message,
    )  # fmt: skip
