"""管理员：检索同义词——内置与本站的同义词、缩略语表，添加、移除本站条目，并“试一试”检索怎样理解一个问题。

Domain rules live in :mod:`yanxiu.search.synonyms`. A change moves the database's ``synonyms``
counter: every server process rebuilds its query parser within seconds (the catalog watch),
and this page rebuilds its own process's parser before showing anything, so what it shows is
what teachers get.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.errors import Conflict, Invalid
from yanxiu.search.service import shipped_synonym_file
from yanxiu.search.synonyms import (
    MAX_ALIAS,
    MAX_EXPANSION,
    add_site_synonym,
    remove_site_synonym,
    split_aliases,
    synonym_table,
)
from yanxiu.services import Services
from yanxiu.web.deps import AdminUser, ServicesDep, SessionDep
from yanxiu.web.pages import flash, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

PAGE = "/admin/search/synonyms"
TRY_RESULTS = 5


@router.get(PAGE, response_class=HTMLResponse)
def synonyms_page(
    request: Request, _: AdminUser, db: SessionDep, services: ServicesDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:  # fmt: skip
    """The table in force and the forms; ``q`` (from 课程缺口) fills 试一试 and shows it."""
    return _page(request, db, services, q=q)


@router.post(PAGE, response_class=HTMLResponse)
def synonym_add(
    request: Request, me: AdminUser, db: SessionDep, services: ServicesDep,
    aliases: Annotated[str, Form(max_length=1000)] = "",
    expansion: Annotated[str, Form(max_length=400)] = "",
) -> Response:  # fmt: skip
    try:
        added = add_site_synonym(
            db, actor_id=me.id, aliases=split_aliases(aliases), expansion=expansion,
            shipped_file=shipped_synonym_file(services.settings),
        )  # fmt: skip
    except (Invalid, Conflict) as exc:  # the form again, as typed, with what is wrong
        status = 409 if isinstance(exc, Conflict) else 422
        form = {"aliases": aliases, "expansion": expansion}
        return _page(request, db, services, form=form, error=exc.message, errors=exc.fields,
                     status_code=status, q=split_aliases(aliases)[0] if aliases.strip() else "")  # fmt: skip
    flash(request, f"已添加同义词“{added.entry.label}”，各服务进程将在几秒内按新表理解检索词。")
    for warning in added.warnings:
        flash(request, warning, "warn")
    first = added.entry.aliases[0]
    return RedirectResponse(f"{PAGE}?q={quote(first)}", status_code=303)


@router.post(f"{PAGE}/remove")
def synonym_remove(
    request: Request, me: AdminUser, db: SessionDep,
    synonym_id: Annotated[int, Form(ge=1)],
) -> Response:  # fmt: skip
    try:
        entry = remove_site_synonym(db, actor_id=me.id, synonym_id=synonym_id)
        flash(request, f"已移除同义词“{entry.label}”（保留在移除记录中）。")
    except Conflict as exc:
        flash(request, exc.message, "error")
    return RedirectResponse(PAGE, status_code=303)


@router.get(f"{PAGE}/try", response_class=HTMLResponse)
def synonym_try(
    request: Request, _: AdminUser, services: ServicesDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:  # fmt: skip
    """试一试 (htmx): how the query is understood and the first results teachers would see."""
    return render(request, "admin/_synonym_try.html", _tried(services, q))


def _page(
    request: Request, db: SessionDep, services: Services, *, q: str = "",
    form: dict[str, str] | None = None, error: str = "", errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    table = synonym_table(db, shipped_synonym_file(services.settings))
    return render(request, "admin/synonyms.html", {
        "table": table, "form": form or {"aliases": "", "expansion": ""}, "error": error,
        "errors": errors or {}, "max_alias": MAX_ALIAS, "max_expansion": MAX_EXPANSION,
        **_tried(services, q),
    }, status_code=status_code)  # fmt: skip


def _tried(services: Services, q: str) -> dict[str, Any]:
    q = q.strip()
    if services.search is None:
        return {"q": q, "parsed": None, "hits": [], "search_error": services.search_error or "-"}
    services.refresh_synonyms_if_changed()  # this process reads queries as the table says now
    if not q:
        return {"q": q, "parsed": None, "hits": [], "search_error": ""}
    found = services.search.find(q, k=TRY_RESULTS, matches_only=True)
    return {"q": q, "parsed": found.parsed, "hits": found.hits, "search_error": ""}
