"""管理员：教师名册（导入预检、导入、模板下载、名册查看与导出；手机号一律脱敏显示）。

The import runs as a background job (:func:`yanxiu.accounts.roster_job.start_roster_import`):
the job page shows progress, then every bad row (row, column, what to fix) or what was
created, changed and deactivated.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.accounts.passwords import RULES_TEXT
from yanxiu.accounts.roster import TEMPLATE_HEADER, RosterRules
from yanxiu.accounts.roster_job import MAX_UPLOAD_BYTES, start_roster_import
from yanxiu.accounts.roster_view import roster_csv, roster_template, roster_view
from yanxiu.errors import Invalid, TooLarge
from yanxiu.services import Services
from yanxiu.web.deps import AdminUser, ScopeDep, ServicesDep, SessionDep
from yanxiu.web.pages import flash, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


def roster_rules(services: Services, cycle_start: str = "") -> RosterRules:
    return services.roster_rules(cycle_start)


@router.get("/admin/roster", response_class=HTMLResponse)
def roster_page(
    request: Request, _: AdminUser, scope: ScopeDep, services: ServicesDep, db: SessionDep,
    q: Annotated[str, Query(max_length=32)] = "", school_id: Annotated[int | None, Query()] = None,
    status: Annotated[str, Query(max_length=8)] = "", page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:  # fmt: skip
    view = roster_view(db, scope, q=q, school_id=school_id, status=status, page=page)
    return render(request, "admin/roster.html", {
        "view": view, "header": TEMPLATE_HEADER, "rules": RULES_TEXT, "tiers": services.policy.tiers,
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024), "cycle_start": services.roster_rules().cycle_start.isoformat(),
        "jobs": services.visible_jobs(db, scope, kind="roster")[:5],
    })  # fmt: skip


@router.get("/admin/roster/template.xlsx")
def template_xlsx(_: AdminUser) -> Response:
    return Response(roster_template("xlsx"),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="roster-template.xlsx"'})  # fmt: skip


@router.get("/admin/roster/template.csv")
def template_csv(_: AdminUser) -> Response:
    return Response(roster_template("csv"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="roster-template.csv"'})  # fmt: skip


@router.get("/admin/roster/export.csv")
def roster_export(_: AdminUser, scope: ScopeDep, db: SessionDep) -> Response:
    """Every teacher in the admin's region (phones masked)."""
    return Response(roster_csv(db, scope), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="roster.csv"'})  # fmt: skip


@router.post("/admin/roster/import", max_body_size=MAX_UPLOAD_BYTES + 64 * 1024)
async def roster_import(
    request: Request, me: AdminUser, scope: ScopeDep, services: ServicesDep,
    file: Annotated[UploadFile, File()], mode: Annotated[str, Form(max_length=8)] = "dry",
    initial_password: Annotated[str, Form(max_length=128)] = "",
    cycle_start: Annotated[str, Form(max_length=10)] = "",
) -> Response:  # fmt: skip
    """Save nothing to disk: the upload is checked and handed to a background job."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    try:
        roster_rules(services, cycle_start)  # a bad date is refused before anything is queued
        job = start_roster_import(
            services.submit_job, data=data, filename=file.filename or "", dry_run=mode != "import",
            cycle_start=cycle_start, actor_id=me.id, initial_password=initial_password,
            folder=services.settings.data_dir / "imports" / uuid.uuid4().hex,
        )  # fmt: skip
    except TooLarge:
        raise
    except Invalid as refused:
        flash(request, refused.message, "error")
        return RedirectResponse("/admin/roster", status_code=303)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
