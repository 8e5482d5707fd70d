"""管理员：按区县与学校的达标看板（图表、下钻、CSV 导出）、课程目录导入（逐行错误）、现行学时政策。

Every page is scoped to the admin's region subtree (a city admin sees its counties, a county
admin their own county). Compliance comes from :func:`yanxiu.credits.reports.scoped_compliance`
(one pass over the ledger, reused while the ledger is unchanged). Admins see aggregates and
each teacher's hour status, never a teacher's practice diagnoses.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, RegionLevel, Role, School, User
from yanxiu.audit.models import AuditEntry
from yanxiu.audit.service import record_audit
from yanxiu.catalog.import_job import (
    ACCEPTED_SUFFIXES,
    MAX_UPLOAD_BYTES,
    ImportOutcome,
    rebuild_search,
    run_catalog_import,
    save_upload,
)
from yanxiu.catalog.models import Course, CourseStatus
from yanxiu.catalog.schema import CATEGORIES, STAGES
from yanxiu.credits.compliance import aggregate
from yanxiu.credits.models import CreditSource
from yanxiu.credits.policy import CreditPolicy
from yanxiu.credits.reports import (
    STATUS_COLOURS,
    STATUS_ORDER,
    GroupView,
    TeacherRow,
    compliance_csv,
    group_views,
    scoped_compliance,
    status_chart,
)
from yanxiu.db import session_scope
from yanxiu.jobs import Progress
from yanxiu.web.auth import AuthUser, region_subtree, require_role
from yanxiu.web.pages import flash, get_db, local_time, render
from yanxiu.web.routes.jobs import job_details

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

ADMIN = require_role(Role.ADMIN)
OUT_OF_SCOPE = "无权访问：该区域不在您的管辖范围内。"
SOURCE_LABELS = {
    CreditSource.ONLINE: "网络研修（在线课程）",
    CreditSource.OFFLINE: "集中面授（线下签到）",
    CreditSource.SCHOOL_BASED: "校本研修",
    CreditSource.RESEARCH: "教研活动",
    CreditSource.IMPORT: "外部转入（学分银行）",
}
FORMAT_LABELS = {"online": "线上", "offline": "线下", "hybrid": "混合"}
COURSE_STATUS_LABELS = {"published": "已发布", "draft": "草稿", "retired": "已下线"}
STATUS_BADGES = {"已达标": "ok", "进度正常": "ok", "需关注": "warn", "进度滞后": "bad"}
CSV_LEVELS = {"teacher": "教师", "school": "学校", "county": "区县"}


def admin_regions(session: Session, user: AuthUser) -> set[int]:
    """The admin's region and everything below it (an admin with no region sees nothing)."""
    return region_subtree(session, user.region_id) if user.region_id is not None else set()


def rows_in_scope(
    request: Request, session: Session, regions: set[int], *, school_id: int | None = None
) -> list[TeacherRow]:
    return scoped_compliance(
        session, policy=request.app.state.policy, today=date.today(), region_ids=regions,
        school_id=school_id,
    )  # fmt: skip


def totals(rows: list[TeacherRow]) -> dict[str, Any]:
    """Headline figures over all rows: the aggregate plus teachers per status."""
    keyed = [
        (r.report, "*", "合计", bool(r.school and (r.school.is_rural or r.school.is_weak)))
        for r in rows
    ]
    groups = aggregate(keyed)
    statuses = Counter(r.report.status for r in rows)
    return {
        "group": groups[0] if groups else None,
        "statuses": {s: statuses.get(s, 0) for s in STATUS_ORDER},
    }


def shares_chart(views: list[GroupView]) -> dict[str, Any]:
    """Ethics gate share and rural/weak on-track share per group (percent)."""
    return {
        "type": "bar",
        "data": {
            "labels": [v.group.name for v in views],
            "datasets": [
                {"label": "师德师风学时达标（%）", "backgroundColor": "#3a6ea5",
                 "data": [round(v.group.share(v.group.ethics_ok) * 100, 1) for v in views]},
                {"label": "乡村及薄弱校教师预计按期完成（%）", "backgroundColor": "#e07b39",
                 "data": [round(v.group.share(v.group.rural_on_track, v.group.rural_teachers) * 100, 1)
                          for v in views]},
            ],
        },
        "options": {"scales": {"y": {"min": 0, "max": 100}}, "plugins": {"legend": {"position": "bottom"}}},
    }  # fmt: skip


def _region_or_404(session: Session, region_id: int, regions: set[int]) -> Region:
    region = session.get(Region, region_id)
    if region is None:
        raise HTTPException(404, detail="没有这个区域。")
    if region.id not in regions:
        raise HTTPException(403, detail=OUT_OF_SCOPE)
    return region


def breadcrumbs(session: Session, region: Region | None, regions: set[int]) -> list[Region]:
    """From the highest region the admin may see down to ``region``."""
    trail = []
    while region is not None and region.id in regions:
        trail.append(region)
        region = session.get(Region, region.parent_id) if region.parent_id else None
    return trail[::-1]


