"""Signed session cookies, CSRF protection and login throttling for the web app.

Sessions live in one cookie, signed with ``settings.secret_key`` by itsdangerous (no server
store): ``sid`` (random, changes on every login, so a planted cookie is worthless after login),
``csrf`` (the session's CSRF token), and once logged in ``uid``, ``role``, ``iat`` (issued-at)
and ``seen`` (last-seen). The middleware enforces the idle and absolute timeouts, reloads the
user on each request (a deactivated user is logged out at once) and answers 403 to any
POST/PUT/PATCH/DELETE whose ``X-CSRF-Token`` header or ``csrf_token`` form field does not equal
the session's token (a synchronizer token kept in the signed, HttpOnly session cookie).

Per-process state (``AuthState``): the login throttle and the ids of sessions ended by logout.
Both are in memory; a deployment running several worker processes needs a shared store
(e.g. a database table or Redis) for them to hold across workers.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
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

from yanxiu.accounts.models import Role, User
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

# Login throttling (see LoginThrottle)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_IP = 20
THROTTLE_WINDOW_SECONDS = 15 * 60
THROTTLE_LOCK_SECONDS = 15 * 60


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


class SessionData:
    """The decoded session cookie of one request; routes change it, the middleware writes it."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = dict(data or {})
        self.dirty = False

    @property
    def user_id(self) -> int | None:
        uid = self.data.get("uid")
        return int(uid) if uid is not None else None

    def csrf_token(self) -> str:
        """The session's CSRF token, created (with the session) on first use."""
        if "csrf" not in self.data:
            self.data.setdefault("sid", secrets.token_urlsafe(18))
            self.data["csrf"] = secrets.token_urlsafe(32)
            self.dirty = True
        return str(self.data["csrf"])

    def start(self, user: User, now: float) -> None:
        """Log ``user`` in: a brand-new session id and CSRF token (no session fixation)."""
        self.data = {
            "sid": secrets.token_urlsafe(18),
            "csrf": secrets.token_urlsafe(32),
            "uid": user.id,
            "role": user.role.value,
            "pv": user.password_version or 0,
            "iat": now,
            "seen": now,
        }
        self.dirty = True

    def clear(self) -> None:
        self.data = {}
        self.dirty = True


class LoginThrottle:
    """Failed logins per username and per client IP in a sliding window, with a lock-out.

    After ``MAX_FAILURES_PER_USERNAME`` failures for one username, or ``MAX_FAILURES_PER_IP``
    from one IP, within the window, further attempts are refused for the lock period. A
    successful login clears the username's failures. In memory, per process.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        per_username: int = MAX_FAILURES_PER_USERNAME,
        per_ip: int = MAX_FAILURES_PER_IP,
        window: float = THROTTLE_WINDOW_SECONDS,
        lock: float = THROTTLE_LOCK_SECONDS,
    ) -> None:
        self.clock = clock
        self.limits = {"user": per_username, "ip": per_ip}
        self.window, self.lock = window, lock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self._mutex = threading.Lock()

    @staticmethod
    def _keys(username: str, ip: str) -> list[tuple[str, str]]:
        return [("user", username.strip().casefold()), ("ip", ip)]

    def blocked(self, username: str, ip: str) -> bool:
        now = self.clock()
        with self._mutex:
            for key in self._keys(username, ip):
                until = self._locked_until.get(key)
                if until is not None and now < until:
                    return True
                if until is not None:
                    del self._locked_until[key]
        return False

    def record_failure(self, username: str, ip: str) -> None:
        now = self.clock()
        with self._mutex:
            for key in self._keys(username, ip):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while times and times[0] <= now - self.window:
                    times.popleft()
                if len(times) >= self.limits[key[0]]:
                    self._locked_until[key] = now + self.lock
                    times.clear()

    def reset_username(self, username: str) -> None:
        key = self._keys(username, "")[0]
        with self._mutex:
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)


class AuthState:
    """Per-process authentication state: the clock, the throttle, sessions ended by logout."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.throttle = LoginThrottle(self.now)
        self._revoked: dict[str, float] = {}  # sid -> when it may be forgotten
        self._mutex = threading.Lock()

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:  # tests move time forward
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def revoke(self, sid: str, keep_seconds: float) -> None:
        now = self.now()
        with self._mutex:
            self._revoked = {s: t for s, t in self._revoked.items() if t > now}
            self._revoked[sid] = now + keep_seconds

    def is_revoked(self, sid: str) -> bool:
        with self._mutex:
            return sid in self._revoked


def _load_user(factory: sessionmaker[DbSession], user_id: int) -> AuthUser | None:
    with session_scope(factory) as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        return AuthUser(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            region_id=user.region_id,
            school_id=user.school_id,
            must_change_password=bool(user.must_change_password),
            password_version=user.password_version or 0,
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
    """Reads and writes the signed session cookie and checks CSRF tokens (pure ASGI)."""

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
        self.serializer = URLSafeSerializer(
            settings.secret_key.get_secret_value(), salt="yanxiu.session"
        )
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
        session = SessionData(self._decode(scope))
        user: AuthUser | None = None
        now = self.state.now()
        data = session.data
        if data and (
            "sid" not in data
            or self.state.is_revoked(str(data["sid"]))
            or now - float(data.get("iat", now)) > self.max_seconds
        ):
            session.clear()
        elif session.user_id is not None:
            if now - float(data.get("seen", 0)) > self.idle_seconds:
                session.clear()
            else:
                user = await anyio.to_thread.run_sync(_load_user, self.factory, session.user_id)
                # deleted or deactivated since login, or the password changed (or was reset)
                if user is None or user.password_version != int(data.get("pv", 0)):
                    user = None
                    session.clear()
                else:
                    data["seen"], data["role"] = now, user.role.value
                    session.dirty = True
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
        """``send``, adding the session cookie (when changed) to the response's headers."""

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.dirty:
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", self._cookie_header(session))
                if "uid" in session.data and "cache-control" not in headers:
                    headers.append("cache-control", "no-store")
            await send(message)

        return send_with_cookie

    async def _check_csrf(
        self, scope: Scope, receive: Receive, session: SessionData
    ) -> tuple[bool, Receive]:
        expected = session.data.get("csrf")
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
