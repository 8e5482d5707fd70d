"""账号：每个人修改自己的密码；管理员创建员工账号、重置密码（只显示一次）、停用与恢复。

Domain rules live in :mod:`yanxiu.accounts.manage` and :mod:`yanxiu.accounts.passwords`. A
user whose password was set by someone else is sent to ``/account/password`` by the session
middleware until they change it (:func:`yanxiu.web.security.must_change_response`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.accounts.manage import (
    ROLE_NAMES,
    STAFF_ROLES,
    change_password,
    create_account,
    regions_in_scope,
    reset_password,
    set_active,
    staff_accounts,
)
from yanxiu.accounts.models import Role
from yanxiu.accounts.passwords import MIN_LENGTH, RULES_TEXT
from yanxiu.errors import Conflict, Invalid
from yanxiu.web.auth import safe_next
from yanxiu.web.deps import AdminUser, CurrentUser, ScopeDep, SessionDep
from yanxiu.web.pages import HOME_BY_ROLE, flash, render
from yanxiu.web.security import begin_session

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

Text = Annotated[str, Form(max_length=128)]


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, me: CurrentUser) -> HTMLResponse:
    return render(request, "account/password.html", _password_context(me))


def _password_context(
    me: CurrentUser, errors: dict[str, str] | None = None, message: str = ""
) -> dict:
    return {"must_change": me.must_change_password, "rules": RULES_TEXT, "min_length": MIN_LENGTH,
            "errors": errors or {}, "error": message}  # fmt: skip


@router.post("/account/password", response_class=HTMLResponse)
def password_change(
    request: Request, me: CurrentUser, db: SessionDep, current: Text = "", password: Text = "",
    confirm: Text = "",
) -> Response:  # fmt: skip
    try:
        user = change_password(db, user_id=me.id, current=current, new=password, confirm=confirm)
    except Invalid as exc:
        context = _password_context(me, exc.fields, exc.message)
        return render(request, "account/password.html", context, status_code=422)
    # this session goes on under the new password; every other session of the user ends
    begin_session(request, db, user.id)
    flash(request, "密码已修改。其他设备上的登录已失效，需要用新密码重新登录。")
    return RedirectResponse(HOME_BY_ROLE.get(me.role, "/"), status_code=303)


# ------------------------------------------------------------------------ admin: accounts


@router.get("/admin/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, _: AdminUser, scope: ScopeDep, db: SessionDep) -> HTMLResponse:
    return render(request, "admin/accounts.html", {
        "accounts": staff_accounts(db, scope), "regions": regions_in_scope(db, scope),
        "roles": [(r.value, ROLE_NAMES[r]) for r in STAFF_ROLES], "rules": RULES_TEXT,
    })  # fmt: skip


@router.post("/admin/accounts", response_class=HTMLResponse)
def account_create(
    request: Request, me: AdminUser, scope: ScopeDep, db: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "", display_name: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "", region_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:  # fmt: skip
    try:
        wanted = Role(role) if role in {r.value for r in STAFF_ROLES} else None
        if wanted is None:
            raise Invalid("请选择角色：培训者、工作室主持人或管理员。", fields={"role": "必选"})
        made = create_account(db, actor_id=me.id, scope=scope, username=username, display_name=display_name,
                              role=wanted, region_id=int(region_id) if region_id.isdigit() else None)  # fmt: skip
    except (Invalid, Conflict) as exc:
        flash(request, exc.message, "error")
        return RedirectResponse("/admin/accounts", status_code=303)
    return _password_once(request, made.username, made.password or "", created=True)


def _password_once(
    request: Request, username: str, password: str, *, created: bool
) -> HTMLResponse:
    """The one-time password, shown on this response only (never stored in clear, not cached)."""
    response = render(request, "admin/password_once.html",
                      {"username": username, "password": password, "created": created})  # fmt: skip
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/admin/accounts/{user_id}/reset-password", response_class=HTMLResponse)
def account_reset(
    request: Request, user_id: int, me: AdminUser, scope: ScopeDep, db: SessionDep
) -> Response:
    try:
        made = reset_password(db, actor_id=me.id, scope=scope, user_id=user_id)
    except Invalid as exc:
        flash(request, exc.message, "error")
        return RedirectResponse("/admin/accounts", status_code=303)
    return _password_once(request, made.username, made.password or "", created=False)


@router.post("/admin/accounts/{user_id}/deactivate")
def account_deactivate(
    request: Request, user_id: int, me: AdminUser, scope: ScopeDep, db: SessionDep,
    next: Annotated[str, Form(max_length=512)] = "/admin/accounts",
) -> Response:  # fmt: skip
    return _set_active(request, user_id, me, scope, db, next, active=False)


@router.post("/admin/accounts/{user_id}/reactivate")
def account_reactivate(
    request: Request, user_id: int, me: AdminUser, scope: ScopeDep, db: SessionDep,
    next: Annotated[str, Form(max_length=512)] = "/admin/accounts",
) -> Response:  # fmt: skip
    return _set_active(request, user_id, me, scope, db, next, active=True)


def _set_active(
    request: Request, user_id: int, me: AdminUser, scope: ScopeDep, db: SessionDep, next: str, *, active: bool
) -> Response:  # fmt: skip
    try:
        user = set_active(db, actor_id=me.id, scope=scope, user_id=user_id, active=active)
        flash(
            request,
            f"账号“{user.username}”已{'恢复' if active else '停用（无法再登录，已登录的会话立即失效）'}。",
        )
    except Invalid as exc:
        flash(request, exc.message, "error")
    return RedirectResponse(safe_next(next, "/admin/accounts"), status_code=303)
