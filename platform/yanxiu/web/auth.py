"""Login, logout and the route dependencies that decide which roles may use a route.

``install_auth(app, …)`` wires everything into the app: the session/CSRF middleware
(:mod:`yanxiu.web.security`), template helpers (``csrf_input()``, ``csrf_token()``,
``csrf_hx_headers()``, ``current_user()``), the "please log in" handler and the
``/login`` and ``/logout`` routes. Routes then declare who they serve::

    @app.get("/dashboard")
    def dashboard(user: AuthUser = Depends(require_role(Role.TEACHER))): ...

Not logged in: HTML routes redirect to ``/login?next=…``, routes under ``/api/`` answer 401
JSON. Logged in with the wrong role: 403. Which *people* a user may see is not decided here but
by :class:`yanxiu.accounts.scope.Scope`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from yanxiu import __version__
from yanxiu.accounts.login import authenticate, record_lockout, record_logout, record_throttled
from yanxiu.accounts.models import Role
from yanxiu.accounts.sessions import end_session
from yanxiu.config import Settings
from yanxiu.db import session_scope
from yanxiu.web.security import (
    DEFAULT_BODY_LIMIT,
    AuthState,
    AuthUser,
    SessionMiddleware,
    begin_session,
    csrf_hx_headers,
    csrf_input,
    csrf_token,
    session_of,
)

__all__ = [
    "AuthUser",
    "LoginRequired",
    "current_user",
    "install_auth",
    "require_role",
    "safe_next",
]

LOGIN_FAILED = "用户名或密码错误。"
LOGIN_THROTTLED = "登录失败次数过多，请 15 分钟后再试。"
LOGIN_REQUIRED = "未登录或登录已过期，请先登录。"
FORBIDDEN = "无权访问：您的账号不能查看此内容。"


class LoginRequired(Exception):
    """Raised by :func:`current_user` when nobody is logged in."""


def current_user(request: Request) -> AuthUser:
    """The logged-in user, or :class:`LoginRequired` (→ redirect to /login, or 401 for the API)."""
    user = getattr(request.state, "user", None)
    if user is None:
        raise LoginRequired()
    return user


def optional_user(request: Request) -> AuthUser | None:
    return getattr(request.state, "user", None)


def require_role(*roles: Role) -> Callable[..., AuthUser]:
    """A dependency: the logged-in user, who must have one of ``roles`` (else 403)."""
    allowed = frozenset(roles)

    def dependency(user: AuthUser = Depends(current_user)) -> AuthUser:
        if allowed and user.role not in allowed:
            raise HTTPException(403, detail=FORBIDDEN)
        return user

    return dependency


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a same-site relative path (``/…``), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def install_auth(
    app: FastAPI,
    *,
    settings: Settings,
    factory: sessionmaker[DbSession],
    templates: Jinja2Templates,
) -> AuthState:
    """Add sessions, CSRF, template helpers and the login/logout routes to ``app``."""
    namespace = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]  # one site's keys
    state = AuthState(factory, redis_url=settings.redis_url, namespace=namespace)
    app.state.auth = state
    app.add_middleware(SessionMiddleware, settings=settings, factory=factory, state=state)

    env = templates.env
    env.globals["csrf_token"] = pass_context(lambda ctx: csrf_token(ctx["request"]))
    env.globals["csrf_input"] = pass_context(lambda ctx: csrf_input(ctx["request"]))
    env.globals["csrf_hx_headers"] = pass_context(lambda ctx: csrf_hx_headers(ctx["request"]))
    env.globals["current_user"] = pass_context(lambda ctx: optional_user(ctx["request"]))

    async def login_required(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": LOGIN_REQUIRED}, status_code=401)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/login?next={quote(here, safe='')}"
        if request.headers.get("hx-request"):  # htmx: reload the whole page on the login form
            return Response(status_code=401, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)

    app.add_exception_handler(LoginRequired, login_required)

    def page(request: Request, *, status: int = 200, **context: Any) -> Response:
        context.setdefault("error", None)
        context.setdefault("username", "")
        context.setdefault("next", "/")
        return templates.TemplateResponse(
            request, "login.html", {"version": __version__, **context}, status_code=status
        )

    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    def login_form(request: Request, next: str = "/") -> Response:
        target = safe_next(next)
        if optional_user(request) is not None:
            return RedirectResponse(target, status_code=303)
        return page(request, next=target)

    @router.post("/login")
    def login(
        request: Request,
        username: str = Form("", max_length=64),
        password: str = Form("", max_length=1024),
        next: str = Form("/", max_length=2048),
    ) -> Response:
        target, username, ip = safe_next(next), username.strip(), _client_ip(request)
        throttle = state.throttle
        verdict = throttle.check(username, ip)
        if not verdict.allowed:
            if verdict.first_refusal:  # one audit row per lock-out, however many attempts
                with session_scope(factory) as db:
                    record_throttled(db, username=username, ip=ip)
            return page(request, status=429, error=LOGIN_THROTTLED, username=username, next=target)
        with session_scope(factory) as db:
            user = authenticate(db, username=username, password=password, ip=ip,
                                audit_unknown=lambda: throttle.first_unknown_in_window(ip))  # fmt: skip
            if user is not None:
                begin_session(request, db, user.id)
        if user is None:
            if throttle.record_failure(username, ip):
                with session_scope(factory) as db:
                    record_lockout(db, username=username, ip=ip)
            return page(request, status=401, error=LOGIN_FAILED, username=username, next=target)
        throttle.reset(username, ip)
        return RedirectResponse(target, status_code=303)

    @router.post("/logout")
    def logout(request: Request) -> Response:
        session = session_of(request)
        user = optional_user(request)
        with session_scope(factory) as db:
            if session.sid:
                end_session(db, session.sid)  # dead for every worker, and after a restart
            if user is not None:
                record_logout(db, user_id=user.id, ip=_client_ip(request))
        session.clear()
        return RedirectResponse("/login", status_code=303)

    app.include_router(router, max_body_size=DEFAULT_BODY_LIMIT)
    return state
