"""The FastAPI application factory."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from yanxiu import __version__
from yanxiu.accounts.models import Role
from yanxiu.analytics.embed import EmbedderUnavailable
from yanxiu.analytics.embed_cache import EmbeddingCache
from yanxiu.analytics.service import catalog_search_from_settings
from yanxiu.config import Settings, get_settings
from yanxiu.credits.policy import load_policies
from yanxiu.db import session_scope
from yanxiu.jobs import JobRegistry
from yanxiu.practice.coder import load_coder
from yanxiu.recommend.service import build_recommender, load_ranker, resolve_teacher
from yanxiu.runtime import get_session_factory
from yanxiu.web.auth import (
    AuthUser,
    current_user,
    install_auth,
    optional_user,
    require_role,
    require_teacher_access,
)
from yanxiu.web.pages import HOME_BY_ROLE, install_page_helpers
from yanxiu.web.routes import all_routers

WEB_DIR = Path(__file__).parent / "web"
PATH_READERS = require_role(Role.TEACHER, Role.TRAINER, Role.ADMIN)
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    factory = get_session_factory(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The utterance coder (a few seconds to load) warms on a thread while the rest starts,
        # so the first uploaded transcript doesn't wait for it.
        threading.Thread(
            target=load_coder, args=(settings.models_dir,), name="load-coder", daemon=True
        ).start()
        # Heavy things load once per process: the embedder and the catalog index.
        app.state.search = None
        app.state.search_error = ""
        app.state.recommender = None
        app.state.policy = load_policies(settings.content_dir / "policies")[settings.policy]
        cache = EmbeddingCache(settings.data_dir / "embeddings")
        try:
            with session_scope(factory) as session:
                app.state.search, _ = catalog_search_from_settings(settings, session)
                ranker, label = load_ranker(settings.models_dir, settings.embed_backend)
                app.state.recommender = build_recommender(
                    session, app.state.search, cache=cache, ranker=ranker, ranker_name=label
                )
        except EmbedderUnavailable as exc:  # the app still serves; search says why it can't
            log.error("search unavailable: %s", exc)
            app.state.search_error = str(exc)
        yield
        cache.close()

    app = FastAPI(title="Yanxiu 研修 API", version=__version__, lifespan=lifespan, docs_url="/api/docs",
                  openapi_url="/api/v1/openapi.json")  # fmt: skip
    app.state.settings = settings
    app.state.session_factory = factory
    # One registry per app (not per lifespan): a job outlives the request and client that
    # started it; its worker thread is joined when the process exits.
    app.state.jobs = JobRegistry(workers=1)
    templates = Jinja2Templates(directory=WEB_DIR / "templates")
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    # Sessions, CSRF on every POST/PUT/PATCH/DELETE, /login and /logout (yanxiu.web.auth).
    install_auth(app, settings=settings, factory=factory, templates=templates)
    install_page_helpers(app, templates)
    for router in all_routers():
        app.include_router(router)

    @app.get("/api/v1/health", tags=["system"])
    def health() -> dict[str, object]:
        """Liveness and database reachability."""
        with session_scope(factory) as session:
            session.execute(select(1))
        return {"status": "ok", "version": __version__}

    @app.get("/api/v1/search", tags=["catalog"])
    def search_catalog(
        q: str = Query(..., min_length=1, max_length=200, description="Query, Chinese or English"),
        k: int = Query(10, ge=1, le=50),
        stage: list[str] = Query(default=[], description="学段 filter, repeatable"),
        subject: list[str] = Query(default=[], description="学科 filter, repeatable"),
        category: list[str] = Query(default=[], description="类别 filter, repeatable"),
        format: list[str] = Query(default=[], description="online / offline / hybrid"),
        mode: str = Query("hybrid", pattern="^(hybrid|dense|lexical)$"),
        _: AuthUser = Depends(current_user),
    ) -> dict[str, object]:
        """Hybrid semantic search over published catalog resources, with highlighted snippets.

        Needs a login, like every other data endpoint."""
        service = app.state.search
        if service is None:
            raise HTTPException(503, detail=f"search is unavailable: {app.state.search_error}")
        filters = {"stage": stage, "subject": subject, "category": category, "format": format}
        hits = service.search(q, k=k, filters=filters, mode=mode)
        return {"query": q, "mode": mode, "results": [h.as_dict() for h in hits]}

    @app.get("/api/v1/teachers/{teacher}/path", tags=["recommendation"])
    def teacher_path(
        teacher: str,
        today: date | None = None,
        user: AuthUser = Depends(PATH_READERS),
    ) -> dict[str, object]:
        """A teacher's precise training path (by user id or username), each step explained.

        A teacher reads their own; a trainer or admin, teachers within their region."""
        planner = app.state.recommender
        if planner is None:
            raise HTTPException(
                503, detail=f"recommendation is unavailable: {app.state.search_error}"
            )
        with session_scope(factory) as session:
            try:
                teacher_id = resolve_teacher(session, teacher)
            except ValueError as exc:
                if user.role == Role.TEACHER:  # don't tell a teacher who else exists
                    raise HTTPException(403, detail="无权访问：您的账号不能查看此内容。") from exc
                raise HTTPException(404, detail=str(exc)) from exc
            require_teacher_access(session, user, teacher_id)
            path = planner.recommend(
                session, teacher_id=teacher_id, policy=app.state.policy, today=today or date.today()
            )
        return path.as_dict()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> Response:
        user = optional_user(request)
        if user is not None:  # each role starts on its own workspace
            return RedirectResponse(HOME_BY_ROLE[user.role], status_code=303)
        from yanxiu.accounts.models import School, User
        from yanxiu.catalog.models import Course
        from yanxiu.studios.models import CaseResource, Studio

        with session_scope(factory) as session:
            stats = {
                "课程资源": session.scalar(select(func.count(Course.id))),
                "实践案例": session.scalar(select(func.count(CaseResource.id))),
                "名师工作室": session.scalar(select(func.count(Studio.id))),
                "学校": session.scalar(select(func.count(School.id))),
                "用户": session.scalar(select(func.count(User.id))),
            }
        return templates.TemplateResponse(
            request, "home.html", {"stats": stats, "today": date.today(), "version": __version__}
        )

    return app
