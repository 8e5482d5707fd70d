"""管理员：按区县与学校的达标看板（图表、下钻、CSV 导出）、课程目录导入（逐行错误）、现行学时政策。

Pages are assembled by :mod:`yanxiu.reports.admin_dashboard` (every view limited to the
admin's scope) and :mod:`yanxiu.catalog.overview`; a catalog upload runs as a background job
(:func:`yanxiu.catalog.import_job.start_catalog_import`).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from yanxiu.catalog.import_job import ACCEPTED_SUFFIXES, MAX_UPLOAD_BYTES, start_catalog_import
from yanxiu.catalog.overview import catalog_stats, recent_imports
from yanxiu.catalog.schema import CATEGORIES, STAGES
from yanxiu.credits.policy import policy_summary
from yanxiu.errors import Invalid, TooLarge
from yanxiu.reports.admin_dashboard import (
    compliance_by_group,
    export_compliance,
    overview,
    region_view,
    school_view,
)
from yanxiu.reports.compliance import STATUS_COLOURS, STATUS_ORDER
from yanxiu.web.deps import AdminUser, ScopeDep, ServicesDep, SessionDep
from yanxiu.web.errors import MAX_ID
from yanxiu.web.pages import flash, render, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

STATUS_BADGES = {"已达标": "ok", "进度正常": "ok", "需关注": "warn", "进度滞后": "bad"}
SHARED: dict[str, Any] = {
    "statuses": STATUS_ORDER,
    "status_colours": STATUS_COLOURS,
    "badges": STATUS_BADGES,
}


@router.get("/admin", response_class=HTMLResponse)
def dashboard(
    request: Request, me: AdminUser, scope: ScopeDep, services: ServicesDep, db: SessionDep
) -> HTMLResponse:
    view = overview(
        db, scope=scope, home_region_id=me.region_id, policy=services.policy, today=date.today()
    )
    services.ensure_compliance_snapshot(db, date.today())  # next time, from the snapshots
    return render_view(request, "admin/dashboard.html", view, today=date.today(),
                       policy=services.policy, **SHARED)  # fmt: skip


@router.get("/admin/regions/{region_id}", response_class=HTMLResponse)
def region_page(
    request: Request, region_id: int, _: AdminUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep,
) -> HTMLResponse:  # fmt: skip
    view = region_view(
        db, scope=scope, region_id=region_id, policy=services.policy, today=date.today()
    )
    return render_view(request, "admin/region.html", view, today=date.today(), **SHARED)


@router.get("/admin/schools/{school_id}", response_class=HTMLResponse)
def school_page(
    request: Request, school_id: int, _: AdminUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep,
) -> HTMLResponse:  # fmt: skip
    view = school_view(
        db, scope=scope, school_id=school_id, policy=services.policy, today=date.today()
    )
    return render_view(request, "admin/school.html", view, today=date.today(), **SHARED)


@router.get("/admin/compliance.csv")
def compliance_export(
    me: AdminUser,
    scope: ScopeDep,
    services: ServicesDep,
    db: SessionDep,
    level: Literal["teacher", "school", "county"] = Query("teacher"),
    region: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Compliance as CSV for Excel (UTF-8 with BOM), limited to the admin's region (or one
    city or county of it), streamed."""
    csv = export_compliance(
        db, session_factory=services.session_factory, scope=scope, level=level,
        policy=services.policy, today=date.today(), actor_id=me.id, region_id=region,
    )  # fmt: skip
    disposition = (
        f"attachment; filename=\"{csv.ascii_name}\"; filename*=UTF-8''{quote(csv.filename)}"
    )
    return StreamingResponse(csv.chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": disposition})  # fmt: skip


# ------------------------------------------------------------------------------ catalog


@router.get("/admin/catalog", response_class=HTMLResponse)
def catalog_page(
    request: Request, _: AdminUser, scope: ScopeDep, services: ServicesDep, db: SessionDep
) -> HTMLResponse:
    return render(request, "admin/catalog.html", {
        "stats": catalog_stats(db), "categories": CATEGORIES, "stages": STAGES,
        "imports": recent_imports(db), "jobs": services.visible_jobs(db, scope, kind="import")[:5],
        "accept": ",".join(ACCEPTED_SUFFIXES), "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "search_ready": services.search is not None,
    })  # fmt: skip


TEMPLATE_CSV = (
    "id,title,summary,outline,category,stages,subjects,levels,posts,hours,format,prerequisites,"
    "competencies,provider,status\n"
    "XK-SX-90,小学数学“量感”培养的课堂策略,结合度量单元的典型课例，讲解如何通过估测、实测和比较活动"
    "帮助学生建立量感，并设计与之配套的课堂评价。,量感的内涵与课程标准要求；估测活动设计；"
    "度量单元课例评析,学科教学,小学,数学,,,6,online,,SUB-LITERACY;PRC-ASSESS,"
    "青川市教师发展中心,published\n"
)


@router.get("/admin/catalog/template.csv")
def catalog_template(_: AdminUser) -> Response:
    """A one-row example of the import format (UTF-8 with BOM)."""
    return Response(
        ("\ufeff" + TEMPLATE_CSV).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="catalog-template.csv"'},
    )


# a file over the limit still reaches the service, which says so in Chinese (with room to spare)
@router.post("/admin/catalog/import", max_body_size=2 * MAX_UPLOAD_BYTES)
async def catalog_import(
    request: Request, me: AdminUser, services: ServicesDep, file: UploadFile = File(...)
) -> Response:
    """Save the upload and import it as a background job; the job page shows the outcome."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    try:
        job = start_catalog_import(
            services.submit_job, data=data, filename=file.filename or "", actor_id=me.id,
            folder=services.settings.data_dir / "imports" / uuid.uuid4().hex,
        )  # fmt: skip
    except TooLarge:
        raise
    except Invalid as refused:
        flash(request, refused.message, "error")
        return RedirectResponse("/admin/catalog", status_code=303)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


# ------------------------------------------------------------------------------- policy


@router.get("/admin/policy", response_class=HTMLResponse)
def policy_page(request: Request, _: AdminUser, services: ServicesDep) -> HTMLResponse:
    policy = services.policy
    return render(request, "admin/policy.html", {"policy": policy, **policy_summary(policy)})


# ---------------------------------------------------------------------------------- API


@api.get("/compliance", tags=["compliance"])
def compliance_api(
    _: AdminUser,
    scope: ScopeDep,
    services: ServicesDep,
    db: SessionDep,
    level: Literal["county", "school"] = Query("county", description="county or school"),
) -> dict[str, Any]:
    """Compliance with the credit policy aggregated by county or school (admin, own region).

    Each row: teachers, mean progress, shares compliant / on track / ethics met / current
    year met, counted hours, rural-and-weak-school teachers and their on-track share, and
    ``statuses`` (teachers per status: 已达标 / 进度正常 / 需关注 / 进度滞后).
    """
    return compliance_by_group(
        db, scope=scope, level=level, policy=services.policy, today=date.today()
    )
