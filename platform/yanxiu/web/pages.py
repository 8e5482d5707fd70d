"""Shared helpers for HTML routes: rendering, Beijing time, role home pages, navigation, flashes.

Routes stay thin: they read the request, call domain services (``yanxiu.catalog``,
``yanxiu.credits``, ``yanxiu.practice``, ``yanxiu.studios`` …) and render a template.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from yanxiu import __version__
from yanxiu.accounts.models import Role
from yanxiu.db import session_scope

# Where each role lands after logging in (and what "/" shows them).
HOME_BY_ROLE: dict[Role, str] = {
    Role.TEACHER: "/teacher",
    Role.HOST: "/studio",
    Role.TRAINER: "/trainer",
    Role.ADMIN: "/admin",
}


def templates_of(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render ``name`` with the common context (version); templates extend ``base.html``."""
    ctx = {"version": __version__, **(context or {})}
    return templates_of(request).TemplateResponse(request, name, ctx, status_code=status_code)


def render_view(
    request: Request, name: str, view: Any = None, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    """Render a service's view dataclass: its fields (and ``extra``) are the template's context."""
    own = {f.name: getattr(view, f.name) for f in fields(view)} if view is not None else {}
    ctx = {"version": __version__, **own, **extra}
    return templates_of(request).TemplateResponse(request, name, ctx, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


BEIJING = timezone(timedelta(hours=8), "北京时间")


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M", missing: str = "") -> str:
    """A stored time (UTC; SQLite returns it naive) as people here read it: Beijing time."""
    if moment is None:
        return missing
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(BEIJING).strftime(fmt)


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored timestamp in Beijing time; "—" for none (a Jinja global)."""
    return local_time(value, fmt, missing="—")


def pct(value: float | None) -> str:
    """A share as a whole percentage; "—" for none (a Jinja global)."""
    return "—" if value is None else f"{value * 100:.0f}%"


# -- navigation and flash messages (Jinja globals, registered by install_page_helpers)

NAV_BY_ROLE: dict[Role, list[tuple[str, str]]] = {
    Role.TEACHER: [
        ("/teacher", "工作台"),
        ("/courses", "课程"),
        ("/programs", "培训项目"),
        ("/checkin", "线下签到"),
        ("/practice", "教学实践"),
        ("/studios", "名师工作室"),
        ("/teacher/ledger", "学时台账"),
        ("/claims", "学时申报"),
        ("/notifications", "消息"),
    ],
    Role.HOST: [("/studio", "工作室控制台"), ("/courses", "课程"), ("/notifications", "消息")],
    Role.TRAINER: [
        ("/trainer", "培训工作台"),
        ("/review", "审核队列"),
        ("/review/claims", "学时审核"),
        ("/trainer/programs", "培训项目"),
        ("/courses", "课程"),
        ("/authoring", "课程编写"),
        ("/notifications", "消息"),
    ],
    Role.ADMIN: [
        ("/admin", "达标看板"),
        ("/admin/catalog", "课程目录"),
        ("/authoring", "课程编写"),
        ("/admin/policy", "学时政策"),
        ("/admin/org", "区域与学校"),
        ("/admin/roster", "教师名册"),
        ("/admin/accounts", "账号管理"),
        ("/admin/gaps", "课程缺口"),
        ("/admin/search/synonyms", "检索同义词"),
        ("/review/claims", "学时审核"),
        ("/admin/certificates", "证明核验"),
        ("/jobs", "后台任务"),
        ("/notifications", "消息"),
    ],
}

ROLE_LABELS = {
    Role.TEACHER: "教师",
    Role.HOST: "工作室主持人",
    Role.TRAINER: "培训者",
    Role.ADMIN: "管理员",
}

FLASH_KEY = "flash"


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """Show ``text`` once on the next rendered page (kept in the signed session cookie)."""
    from yanxiu.web.security import session_of

    session = session_of(request)
    session.data.setdefault(FLASH_KEY, []).append([kind, text])
    session.dirty = True


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    from yanxiu.web.security import session_of

    session = session_of(request)
    messages = session.data.pop(FLASH_KEY, None)
    if not messages:
        return []
    session.dirty = True
    return [(str(kind), str(text)) for kind, text in messages]


def nav_current(user: object, path: str) -> str | None:
    """The navigation link for ``path``: the longest one it lies under (``/admin/catalog/x`` is
    课程目录, not 达标看板)."""
    role = getattr(user, "role", None)
    links = NAV_BY_ROLE.get(role, []) if isinstance(role, Role) else []
    under = [href for href, _ in links if path == href or path.startswith(href.rstrip("/") + "/")]
    return max(under, key=len) if under else None


def nav_badges(request: Request, user: object) -> dict[str, int]:
    """Counts shown next to navigation links: everyone's unread messages, a teacher's unread
    pushed cases, a trainer's review queue, the hour claims waiting for a trainer or admin."""
    from yanxiu.accounts.models import User
    from yanxiu.accounts.scope import Scope
    from yanxiu.credits.claims import waiting_claims
    from yanxiu.practice.review import review_queue
    from yanxiu.reports.inbox import unread
    from yanxiu.studios.service import unread_count

    role = getattr(user, "role", None)
    user_id = int(getattr(user, "id", 0))
    if not isinstance(role, Role):
        return {}
    counts: dict[str, int] = {}
    shared = getattr(request.state, "db", None)  # the request's own session, when it has one
    with (
        nullcontext(shared)
        if shared is not None
        else session_scope(request.app.state.services.session_factory) as session
    ):
        counts["/notifications"] = unread(
            session, user_id=user_id, role=role, now=datetime.now(UTC)
        )
        if role == Role.TEACHER:
            counts["/studios"] = unread_count(session, user_id)
        if role == Role.TRAINER:  # diagnoses waiting for this trainer's review
            reviewer = session.get(User, user_id)
            counts["/review"] = len(review_queue(session, reviewer=reviewer)) if reviewer else 0
        if role in (Role.TRAINER, Role.ADMIN):  # hour claims waiting for a decision in scope
            counts["/review/claims"] = waiting_claims(session, Scope.for_user(session, user))  # type: ignore[arg-type]
    return {href: n for href, n in counts.items() if n}


def install_page_helpers(app: FastAPI, templates: Jinja2Templates) -> None:
    from jinja2 import pass_context

    app.state.templates = templates
    env = templates.env
    env.globals["nav_links"] = lambda user: NAV_BY_ROLE.get(user.role, [])
    env.globals["nav_current"] = nav_current
    env.globals["nav_badges"] = pass_context(lambda ctx, user: nav_badges(ctx["request"], user))
    env.globals["role_label"] = lambda role: ROLE_LABELS.get(role, str(role))
    env.globals["flashes"] = pass_context(lambda ctx: pop_flashes(ctx["request"]))
    env.globals["local_time"] = local_time
    env.globals["when"] = when
    env.globals["pct"] = pct
