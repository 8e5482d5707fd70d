"""教师工作台：仪表盘（学时图表、师德、年度最低学时、预计完成）、研修路径、个人数据导出。

The dashboard itself only reads the teacher's ledger and enrolments (a handful of queries);
the training path is loaded by htmx from ``/teacher/path`` after the page shows, and is
cached per teacher until the teacher's activity fingerprint changes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.audit.service import record_audit
from yanxiu.credits.policy import CreditPolicy
from yanxiu.recommend.service import TrainingPath
from yanxiu.reports.dashboard import (
    REVIEW_LABELS,
    SOURCE_LABELS,
    Dashboard,
    PathCache,
    activity_fingerprint,
    build_dashboard,
    category_rows,
    compliance_summary,
    path_fingerprint,
    teacher_compliance_report,
)
from yanxiu.reports.personal_data import personal_data
from yanxiu.web.auth import AuthUser, require_role
from yanxiu.web.deps import get_db, get_services
from yanxiu.web.pages import is_htmx, render, templates_of

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

TEACHER = require_role(Role.TEACHER)
GAP_LABELS = {"yearly": "本学年最低学时", "total": "周期总学时"}
COLD_START_NOTES = {
    "induction": "您处于新教师入职阶段：路径优先安排入职培训内容。",
    "profile": "您还没有学习记录和经审核的课堂诊断：路径依据您的学段、学科和职级推荐，"
    "完成课程或提交课堂实录后会更精准。",
}
_cache_lock = threading.Lock()


def _policy(request: Request) -> CreditPolicy:
    return get_services(request).policy


def path_cache(request: Request) -> PathCache[TrainingPath]:
    """The app's per-teacher training-path cache."""
    return get_services(request).path_cache


def dashboard_cache(request: Request) -> PathCache[DashboardView]:
    """The app's per-teacher dashboard-data cache."""
    return get_services(request).dashboard_cache


@dataclass(frozen=True)
class DashboardView:
    data: Dashboard | None  # None: the account has no teacher profile
    body: Markup  # the rendered page content


def _dashboard_view(
    request: Request, session: Session, me: AuthUser, policy: CreditPolicy, today: date
) -> DashboardView:
    try:
        data: Dashboard | None = build_dashboard(
            session, teacher_id=me.id, policy=policy, today=today
        )
    except ValueError:  # an account without a teacher profile: nothing to count yet
        data = None
    template = templates_of(request).env.get_template("teacher/_dashboard_body.html")
    context = {"me": me, "d": data, "policy": policy, "today": today,
               "source_labels": SOURCE_LABELS, "review_labels": REVIEW_LABELS}  # fmt: skip
    return DashboardView(data, Markup(template.render(context)))


@router.get("/teacher", response_class=HTMLResponse)
def dashboard(
    request: Request,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    policy, today = _policy(request), date.today()
    # Data and content are reused until the teacher's ledger, enrolments, progress, profile or
    # the catalog change (one cheap query decides); only the page frame is rendered each time.
    key = (today, id(policy), me.display_name, activity_fingerprint(session, me.id))
    view = dashboard_cache(request).get(
        me.id, key, lambda: _dashboard_view(request, session, me, policy, today)
    )
    return render(request, "teacher/dashboard.html", {"me": me, "body": view.body})


def _path_context(request: Request, session: Session, me: AuthUser) -> dict[str, Any]:
    planner = get_services(request).recommender
    if planner is None:
        reason = get_services(request).search_error or "推荐服务尚未就绪"
        return {"path": None, "unavailable": reason}
    today = date.today()
    fingerprint = (today, id(planner), path_fingerprint(activity_fingerprint(session, me.id)))

    def compute() -> TrainingPath:
        return planner.recommend(session, teacher_id=me.id, policy=_policy(request), today=today)

    try:
        path = path_cache(request).get(me.id, fingerprint, compute)
    except ValueError as exc:  # no teacher profile
        return {"path": None, "unavailable": str(exc)}
    return {
        "path": path,
        "unavailable": "",
        "gap_labels": GAP_LABELS,
        "cold_note": COLD_START_NOTES.get(path.cold_start, ""),
    }


@router.get("/teacher/path", response_class=HTMLResponse)
def training_path(
    request: Request,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    """The training path section (an htmx partial; a full page without htmx)."""
    context = {"me": me, **_path_context(request, session, me)}
    name = "teacher/_path.html" if is_htmx(request) else "teacher/path.html"
    return render(request, name, context)


@router.get("/teacher/export")
def export(
    request: Request,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    """Download everything the platform holds about the teacher, as JSON."""
    today = date.today()
    data = personal_data(session, teacher_id=me.id, policy=_policy(request), today=today)
    record_audit(session, actor_id=me.id, action="teacher.export", entity="user",
                 entity_id=me.id, detail={"sections": sorted(data)})  # fmt: skip
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    filename = f"yanxiu-{me.username}-{today.isoformat()}.json"
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# -- JSON API --------------------------------------------------------------------------------


@api.get("/me/compliance", tags=["teacher"])
def my_compliance(
    request: Request,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> dict[str, Any]:
    """The logged-in teacher's compliance with the credit policy in force.

    Counted hours (approved, not voided, inside the cycle, source caps applied), the ethics
    gate, this year's hours against the yearly minimum, category gaps and the projected
    completion date; ``categories`` lists hours against each category's minimum."""
    policy = _policy(request)
    try:
        _, _, report = teacher_compliance_report(
            session, teacher_id=me.id, policy=policy, today=date.today()
        )
    except ValueError as exc:
        raise HTTPException(404, detail="尚未建立教师档案") from exc
    summary = compliance_summary(report, policy)
    summary["categories"] = [
        {"category": r.category, "hours": r.hours, "minimum": r.minimum, "gap": r.gap}
        for r in category_rows(report, policy)
    ]
    return summary
