"""Server-side sessions, CSRF protection and login throttling for the web app.

The session cookie (signed with ``settings.secret_key`` by itsdangerous, HttpOnly, SameSite=Lax)
carries a random session id, ``sid``, and nothing about the user (a one-time notice for the
next page may ride along). Being logged in is a row of ``login_sessions`` keyed by the id's
hash (:mod:`yanxiu.accounts.sessions`): the middleware looks it up on each request, enforcing
the idle and absolute timeouts and the user's being active; logout deletes the row, so a copied
cookie is dead in every worker and after a restart. A login always gets a new id (no session
fixation).

CSRF: a synchronizer token derived from the session id (HMAC with the secret key, so nothing
needs storing and it changes at login). Any POST/PUT/PATCH/DELETE whose ``X-CSRF-Token`` header
or ``csrf_token`` form field does not equal it is answered 403, before the route runs.

Login throttles are shared by the workers too (:mod:`yanxiu.accounts.throttle`: the database,
or Redis when ``YANXIU_REDIS_URL`` is set).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import anyio
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup, escape
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yanxiu.accounts.models import Role
from yanxiu.accounts.sessions import (
    check_session,
    end_session,
    new_session_id,
    purge_expired,
    start_session,
)
from yanxiu.accounts.throttle import LoginThrottle, counter_store
from yanxiu.config import Settings
from yanxiu.db import session_scope

COOKIE_NAME = "yanxiu_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# A form field (e.g. a pasted transcript) may be this large when the CSRF check reads the form;
# bigger bodies are the upload routes' business (they answer 413 with a message).
MAX_FORM_FIELD_BYTES = 16 * 1024 * 1024
# Every route takes at most this much body unless it declares more (FastAPI's max_body_size on
# the route: the upload routes); the CSRF check reads no more than the route would accept.
DEFAULT_BODY_LIMIT = 1024 * 1024
CSRF_FAILED = "安全校验失败：请求缺少有效的 CSRF 令牌。请刷新页面后重试。"
TOO_LARGE = "提交的内容超过了服务器允许的大小，请压缩或拆分后重试。"
# What the cookie may carry besides the session id (anything else, e.g. an old cookie's uid,
# is dropped unread).
COOKIE_KEYS = frozenset({"sid", "flash"})


@dataclass(frozen=True)
class AuthUser:
    """The logged-in user, as routes see it (a detached snapshot, safe outside a DB session)."""

    id: int
    username: str
    display_name: str
    role: Role
    region_id: int | None
    school_id: int | None
    must_change_password: bool = False
    password_version: int = 0


def csrf_for(secret: str, sid: str) -> str:
    """The CSRF token of session ``sid``."""
    return hmac.new(secret.encode(), b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()


class SessionData:
    """The decoded session cookie of one request; routes change it, the middleware writes it."""

    def __init__(self, data: dict[str, Any] | None = None, *, secret: str = "") -> None:
        self.data: dict[str, Any] = {k: v for k, v in (data or {}).items() if k in COOKIE_KEYS}
        self.secret = secret or _FALLBACK_SECRET
        self.dirty = False

    @property
    def sid(self) -> str | None:
        sid = self.data.get("sid")
        return sid if isinstance(sid, str) and sid else None

    def csrf_token(self) -> str:
        """The session's CSRF token (the session id is created on first use)."""
        if self.sid is None:
            self.data["sid"] = new_session_id()
            self.dirty = True
        return csrf_for(self.secret, str(self.data["sid"]))

    def start(self, sid: str) -> None:
        """Carry the freshly logged-in session ``sid`` (a new id: no session fixation)."""
        self.data = {"sid": sid, **({"flash": self.data["flash"]} if "flash" in self.data else {})}
        self.dirty = True

    def clear(self) -> None:
        self.data = {}
        self.dirty = True


_FALLBACK_SECRET = secrets.token_urlsafe(32)  # only outside the middleware (never in the app)