@router.get("/admin", response_class=HTMLResponse)
def dashboard(
    request: Request,
    user: AuthUser = Depends(ADMIN),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:
    regions = admin_regions(session, user)
    rows = rows_in_scope(request, session, regions)
    counties = group_views(rows, by="county")
    schools = group_views(rows, by="school") if len(counties) == 1 else []
    home = session.get(Region, user.region_id) if user.region_id else None
    return render(request, "admin/dashboard.html", {
        "home": home, "today": date.today(), "policy": request.app.state.policy,
        "counties": counties, "schools": schools, "totals": totals(rows), "statuses": STATUS_ORDER,
        "status_colours": STATUS_COLOURS, "badges": STATUS_BADGES,
        "status_chart": status_chart(counties, title="各区县教师学时进度"),
        "shares_chart": shares_chart(counties),
    })  # fmt: skip


@router.get("/admin/regions/{region_id}", response_class=HTMLResponse)
def region_page(
    request: Request, region_id: int, user: AuthUser = Depends(ADMIN),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:  # fmt: skip
    regions = admin_regions(session, user)
    region = _region_or_404(session, region_id, regions)
    below = region_subtree(session, region.id) & regions
    rows = rows_in_scope(request, session, below)
    is_county = region.level == RegionLevel.COUNTY
    views = group_views(rows, by="school" if is_county else "county")
    return render(request, "admin/region.html", {
        "region": region, "trail": breadcrumbs(session, region, regions), "is_county": is_county,
        "views": views, "totals": totals(rows), "statuses": STATUS_ORDER, "today": date.today(),
        "chart": status_chart(views, title=f"{region.name}{'各学校' if is_county else '各区县'}教师学时进度"),
        "shares_chart": shares_chart(views),
    })  # fmt: skip


@router.get("/admin/schools/{school_id}", response_class=HTMLResponse)
def school_page(
    request: Request, school_id: int, user: AuthUser = Depends(ADMIN),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:  # fmt: skip
    regions = admin_regions(session, user)
    school = session.get(School, school_id)
    if school is None:
        raise HTTPException(404, detail="没有这所学校。")
    if school.county_id not in regions:
        raise HTTPException(403, detail="无权访问：这所学校不在您的管辖范围内。")
    rows = rows_in_scope(request, session, regions, school_id=school.id)
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    rows.sort(key=lambda r: (-order[r.report.status], r.report.progress, r.user.username))
    county = session.get(Region, school.county_id)
    return render(request, "admin/school.html", {
        "school": school, "trail": breadcrumbs(session, county, regions), "rows": rows,
        "totals": totals(rows), "statuses": STATUS_ORDER, "badges": STATUS_BADGES, "today": date.today(),
        "location": {"urban": "城区", "town": "镇区", "rural": "乡村"}.get(school.location.value, ""),
    })  # fmt: skip


@router.get("/admin/compliance.csv")
def compliance_export(
    request: Request,
    level: str = Query("teacher", pattern="^(teacher|school|county)$"),
    user: AuthUser = Depends(ADMIN),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    """Compliance as CSV for Excel (UTF-8 with BOM), limited to the admin's region."""
    regions = admin_regions(session, user)
    rows = rows_in_scope(request, session, regions)
    body = compliance_csv(rows, level=level)
    record_audit(session, actor_id=user.id, action="compliance.export", entity="region",
                 entity_id=user.region_id or "-", detail={"level": level, "teachers": len(rows)})  # fmt: skip
    filename = f"学时达标-{CSV_LEVELS[level]}-{date.today().isoformat()}.csv"
    ascii_name = f"compliance-{level}-{date.today().isoformat()}.csv"
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
        },
    )


# ------------------------------------------------------------------------------ catalog


def catalog_stats(session: Session) -> dict[str, Any]:
    courses = list(session.scalars(select(Course)))
    by_cat_stage: dict[str, Counter[str]] = {c: Counter() for c in CATEGORIES}
    hours: dict[str, float] = defaultdict(float)
    for c in courses:
        if c.status != CourseStatus.PUBLISHED:
            continue
        row = by_cat_stage.setdefault(c.category, Counter())
        row["*"] += 1
        hours[c.category] += c.hours
        for stage in c.stages:
            row[stage] += 1
    return {
        "total": len(courses),
        "published": sum(1 for c in courses if c.status == CourseStatus.PUBLISHED),
        "by_status": Counter(COURSE_STATUS_LABELS[c.status.value] for c in courses),
        "by_format": Counter(FORMAT_LABELS[c.format.value] for c in courses if c.status == CourseStatus.PUBLISHED),
        "by_cat_stage": by_cat_stage,
        "hours": hours,
        "imported": sum(1 for c in courses if c.origin.startswith("import:")),
    }  # fmt: skip


def recent_imports(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action.in_(["catalog.sync", "catalog.import_rejected"]),
            AuditEntry.entity_id.like("import:%"),
        )
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
    names = dict(
        session.execute(
            select(User.id, User.display_name).where(
                User.id.in_({e.actor_id for e in entries if e.actor_id})
            )
        ).all()
    )
    return [
        {
            "when": local_time(e.created_at), "file": e.entity_id.removeprefix("import:"),
            "who": names.get(e.actor_id, "命令行") if e.actor_id else "命令行",
            "ok": e.action == "catalog.sync", "detail": e.detail,
        }
        for e in entries
    ]  # fmt: skip


@router.get("/admin/catalog", response_class=HTMLResponse)
def catalog_page(
    request: Request,
    user: AuthUser = Depends(ADMIN),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:
    jobs = [j for j in request.app.state.jobs.list() if j.kind == "import"][:5]
    return render(request, "admin/catalog.html", {
        "stats": catalog_stats(session), "categories": CATEGORIES, "stages": STAGES,
        "imports": recent_imports(session), "jobs": jobs, "accept": ",".join(ACCEPTED_SUFFIXES),
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "search_ready": request.app.state.search is not None,
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
def catalog_template(user: AuthUser = Depends(ADMIN)) -> Response:
    """A one-row example of the import format (UTF-8 with BOM)."""
    return Response(
        ("\ufeff" + TEMPLATE_CSV).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="catalog-template.csv"'},
    )


@router.post("/admin/catalog/import")
async def catalog_import(
    request: Request, file: UploadFile = File(...), user: AuthUser = Depends(ADMIN)
) -> Response:
    """Save the upload and import it as a background job; the job page shows the outcome."""
    name = file.filename or ""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ACCEPTED_SUFFIXES:
        flash(request, "请上传 CSV、JSON 或 YAML 文件（扩展名 .csv / .json / .yaml）。", "error")
        return RedirectResponse("/admin/catalog", status_code=303)
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(
            413, detail=f"文件超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，请拆分后分批导入。"
        )
    if not data.strip():
        flash(request, "上传的文件是空的。", "error")
        return RedirectResponse("/admin/catalog", status_code=303)
    app = request.app
    settings, factory = app.state.settings, app.state.session_factory
    path = save_upload(data, name, settings.data_dir / "imports" / uuid.uuid4().hex)
    outcome = ImportOutcome(filename=name)

    def refresh() -> str:
        with session_scope(factory) as session:
            search, recommender, note = rebuild_search(
                settings, session, previous_recommender=getattr(app.state, "recommender", None)
            )
        app.state.search, app.state.search_error = search, ""
        if recommender is not None:
            app.state.recommender = recommender
        return note

    def work(progress: Progress) -> str:
        return run_catalog_import(
            progress, factory=factory, path=path, outcome=outcome, actor_id=user.id,
            refresh_index=refresh,
        )  # fmt: skip

    details = job_details(app)
    job = app.state.jobs.submit("import", f"导入课程目录：{name}", work, owner_id=user.id)
    details[job.id] = outcome
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


# ------------------------------------------------------------------------------- policy


def policy_view(policy: CreditPolicy) -> dict[str, Any]:
    categories = [(c, policy.minimum_for(c)) for c in CATEGORIES if policy.minimum_for(c)]
    sources = [
        {"label": SOURCE_LABELS[s], "code": s.value, "counts": rule.counts, "cap": rule.cap_hours,
         "review": rule.needs_review}
        for s, rule in policy.sources.items()
    ]  # fmt: skip
    return {"categories": categories, "sources": sources,
            "free_hours": policy.total_hours - sum(h for _, h in categories)}  # fmt: skip


@router.get("/admin/policy", response_class=HTMLResponse)
def policy_page(request: Request, user: AuthUser = Depends(ADMIN)) -> HTMLResponse:
    policy: CreditPolicy = request.app.state.policy
    return render(request, "admin/policy.html", {"policy": policy, **policy_view(policy)})


# ---------------------------------------------------------------------------------- API


@api.get("/compliance", tags=["compliance"])
def compliance_api(
    request: Request,
    level: str = Query("county", pattern="^(county|school)$", description="county or school"),
    user: AuthUser = Depends(ADMIN),
    session: Session = Depends(get_db, scope="function"),
) -> dict[str, Any]:
    """Compliance with the credit policy aggregated by county or school (admin, own region).

    Each row: teachers, mean progress, shares compliant / on track / ethics met / current
    year met, counted hours, rural-and-weak-school teachers and their on-track share, and
    ``statuses`` (teachers per status: 已达标 / 进度正常 / 需关注 / 进度滞后).
    """
    regions = admin_regions(session, user)
    rows = rows_in_scope(request, session, regions)
    return {
        "level": level,
        "as_of": date.today().isoformat(),
        "policy": request.app.state.policy.code,
        "teachers": len(rows),
        "rows": [v.as_dict() for v in group_views(rows, by=level)],
    }
