"""The FastAPI application factory: services, sessions and CSRF, pages, routes."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from yanxiu import __version__
from yanxiu.config import Settings, get_settings
from yanxiu.practice.coder import load_coder
from yanxiu.services import Services
from yanxiu.web.auth import install_auth
from yanxiu.web.errors import install_error_pages
from yanxiu.web.frontend import frontend_dir
from yanxiu.web.headers import install_security_headers
from yanxiu.web.pages import install_page_helpers
from yanxiu.web.routes import all_routers
from yanxiu.web.security import DEFAULT_BODY_LIMIT, body_limits


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # One Services per app (not per lifespan): a job outlives the request that started it.
    services = Services.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The utterance coder (a few seconds to load) warms on a thread while the rest starts,
        # so the first uploaded transcript doesn't wait for it.
        threading.Thread(
            target=load_coder, args=(settings.models_dir,), name="load-coder", daemon=True
        ).start()
        # As many requests at once as the database pool has connections for (anyio's default,
        # 40 threads, had them queue inside the pool, or open and close connections).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        services.load_search()  # the embedder and the catalog index load once per process
        services.start_catalog_watch()  # another worker's catalog import: reload the index
        inline = settings.jobs_consumer == "inline"
        if inline:  # `make run` needs no worker beside the server
            services.jobs.start_consumer()
        try:
            yield
        finally:
            if inline:
                services.jobs.stop_consumer()
            services.close()

    # FastAPI's own docs pages load Swagger and ReDoc from a CDN: ours serve them locally
    app = FastAPI(title="Yanxiu 研修 API", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url="/api/v1/openapi.json")  # fmt: skip
    app.state.services = services
    web = frontend_dir()
    templates = Jinja2Templates(directory=web / "templates")
    app.mount("/static", StaticFiles(directory=web / "static"), name="static")
    # Sessions, CSRF on every POST/PUT/PATCH/DELETE, /login and /logout (yanxiu.web.auth).
    install_auth(app, settings=settings, factory=services.session_factory, templates=templates)
    install_page_helpers(app, templates)
    install_error_pages(app)
    # CSP and friends on every response; the API docs from the pinned package, not a CDN
    install_security_headers(app, docs=True)
    routers = all_routers()
    app.state.body_limits = body_limits(routers)  # what the CSRF check may read, per route
    for router in routers:  # a route that takes uploads declares its own, larger limit
        app.include_router(router, max_body_size=DEFAULT_BODY_LIMIT)
    return app
