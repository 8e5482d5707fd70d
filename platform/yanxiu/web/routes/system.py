"""首页与健康检查：the public home page (each role is sent to its own workspace) and liveness."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu import __version__
from yanxiu.reports.site import health_check, site_stats
from yanxiu.web.auth import optional_user
from yanxiu.web.deps import SessionDep
from yanxiu.web.pages import HOME_BY_ROLE, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@api.get("/health", tags=["system"])
def health(db: SessionDep) -> dict[str, object]:
    """Liveness and database reachability."""
    health_check(db)
    return {"status": "ok", "version": __version__}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: SessionDep) -> Response:
    user = optional_user(request)
    if user is not None:  # each role starts on its own workspace
        return RedirectResponse(HOME_BY_ROLE[user.role], status_code=303)
    return render(request, "home.html", {"stats": site_stats(db), "today": date.today()})
