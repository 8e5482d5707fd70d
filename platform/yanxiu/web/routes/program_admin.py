"""培训者：创建和编辑混合式研修项目（基本信息、面向对象、线上模块、线下活动、发布与截止报名）、
分配学员、更换签到码、项目报告与导出。

Thin: each handler parses the form, calls one service of :mod:`yanxiu.programs.editor` /
:mod:`yanxiu.programs.enrolment` (or a view of :mod:`yanxiu.reports.program_pages`) and
renders. A refused form comes back as typed with every problem beside its field (422).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.errors import Conflict, Invalid
from yanxiu.programs import editor, enrolment
from yanxiu.programs.checkin import regenerate_code
from yanxiu.reports.program_pages import (
    assign_view,
    editor_view,
    new_program_view,
    session_edit_view,
)
from yanxiu.reports.program_report import program_report, report_csv
from yanxiu.services import Services
from yanxiu.web.deps import ScopeDep, ServicesDep, SessionDep, TrainerUser
from yanxiu.web.pages import flash, is_htmx, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

Text200 = Annotated[str, Field(max_length=200)]


class ProgramFields(BaseModel):
    title: str = Field("", max_length=200)
    description: str = Field("", max_length=4000)
    category: str = Field("", max_length=32)
    starts_on: str = Field("", max_length=32)
    ends_on: str = Field("", max_length=32)
    region_id: str = Field("", max_length=12)
    stages: list[Annotated[str, Field(max_length=16)]] = Field([], max_length=10)
    subjects: list[Annotated[str, Field(max_length=16)]] = Field([], max_length=30)
    school_ids: list[Annotated[str, Field(max_length=12)]] = Field([], max_length=500)
    module_codes: list[Annotated[str, Field(max_length=32)]] = Field([], max_length=100)

    def form(self) -> editor.ProgramForm:
        return editor.ProgramForm(**self.model_dump())


class SessionFields(BaseModel):
    title: Text200 = ""
    location: Text200 = ""
    starts_at: str = Field("", max_length=32)
    ends_at: str = Field("", max_length=32)
    hours: str = Field("", max_length=12)
    capacity: str = Field("", max_length=12)
    category: str = Field("", max_length=32)

    def form(self) -> editor.SessionForm:
        return editor.SessionForm(**self.model_dump())


class CohortFields(BaseModel):
    stage: str = Field("", max_length=16)
    subject: str = Field("", max_length=16)
    school_id: str = Field("", max_length=12)
    weak_only: str = Field("", max_length=4)

    def cohort(self) -> enrolment.CohortFilter:
        school = int(self.school_id) if self.school_id.isdigit() else None
        return enrolment.CohortFilter(self.stage, self.subject, school, bool(self.weak_only))


def _secret(services: Services) -> str:
    return str(services.settings.secret_key.get_secret_value())


@router.get("/trainer/programs/new", response_class=HTMLResponse)
def new_program(request: Request, _: TrainerUser, scope: ScopeDep, db: SessionDep) -> Response:
    return render_view(request, "trainer/program_new.html", new_program_view(db, scope=scope))


@router.post("/trainer/programs")
def create_program(
    request: Request, _: TrainerUser, scope: ScopeDep, db: SessionDep,
    fields: Annotated[ProgramFields, Form()],
) -> Response:  # fmt: skip
    try:
        program = editor.create_program(db, scope=scope, form=fields.form())
    except Invalid as refused:
        view = new_program_view(db, scope=scope, form=fields.form(), errors=refused.fields)
        return render_view(request, "trainer/program_new.html", view, status_code=422)
    flash(request, f"项目「{program.title}」已创建（草稿）。请添加线下活动，然后发布。")
    return RedirectResponse(f"/trainer/programs/{program.id}/edit", status_code=303)


@router.get("/trainer/programs/{program_id}/edit", response_class=HTMLResponse)
def edit_program(
    request: Request, program_id: int, _: TrainerUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep,
) -> Response:  # fmt: skip
    view = editor_view(db, scope=scope, program_id=program_id, secret=_secret(services))
    return render_view(request, "trainer/program_edit.html", view)


@router.post("/trainer/programs/{program_id}/edit")
def update_program(
    request: Request, program_id: int, _: TrainerUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep, fields: Annotated[ProgramFields, Form()],
) -> Response:  # fmt: skip
    try:
        editor.update_program(db, scope=scope, program_id=program_id, form=fields.form())
    except Invalid as refused:
        view = editor_view(db, scope=scope, program_id=program_id, secret=_secret(services),
                           form=fields.form(), errors=refused.fields)  # fmt: skip
        return render_view(request, "trainer/program_edit.html", view, status_code=422)
    flash(request, "项目信息已保存。")
    return RedirectResponse(f"/trainer/programs/{program_id}/edit", status_code=303)


@router.post("/trainer/programs/{program_id}/status")
def set_status(
    request: Request, program_id: int, _: TrainerUser, scope: ScopeDep, db: SessionDep,
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:  # fmt: skip
    program = editor.set_status(db, scope=scope, program_id=program_id, status=status)
    flash(request, f"项目状态已改为「{editor.STATUS_LABELS[program.status]}」。")
    return RedirectResponse(f"/trainer/programs/{program_id}/edit", status_code=303)


@router.post("/trainer/programs/{program_id}/sessions")
def add_session(
    request: Request, program_id: int, _: TrainerUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep, fields: Annotated[SessionFields, Form()],
) -> Response:  # fmt: skip
    try:
        offline = editor.add_session(db, scope=scope, program_id=program_id, form=fields.form())
    except Invalid as refused:
        view = editor_view(db, scope=scope, program_id=program_id, secret=_secret(services),
                           session_form=fields.form(), session_errors=refused.fields)  # fmt: skip
        return render_view(request, "trainer/program_edit.html", view, status_code=422)
    flash(request, f"已添加线下活动「{offline.title}」。")
    return RedirectResponse(f"/trainer/programs/{program_id}/edit#sessions", status_code=303)


@router.get("/trainer/sessions/{session_id}/edit", response_class=HTMLResponse)
def edit_session(
    request: Request, session_id: int, _: TrainerUser, scope: ScopeDep, db: SessionDep
) -> Response:
    view = session_edit_view(db, scope=scope, session_id=session_id)
    return render_view(request, "trainer/session_edit.html", view)


@router.post("/trainer/sessions/{session_id}/edit")
def update_session(
    request: Request, session_id: int, _: TrainerUser, scope: ScopeDep, db: SessionDep,
    fields: Annotated[SessionFields, Form()],
) -> Response:  # fmt: skip
    try:
        offline = editor.update_session(db, scope=scope, session_id=session_id, form=fields.form())
    except Invalid as refused:
        view = session_edit_view(db, scope=scope, session_id=session_id, form=fields.form(),
                                 errors=refused.fields)  # fmt: skip
        return render_view(request, "trainer/session_edit.html", view, status_code=422)
    flash(request, f"线下活动「{offline.title}」已保存。")
    return RedirectResponse(
        f"/trainer/programs/{offline.program_id}/edit#sessions", status_code=303
    )


@router.post("/trainer/sessions/{session_id}/delete")
def delete_session(
    request: Request, session_id: int, _: TrainerUser, scope: ScopeDep, db: SessionDep
) -> Response:
    program_id = editor.delete_session(db, scope=scope, session_id=session_id)
    flash(request, "线下活动已删除。")
    return RedirectResponse(f"/trainer/programs/{program_id}/edit#sessions", status_code=303)


@router.post("/trainer/sessions/{session_id}/code")
def new_code(
    request: Request, session_id: int, _: TrainerUser, scope: ScopeDep, db: SessionDep
) -> Response:
    regenerate_code(db, scope=scope, session_id=session_id)
    flash(request, "已生成新的签到码，原签到码立即失效。请向学员出示新码。")
    return RedirectResponse(f"/trainer/sessions/{session_id}", status_code=303)


@router.get("/trainer/programs/{program_id}/assign", response_class=HTMLResponse)
def assign_page(
    request: Request, program_id: int, _: TrainerUser, scope: ScopeDep, db: SessionDep,
    q: Annotated[CohortFields, Query()],
) -> Response:  # fmt: skip
    view = assign_view(db, scope=scope, program_id=program_id, cohort=q.cohort())
    name = "trainer/_assign_preview.html" if is_htmx(request) else "trainer/program_assign.html"
    return render_view(request, name, view)


@router.post("/trainer/programs/{program_id}/assign")
def assign(
    request: Request, program_id: int, _: TrainerUser, scope: ScopeDep, db: SessionDep,
    fields: Annotated[CohortFields, Form()],
) -> Response:  # fmt: skip
    try:
        count = enrolment.assign_cohort(db, scope=scope, program_id=program_id,
                                        cohort=fields.cohort(), now=datetime.now(UTC))  # fmt: skip
    except (Invalid, Conflict) as refused:
        view = assign_view(db, scope=scope, program_id=program_id, cohort=fields.cohort(),
                           error=refused.message)  # fmt: skip
        status = 409 if isinstance(refused, Conflict) else 422
        return render_view(request, "trainer/program_assign.html", view, status_code=status)
    flash(request, f"已分配 {count} 名学员，并已在站内消息中通知他们。")
    return RedirectResponse(f"/trainer/programs/{program_id}", status_code=303)


@router.get("/trainer/programs/{program_id}/report", response_class=HTMLResponse)
def report_page(
    request: Request, program_id: int, _: TrainerUser, scope: ScopeDep, db: SessionDep
) -> Response:
    report = program_report(db, scope=scope, program_id=program_id)
    return render_view(request, "trainer/program_report.html", None, report=report)


@router.get("/trainer/programs/{program_id}/report.csv")
def report_export(program_id: int, me: TrainerUser, scope: ScopeDep, db: SessionDep) -> Response:
    csv = report_csv(db, scope=scope, program_id=program_id, actor_id=me.id)
    disposition = (
        f"attachment; filename=\"{csv.ascii_name}\"; filename*=UTF-8''{quote(csv.filename)}"
    )
    return Response(csv.body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition})  # fmt: skip
