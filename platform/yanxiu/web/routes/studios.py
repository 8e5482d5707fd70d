"""名师工作室（教师）：浏览与加入工作室、推送收件箱、阅读案例并标记学完。

Pages are assembled by :mod:`yanxiu.studios.views`; the host's console, publishing and the
push wizard are in :mod:`yanxiu.web.routes.studio_host`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.accounts.models import Role
from yanxiu.catalog.schema import STAGES
from yanxiu.studios import service, views
from yanxiu.web.deps import SessionDep, StudioReader, TeacherUser
from yanxiu.web.pages import flash, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

# -- pages


@router.get("/studios", response_class=HTMLResponse)
def studios_page(
    request: Request,
    me: StudioReader,
    db: SessionDep,
    stage: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    view = views.browse(db, me, stage=stage)
    return render_view(request, "studios/index.html", view, stages=STAGES,
                kind_labels=service.KIND_LABELS)  # fmt: skip


@router.get("/studios/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, me: TeacherUser, db: SessionDep) -> Response:
    return render_view(request, "studios/inbox.html", views.inbox(db, me.id))


@router.get("/studios/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, me: StudioReader, db: SessionDep) -> Response:
    return render_view(request, "studios/case.html", views.case_view(db, me, case_id))


@router.post("/studios/cases/{case_id}/opened")
def case_opened(case_id: int, me: TeacherUser, db: SessionDep) -> Response:
    """Sent by the case page once it is shown (htmx): a pushed delivery counts as read."""
    views.open_case(db, me, case_id)
    return Response(status_code=204)


@router.post("/studios/cases/{case_id}/complete")
def complete_case(request: Request, case_id: int, me: TeacherUser, db: SessionDep) -> Response:
    changed = views.complete_case(db, me, case_id)
    flash(request, "已标记为学完，感谢认真研读！" if changed else "这个案例您已经标记过学完。")
    return RedirectResponse(f"/studios/cases/{case_id}", status_code=303)


@router.get("/studios/{studio_id}", response_class=HTMLResponse)
def studio_page(request: Request, studio_id: int, me: StudioReader, db: SessionDep) -> Response:
    return render_view(request, "studios/studio.html", views.studio_page(db, me, studio_id))


@router.post("/studios/{studio_id}/join")
def join(request: Request, studio_id: int, me: TeacherUser, db: SessionDep) -> Response:
    joined = service.join_studio(db, studio_id=studio_id, teacher_id=me.id)
    flash(
        request,
        "已加入工作室，可以阅读工作室的全部案例了。" if joined else "您已经是该工作室成员。",
    )
    return RedirectResponse(f"/studios/{studio_id}", status_code=303)


# -- JSON API


class CaseRef(BaseModel):
    id: int
    title: str
    kind: str


class StudioOut(BaseModel):
    id: int
    code: str
    name: str
    stage: str
    subject: str
    description: str
    host: str
    host_school: str
    members: int
    cases: int
    joined: bool = Field(description="Whether the calling teacher is a member")
    recent_cases: list[CaseRef]


class StudiosOut(BaseModel):
    studios: list[StudioOut]


class InboxItemOut(BaseModel):
    delivery_id: int
    push_id: int
    case_id: int
    title: str
    kind: str = Field(description="transcript | lesson_plan | reflection")
    summary: str
    studio: str
    host: str
    note: str
    delivered_at: str
    opened_at: str | None
    completed_at: str | None
    unread: bool
    status: str = Field(description="未读 | 已读 | 已学完")


class InboxOut(BaseModel):
    unread: int = Field(description="Pushed cases not opened yet (the inbox badge)")
    items: list[InboxItemOut]


@api.get("/studios", tags=["studios"], response_model=StudiosOut)
def api_studios(
    me: StudioReader,
    db: SessionDep,
    stage: Annotated[str, Query(max_length=16, description="学段 filter")] = "",
    subject: Annotated[
        str, Query(max_length=16, description="学科 filter (通用 studios always match)")
    ] = "",
) -> dict[str, Any]:
    """Famous-teacher studios with host, member and case counts and the latest cases."""
    teacher_id = me.id if me.role == Role.TEACHER else None
    cards = service.list_studios(db, teacher_id=teacher_id, stage=stage, subject=subject)
    return {"studios": [c.as_dict() for c in cards]}


@api.get("/studios/inbox", tags=["studios"], response_model=InboxOut)
def api_inbox(me: TeacherUser, db: SessionDep) -> dict[str, Any]:
    """Cases pushed to the calling teacher, newest first, with the unread count."""
    return views.inbox(db, me.id).as_dict()
