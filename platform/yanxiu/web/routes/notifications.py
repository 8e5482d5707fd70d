"""消息通知：every user's inbox (诊断审核、申诉处理、培训项目、活动提醒、工作室推送) with the unread count."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.notifications.service import mark_all_read, mark_read
from yanxiu.reports.inbox import inbox_page
from yanxiu.web.auth import safe_next
from yanxiu.web.deps import CurrentUser, SessionDep
from yanxiu.web.pages import render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request,
    me: CurrentUser,
    db: SessionDep,
    page: int = Query(1, ge=1, le=10_000),
    unread: bool = Query(False),
) -> HTMLResponse:
    view = inbox_page(
        db, user_id=me.id, role=me.role, now=datetime.now(UTC), page=page, unread_only=unread
    )
    return render_view(request, "notifications/index.html", view, kind_label=view.kind_label)


@router.post("/notifications/{notification_id}/open")
def open_notification(notification_id: int, me: CurrentUser, db: SessionDep) -> Response:
    """Mark it read and go where it points."""
    item = mark_read(db, me.id, notification_id)
    return RedirectResponse(safe_next(item.link, "/notifications"), status_code=303)


@router.post("/notifications/read-all")
def read_all(me: CurrentUser, db: SessionDep) -> Response:
    mark_all_read(db, me.id)
    return RedirectResponse("/notifications", status_code=303)


@api.get("/me/notifications", tags=["notifications"])
def notifications_api(
    me: CurrentUser,
    db: SessionDep,
    page: int = Query(1, ge=1, le=10_000),
    unread: bool = Query(False, description="只返回未读"),
) -> dict[str, Any]:
    """The logged-in user's notifications, newest first, 20 a page, with the unread count."""
    view = inbox_page(
        db, user_id=me.id, role=me.role, now=datetime.now(UTC), page=page, unread_only=unread
    )
    return {
        "unread": view.unread, "page": view.page, "pages": view.pages, "total": view.total,
        "items": [
            {"id": n.id, "kind": n.kind.value, "title": n.title, "body": n.body, "link": n.link,
             "created_at": n.created_at.isoformat(), "read": n.read_at is not None}
            for n in view.items
        ],
    }  # fmt: skip


@api.post("/me/notifications/{notification_id}/read", tags=["notifications"])
def read_api(notification_id: int, me: CurrentUser, db: SessionDep) -> dict[str, object]:
    """Mark one of the logged-in user's notifications read."""
    item = mark_read(db, me.id, notification_id)
    return {"id": item.id, "read": True}