class AuthState:
    """Authentication state of the app: the clock (tests move it) and the login throttle, whose
    counters live in the database or Redis (shared by every worker)."""

    def __init__(
        self,
        factory: sessionmaker[DbSession],
        *,
        redis_url: str = "",
        namespace: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        store = counter_store(factory, redis_url, namespace)
        self.throttle = LoginThrottle(store, self.now)

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:  # tests move time forward
        self._clock = clock

    def now(self) -> float:
        return self._clock()


def _load_user(
    factory: sessionmaker[DbSession], sid: str, now: float, idle: float, most: float
) -> AuthUser | None:
    with session_scope(factory) as session:
        active = check_session(session, sid, now=now, idle_seconds=idle, max_seconds=most)
        if active is None:
            return None
        return AuthUser(
            id=active.user_id,
            username=active.username,
            display_name=active.display_name,
            role=active.role,
            region_id=active.region_id,
            school_id=active.school_id,
            must_change_password=active.must_change_password,
            password_version=active.password_version,
        )


# While a user must change their password, only these paths answer (everything else leads to
# the change-password page): the page itself, logging out, and what every page loads.
PASSWORD_PAGE = "/account/password"
OPEN_WHILE_MUST_CHANGE = (PASSWORD_PAGE, "/logout", "/static/", "/api/v1/health")
MUST_CHANGE = "请先修改初始密码：管理员设置或重置的密码只能使用一次。"


def must_change_response(scope: Scope) -> Response | None:
    """The answer to a request from a user who must first change their password, or None."""
    path = str(scope.get("path", ""))
    if path.startswith(OPEN_WHILE_MUST_CHANGE):
        return None
    if wants_json(scope):
        return JSONResponse({"detail": MUST_CHANGE}, status_code=403)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    if headers.get("hx-request"):
        return Response(status_code=403, headers={"HX-Redirect": PASSWORD_PAGE})
    return Response(status_code=303, headers={"location": PASSWORD_PAGE})


def wants_json(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith("/api/")


class SessionMiddleware:
    """Reads and writes the session cookie, finds the session's user and checks CSRF tokens
    (pure ASGI)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        factory: sessionmaker[DbSession],
        state: AuthState,
    ) -> None:
        self.app = app
        self.settings = settings
        self.factory = factory
        self.state = state
        self.secret = settings.secret_key.get_secret_value()
        self.serializer = URLSafeSerializer(self.secret, salt="yanxiu.session")
        self.idle_seconds = settings.session_idle_minutes * 60
        self.max_seconds = settings.session_max_hours * 3600
        self.secure = settings.env == "production"

    # -- cookie
    def _decode(self, scope: Scope) -> dict[str, Any]:
        headers = dict((k.lower(), v) for k, v in scope.get("headers", []))
        raw = headers.get(b"cookie", b"").decode("latin-1")
        if not raw:
            return {}
        cookie = SimpleCookie()
        try:
            cookie.load(raw)
        except Exception:
            return {}
        morsel = cookie.get(COOKIE_NAME)
        if morsel is None:
            return {}
        try:
            data = self.serializer.loads(morsel.value)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def _cookie_header(self, session: SessionData) -> str:
        attrs = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
        if not session.data:
            return f"{COOKIE_NAME}=; Max-Age=0{attrs}"
        return f"{COOKIE_NAME}={self.serializer.dumps(session.data)}{attrs}"

    # -- ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = SessionData(self._decode(scope), secret=self.secret)
        user: AuthUser | None = None
        if session.sid is not None:
            user = await anyio.to_thread.run_sync(
                _load_user, self.factory, session.sid, self.state.now(), self.idle_seconds,
                self.max_seconds,
            )  # fmt: skip
        state = scope.setdefault("state", {})
        state["session"], state["user"], state["auth"] = session, user, self.state

        blocked = must_change_response(scope) if user and user.must_change_password else None

        if scope["method"] in UNSAFE_METHODS:
            try:
                ok, receive = await self._check_csrf(scope, receive, session)
            except BodyTooLarge:
                await self._refuse(scope, 413, TOO_LARGE)(scope, receive, send)
                return
            if not ok:
                await self._refuse(scope, 403, CSRF_FAILED)(scope, receive, send)
                return

        if blocked is not None:  # after the CSRF check: a forged POST still gets its 403
            await blocked(scope, receive, self._with_cookie(scope, session, send))
            return

        await self.app(scope, receive, self._with_cookie(scope, session, send))

    def _with_cookie(self, scope: Scope, session: SessionData, send: Send) -> Send:
        """``send``, adding the session cookie (when changed) to the response's headers, and
        no-store to a logged-in user's pages."""
        user = scope.get("state", {}).get("user")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if session.dirty:
                    headers.append("set-cookie", self._cookie_header(session))
                if user is not None and "cache-control" not in headers:
                    headers.append("cache-control", "no-store")  # a page for this session only
            await send(message)

        return send_with_cookie

    async def _check_csrf(
        self, scope: Scope, receive: Receive, session: SessionData
    ) -> tuple[bool, Receive]:
        expected = session.csrf_token() if session.sid is not None else None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        supplied = headers.get(CSRF_HEADER)
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if supplied is None and ctype in FORM_TYPES:
            # Read the body (no more than the route accepts), pick the form field, then replay
            # the body to the route.
            limit = route_body_limit(scope)
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge
            chunks: list[bytes] = []
            size, more = 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:  # a lying or absent Content-Length: stop at the limit
                    raise BodyTooLarge
                chunks.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            probe = Request(scope, replay)
            try:
                form = await probe.form(max_part_size=MAX_FORM_FIELD_BYTES)
                value = form.get(CSRF_FIELD)
                supplied = value if isinstance(value, str) else None
                await form.close()
            except Exception:
                supplied = None
            replayed = False
            receive = replay
        ok = (
            isinstance(expected, str)
            and isinstance(supplied, str)
            and hmac.compare_digest(expected.encode(), supplied.encode())
        )
        return ok, receive

    def _refuse(self, scope: Scope, status: int, reason: str) -> Response:
        if wants_json(scope):
            return JSONResponse({"detail": reason}, status_code=status)
        page = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            "<title>请求被拒绝 · 研修 Yanxiu</title></head><body><main>"
            f'<h1>请求被拒绝</h1><p role="alert">{escape(reason)}</p>'
            '<p><a href="/">返回首页</a></p></main></body></html>'
        )
        return HTMLResponse(page, status_code=status, headers={"connection": "close"})


class BodyTooLarge(Exception):
    """The request body is larger than its route accepts (answered 413 before reading on)."""


@dataclass(frozen=True)
class BodyLimit:
    """A route that accepts more body than the default (its FastAPI ``max_body_size``)."""

    methods: frozenset[str]
    path: re.Pattern[str]
    limit: int


def body_limits(routers: Iterable[Any]) -> list[BodyLimit]:
    """The routes of ``routers`` that declare their own body limit (read before inclusion)."""
    return [
        BodyLimit(frozenset(route.methods or ()), route.path_regex, int(route.max_body_size))
        for router in routers
        for route in router.routes
        if getattr(route, "max_body_size", None) is not None
    ]


def route_body_limit(scope: Scope) -> int:
    """The most body the route this request goes to accepts: its own limit, else
    :data:`DEFAULT_BODY_LIMIT` (the limits are kept on ``app.state.body_limits``)."""
    app = scope.get("app")
    limits: list[BodyLimit] = getattr(getattr(app, "state", None), "body_limits", [])
    for rule in limits:
        if scope.get("method") in rule.methods and rule.path.match(scope.get("path", "")):
            return rule.limit
    return DEFAULT_BODY_LIMIT


# -- template helpers (Jinja globals; they read the request from the template context)


def begin_session(request: Request, db: DbSession, user_id: int) -> None:
    """Log ``user_id`` in on this browser: a new server-side session (the current one, if
    any, ends) and a new id in the cookie (no session fixation)."""
    state: AuthState = request.app.state.auth
    session = session_of(request)
    if session.sid is not None:
        end_session(db, session.sid)
    # sessions nobody can use any more (idle or too old) are refused anyway: clear them out
    # now and then, here, rather than with a scheduled job
    settings = request.app.state.services.settings
    purge_expired(db, now=state.now(), idle_seconds=settings.session_idle_minutes * 60,
                  max_seconds=settings.session_max_hours * 3600)  # fmt: skip
    ip = request.client.host if request.client else ""
    session.start(start_session(db, user_id=user_id, now=state.now(), ip=ip))


def session_of(request: Request) -> SessionData:
    session = getattr(request.state, "session", None)
    if session is None:  # the middleware is not installed (should not happen in the app)
        session = SessionData()
        request.state.session = session
    return session


def csrf_token(request: Request) -> str:
    return session_of(request).csrf_token()


def csrf_input(request: Request) -> Markup:
    """A hidden form field carrying the CSRF token: ``{{ csrf_input() }}`` inside a <form>."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, csrf_token(request)
    )


def csrf_hx_headers(request: Request) -> Markup:
    """Value for ``<body hx-headers='…'>`` so every htmx request carries the token."""
    return Markup(escape(json.dumps({"X-CSRF-Token": csrf_token(request)})))
