"""管理员：区域（省 → 市 → 区县）与学校（类型、城乡、薄弱校）的维护与批量导入。

Domain rules live in :mod:`yanxiu.accounts.org` (every change within the admin's region,
audited) and :mod:`yanxiu.accounts.org_import` (CSV/XLSX, all or nothing).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.accounts.org import (
    LOCATION_LABELS,
    SCHOOL_KINDS,
    STAGES,
    SchoolForm,
    create_region,
    create_school,
    region_tree,
    rename_region,
    school_in_scope,
    update_school,
)
from yanxiu.accounts.org_import import MAX_UPLOAD_BYTES, TEMPLATE_HEADER, import_org, org_template
from yanxiu.errors import Conflict, Invalid
from yanxiu.web.deps import AdminUser, ScopeDep, SessionDep
from yanxiu.web.pages import flash, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")
CHOICES = {"kinds": SCHOOL_KINDS, "locations": LOCATION_LABELS, "stages": STAGES}


class SchoolFields(BaseModel):
    name: str = Field("", max_length=64)
    county_id: int = 0
    kind: str = Field("", max_length=16)
    location: str = Field("urban", max_length=8)
    is_weak: str = Field("", max_length=4)
    stages: list[str] = Field(default_factory=list, max_length=4)
    code: str = Field("", max_length=16)

    def form(self) -> SchoolForm:
        return SchoolForm(name=self.name, county_id=self.county_id, kind=self.kind, location=self.location,
                          is_weak=bool(self.is_weak), stages=self.stages, code=self.code)  # fmt: skip


@router.get("/admin/org", response_class=HTMLResponse)
def org_page(request: Request, _: AdminUser, scope: ScopeDep, db: SessionDep) -> HTMLResponse:
    tree = region_tree(db, scope)
    return render(request, "admin/org.html", {"tree": tree, "header": TEMPLATE_HEADER, **CHOICES})


def _back(request: Request, message: str, kind: str = "ok", to: str = "/admin/org") -> Response:
    flash(request, message, kind)
    return RedirectResponse(to, status_code=303)


@router.post("/admin/org/regions")
def region_create(
    request: Request, me: AdminUser, scope: ScopeDep, db: SessionDep,
    name: Annotated[str, Form(max_length=64)] = "", parent_id: Annotated[int, Form()] = 0,
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:  # fmt: skip
    try:
        region = create_region(
            db, actor_id=me.id, scope=scope, name=name, parent_id=parent_id, code=code
        )
    except (Invalid, Conflict) as exc:
        return _back(request, exc.message, "error")
    return _back(request, f"已添加区域“{region.name}”（编码 {region.code}）。")


@router.post("/admin/org/regions/{region_id}")
def region_rename(
    request: Request, region_id: int, me: AdminUser, scope: ScopeDep, db: SessionDep,
    name: Annotated[str, Form(max_length=64)] = "",
) -> Response:  # fmt: skip
    try:
        region = rename_region(db, actor_id=me.id, scope=scope, region_id=region_id, name=name)
    except Invalid as exc:
        return _back(request, exc.message, "error")
    return _back(request, f"区域已更名为“{region.name}”。")


@router.post("/admin/org/schools")
def school_create(
    request: Request, me: AdminUser, scope: ScopeDep, db: SessionDep, fields: Annotated[SchoolFields, Form()]
) -> Response:  # fmt: skip
    try:
        school = create_school(db, actor_id=me.id, scope=scope, form=fields.form())
    except (Invalid, Conflict) as exc:
        return _back(request, exc.message, "error")
    return _back(request, f"已添加学校“{school.name}”（代码 {school.code}）。")


@router.get("/admin/org/schools/{school_id}", response_class=HTMLResponse)
def school_edit(
    request: Request, school_id: int, _: AdminUser, scope: ScopeDep, db: SessionDep
) -> HTMLResponse:
    school = school_in_scope(db, scope, school_id)
    counties = [n.region for n in region_tree(db, scope) if n.level_label == "区县"]
    return render(
        request, "admin/school_edit.html", {"school": school, "counties": counties, **CHOICES}
    )


@router.post("/admin/org/schools/{school_id}")
def school_update(
    request: Request, school_id: int, me: AdminUser, scope: ScopeDep, db: SessionDep,
    fields: Annotated[SchoolFields, Form()],
) -> Response:  # fmt: skip
    try:
        school = update_school(
            db, actor_id=me.id, scope=scope, school_id=school_id, form=fields.form()
        )
    except (Invalid, Conflict) as exc:
        return _back(request, exc.message, "error", to=f"/admin/org/schools/{school_id}")
    return _back(request, f"学校“{school.name}”已保存。")


@router.get("/admin/org/template.csv")
def org_template_csv(_: AdminUser) -> Response:
    return Response(org_template("csv"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="schools-template.csv"'})  # fmt: skip


@router.get("/admin/org/template.xlsx")
def org_template_xlsx(_: AdminUser) -> Response:
    return Response(org_template("xlsx"),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="schools-template.xlsx"'})  # fmt: skip


@router.post("/admin/org/import", max_body_size=MAX_UPLOAD_BYTES + 64 * 1024)
async def org_import(
    request: Request, me: AdminUser, scope: ScopeDep, db: SessionDep, file: Annotated[UploadFile, File()]
) -> Response:  # fmt: skip
    """Small files: imported in the request, all or nothing; every bad row is listed."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    result = import_org(db, actor_id=me.id, scope=scope, data=data, filename=file.filename or "")
    if result.problems:
        tree = region_tree(db, scope)
        return render(request, "admin/org.html", {"tree": tree, "header": TEMPLATE_HEADER, "problems": result.problems,
                                                  **CHOICES}, status_code=422)  # fmt: skip
    return _back(request, result.summary)
