"""管理员：课程缺口——教师检索了、目录却没有合适课程的问题（匿名计数），及其 CSV 导出。"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from yanxiu.search.gaps import gap_csv, gap_report
from yanxiu.web.deps import AdminUser, SessionDep
from yanxiu.web.pages import render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@router.get("/admin/gaps", response_class=HTMLResponse)
def gaps_page(request: Request, _: AdminUser, db: SessionDep) -> HTMLResponse:
    return render_view(request, "admin/gaps.html", gap_report(db))


@router.get("/admin/gaps.csv")
def gaps_export(_: AdminUser, db: SessionDep) -> Response:
    """The catalog gaps for Excel (UTF-8 with BOM, formula cells neutralised)."""
    name = "课程缺口.csv"
    disposition = f"attachment; filename=\"search-gaps.csv\"; filename*=UTF-8''{quote(name)}"
    return Response(
        gap_csv(gap_report(db, limit=10_000)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )
