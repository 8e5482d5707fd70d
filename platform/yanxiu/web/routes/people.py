"""教师学时档案（管理员、培训者）：a teacher's standing, ledger and training path, opened from the
school drill-down or a programme roster by staff whose scope covers the teacher."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from yanxiu.reports.teacher_record import teacher_path, teacher_record
from yanxiu.web.deps import ReviewerUser, ScopeDep, ServicesDep, SessionDep
from yanxiu.web.pages import is_htmx, render_view
from yanxiu.web.schemas.ledger import LedgerFilters

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@router.get("/people/teachers/{teacher_id}", response_class=HTMLResponse)
def teacher_page(
    request: Request, teacher_id: int, q: LedgerFilters, me: ReviewerUser, scope: ScopeDep,
    services: ServicesDep, db: SessionDep,
) -> HTMLResponse:  # fmt: skip
    view = teacher_record(
        db, scope=scope, viewer_id=me.id, teacher_id=teacher_id, policy=services.policy,
        today=date.today(), year=q.year_index(), category=q.category or None, page=q.page,
    )  # fmt: skip
    return render_view(request, "people/teacher.html", view)


@router.get("/people/teachers/{teacher_id}/path", response_class=HTMLResponse)
def teacher_path_section(
    request: Request, teacher_id: int, _: ReviewerUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep,
) -> Response:  # fmt: skip
    section = teacher_path(
        db, scope=scope, teacher_id=teacher_id, planner=services.recommender,
        unavailable=services.search_error, cache=services.path_cache, policy=services.policy,
        today=date.today(),
    )  # fmt: skip
    name = "teacher/_path.html" if is_htmx(request) else "teacher/path.html"
    return render_view(request, name, section, for_staff=True)
