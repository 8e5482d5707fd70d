"""教师：浏览面向自己的培训项目并报名。

A teacher sees the programmes they take part in and the published ones whose audience they
belong to (:mod:`yanxiu.programs.enrolment`); registering when the last place has just gone
answers 409 with a Chinese message (never 500), however many register at once.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.errors import Conflict
from yanxiu.programs.enrolment import register
from yanxiu.reports.program_pages import teacher_program_view, teacher_programs_view
from yanxiu.web.deps import SessionDep, TeacherUser
from yanxiu.web.pages import flash, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@router.get("/programs", response_class=HTMLResponse)
def programs_page(request: Request, me: TeacherUser, db: SessionDep) -> Response:
    view = teacher_programs_view(db, teacher_id=me.id, today=date.today())
    return render_view(request, "programs/list.html", view)


@router.get("/programs/{program_id}", response_class=HTMLResponse)
def program_page(request: Request, program_id: int, me: TeacherUser, db: SessionDep) -> Response:
    view = teacher_program_view(db, teacher_id=me.id, program_id=program_id, today=date.today())
    return render_view(request, "programs/detail.html", view)


@router.post("/programs/{program_id}/register")
def register_page(request: Request, program_id: int, me: TeacherUser, db: SessionDep) -> Response:
    try:
        done = register(db, teacher_id=me.id, program_id=program_id, today=date.today())
    except Conflict as refused:  # full or closed: the page again, saying why
        view = teacher_program_view(db, teacher_id=me.id, program_id=program_id,
                                    today=date.today())  # fmt: skip
        return render_view(request, "programs/detail.html", view, error=refused.message,
                           status_code=409)  # fmt: skip
    flash(request, done.message, "ok" if done.created else "warn")
    return RedirectResponse(f"/programs/{program_id}", status_code=303)


class RegistrationOut(BaseModel):
    program_id: int
    title: str
    created: bool = Field(description="False when the teacher was already registered")
    message: str


@api.post("/programs/{program_id}/register", tags=["programs"])
def api_register(program_id: int, me: TeacherUser, db: SessionDep) -> RegistrationOut:
    """Register for a programme open to the teacher; 409 with a Chinese message when it is
    full or closed, 404 when it is not open to them."""
    done = register(db, teacher_id=me.id, program_id=program_id, today=date.today())
    return RegistrationOut(
        program_id=done.program.id, title=done.program.title, created=done.created,
        message=done.message,
    )  # fmt: skip
