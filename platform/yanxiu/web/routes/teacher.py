"""教师工作台：仪表盘（学时图表、师德、年度最低学时、预计完成）、研修路径、个人数据导出。

The dashboard only reads the teacher's ledger and enrolments (a handful of queries) and its
content is reused until the teacher's activity changes
(:func:`yanxiu.reports.dashboard.cached_dashboard`); the training path is loaded by htmx from
``/teacher/path`` after the page shows, and is cached the same way.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from yanxiu.reports.dashboard import (
    REVIEW_LABELS,
    SOURCE_LABELS,
    Dashboard,
    cached_dashboard,
    compliance_document,
    training_path_section,
)
from yanxiu.reports.personal_data import export_personal_data
from yanxiu.reports.teacher_record import own_ledger
from yanxiu.web.deps import ServicesDep, SessionDep, TeacherUser
from yanxiu.web.pages import is_htmx, render, render_view, templates_of
from yanxiu.web.schemas.ledger import LedgerFilters

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@router.get("/teacher", response_class=HTMLResponse)
def dashboard(request: Request, me: TeacherUser, db: SessionDep, services: ServicesDep) -> Response:
    policy, today = services.policy, date.today()

    def content(data: Dashboard | None) -> Markup:
        # rendered once per change of the teacher's data, so nothing in it depends on the request
        template = templates_of(request).env.get_template("teacher/_dashboard_body.html")
        return Markup(template.render(me=me, d=data, policy=policy, today=today,
                                      source_labels=SOURCE_LABELS, review_labels=REVIEW_LABELS))  # fmt: skip

    body = cached_dashboard(
        db, cache=services.dashboard_cache, teacher_id=me.id, display_name=me.display_name,
        policy=policy, today=today, present=content,
    )  # fmt: skip
    return render(request, "teacher/dashboard.html", {"me": me, "body": body})


@router.get("/teacher/path", response_class=HTMLResponse)
def training_path(
    request: Request, me: TeacherUser, db: SessionDep, services: ServicesDep
) -> Response:
    """The training path section (an htmx partial; a full page without htmx)."""
    section = training_path_section(
        db, planner=services.recommender, unavailable=services.search_error,
        cache=services.path_cache, teacher_id=me.id, policy=services.policy, today=date.today(),
    )  # fmt: skip
    name = "teacher/_path.html" if is_htmx(request) else "teacher/path.html"
    return render_view(request, name, section, me=me)


@router.get("/teacher/ledger", response_class=HTMLResponse)
def my_ledger(
    request: Request, q: LedgerFilters, me: TeacherUser, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """The teacher's whole ledger, filtered by cycle year and category, a page at a time."""
    ledger = own_ledger(
        db, teacher_id=me.id, policy=services.policy, today=date.today(), year=q.year_index(),
        category=q.category or None, page=q.page,
    )  # fmt: skip
    return render(request, "teacher/ledger.html", {"ledger": ledger, "me": me})


@router.get("/teacher/export")
def export(me: TeacherUser, db: SessionDep, services: ServicesDep) -> Response:
    """Download everything the platform holds about the teacher, as JSON."""
    download = export_personal_data(
        db, teacher_id=me.id, policy=services.policy, today=date.today()
    )
    return Response(
        download.body,
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"',
            "Cache-Control": "no-store",
        },
    )


# -- JSON API --------------------------------------------------------------------------------


@api.get("/me/compliance", tags=["teacher"])
def my_compliance(me: TeacherUser, db: SessionDep, services: ServicesDep) -> dict[str, Any]:
    """The logged-in teacher's compliance with the credit policy in force.

    Counted hours (approved, not voided, inside the cycle, source caps applied), the ethics
    gate, this year's hours against the yearly minimum, category gaps and the projected
    completion date; ``categories`` lists hours against each category's minimum."""
    return compliance_document(db, teacher_id=me.id, policy=services.policy, today=date.today())
