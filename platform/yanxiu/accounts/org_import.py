"""Regions and schools from a CSV/XLSX file (all or nothing; every bad row by row and column).

Columns: 上级区域 (a city or province already in the admin's region, needed only to create a
county), 区县, 学校名称, 学校代码 (optional), 学校类型, 城乡类型 (城区/镇区/乡村), 薄弱校
(是/否), 学段 (several, 、). A school is matched by its code, else by county and name: a match
is updated, anything else created. A county not yet known is created under 上级区域.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, RegionLevel, School, SchoolLocation
from yanxiu.accounts.org import SCHOOL_KINDS, STAGES, free_code
from yanxiu.accounts.roster import SPLIT, RowProblem
from yanxiu.accounts.scope import Scope
from yanxiu.audit.service import record_audit
from yanxiu.errors import Invalid
from yanxiu.spreadsheet import BOM, csv_writer, read_table, xlsx_bytes

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
TEMPLATE_HEADER = [
    "上级区域",
    "区县",
    "学校名称",
    "学校代码",
    "学校类型",
    "城乡类型",
    "薄弱校",
    "学段",
]
TEMPLATE_ROWS = [
    ["北溪市", "南山县", "南山县第一小学", "", "小学", "城区", "否", "小学"],
    ["北溪市", "南山县", "南山县石桥镇中心小学", "", "小学", "镇区", "否", "小学"],
    ["北溪市", "南山县", "南山县岭头乡九年一贯制学校", "", "九年一贯制学校", "乡村", "是", "小学、初中"],
]  # fmt: skip
LOCATIONS = {
    "城区": SchoolLocation.URBAN,
    "镇区": SchoolLocation.TOWN,
    "乡村": SchoolLocation.RURAL,
}
YES_NO = {"是": True, "否": False, "": False, "Y": True, "N": False}


@dataclass
class OrgImport:
    problems: list[RowProblem] = field(default_factory=list)
    summary: str = ""


def org_template(kind: str) -> bytes:
    if kind == "xlsx":
        return xlsx_bytes(TEMPLATE_HEADER, TEMPLATE_ROWS, title="学校")
    out = io.StringIO()
    out.write(BOM)
    writer = csv_writer(out)
    writer.writerow(TEMPLATE_HEADER)
    writer.writerows(TEMPLATE_ROWS)
    return out.getvalue().encode("utf-8")


def import_org(
    session: Session, *, actor_id: int, scope: Scope, data: bytes, filename: str
) -> OrgImport:
    """Check every row; write only when none is bad (then nothing is written at all)."""
    result = OrgImport()
    if len(data) > MAX_UPLOAD_BYTES:
        result.problems.append(RowProblem(0, "", "文件超过 5 MB，请拆分后分批导入。"))
        return result
    try:
        table = read_table(data, filename)
    except Invalid as exc:
        result.problems.append(RowProblem(0, "", exc.message))
        return result
    where = {name: i for i, name in enumerate(table.header) if name in TEMPLATE_HEADER}
    for needed in ("区县", "学校名称"):
        if needed not in where:
            result.problems.append(
                RowProblem(1, needed, f"缺少必填列“{needed}”：请按模板填写表头。")
            )
    if result.problems:
        return result
    regions = [r for r in session.scalars(select(Region)) if scope.covers_region(r.id)]
    by_name = {r.name: r for r in regions} | {r.code: r for r in regions}
    schools = [s for s in session.scalars(select(School)) if scope.covers_region(s.county_id)]
    by_code = {s.code: s for s in schools}
    by_place = {(s.county_id, s.name): s for s in schools}
    new_counties: dict[str, Region] = {}  # name → parent (created on write)
    planned: list[tuple[int, str, dict[str, object], School | None, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in table.rows:

        def cell(column: str, cells: list[str] = cells) -> str:
            i = where.get(column)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        def bad(column: str, message: str, number: int = number) -> None:
            result.problems.append(RowProblem(number, column, message))

        before = len(result.problems)
        county_name, parent_name, name = cell("区县"), cell("上级区域"), cell("学校名称")
        county = by_name.get(county_name)
        if not county_name:
            bad("区县", "区县为空。")
        elif county is not None and county.level != RegionLevel.COUNTY:
            bad("区县", f"“{county_name}”不是区县，学校只能建在区县下。")
        elif county is None and county_name not in new_counties:
            parent = by_name.get(parent_name)
            if parent is None or parent.level != RegionLevel.CITY:
                bad(
                    "上级区域",
                    f"区县“{county_name}”尚不存在：请在“上级区域”填写本辖区内的市名称，以便新建该区县。",
                )
            else:
                new_counties[county_name] = parent
        if not name or len(name) > 64:
            bad("学校名称", "学校名称为空或超过 64 个字。")
        elif (county_name, name) in seen:
            bad("学校名称", f"与第 {seen[(county_name, name)]} 行是同一所学校。")
        else:
            seen[(county_name, name)] = number
        kind = cell("学校类型")
        if kind and kind not in SCHOOL_KINDS:
            bad("学校类型", f"学校类型“{kind}”应为：{'、'.join(SCHOOL_KINDS)}。")
        location = cell("城乡类型") or "城区"
        if location not in LOCATIONS:
            bad("城乡类型", f"城乡类型“{location}”应为：城区、镇区或乡村。")
        weak = cell("薄弱校")
        if weak not in YES_NO:
            bad("薄弱校", f"薄弱校“{weak}”应填“是”或“否”。")
        stages = [s for s in SPLIT.split(cell("学段")) if s]
        if any(s not in STAGES for s in stages):
            bad("学段", f"学段应为：{'、'.join(STAGES)}，多个用顿号分隔。")
        code = cell("学校代码")
        existing = by_code.get(code) if code else None
        if (
            code
            and existing is None
            and session.scalar(select(School.id).where(School.code == code))
        ):
            bad("学校代码", f"学校代码“{code}”属于本辖区以外的学校。")
        if len(result.problems) > before:
            continue
        if existing is None and county is not None:
            existing = by_place.get((county.id, name))
        values: dict[str, object] = {"name": name, "kind": kind or None, "location": LOCATIONS[location],
                  "is_weak": YES_NO[weak], "stages": stages}  # fmt: skip
        planned.append((number, county_name, values, existing, code))
    if result.problems:
        return result
    created_regions = _create_counties(session, new_counties, by_name)
    created = updated = 0
    for _number, county_name, values, existing, code in planned:
        county = by_name[county_name]
        if existing is None:
            school = School(code=code or free_code(session, f"{county.code}-", 3, School),
                            county_id=county.id, **values)  # fmt: skip
            session.add(school)
            session.flush()
            created += 1
        elif (
            any(getattr(existing, k) != v for k, v in values.items())
            or existing.county_id != county.id
        ):
            for key, value in values.items():
                setattr(existing, key, value)
            existing.county_id = county.id
            updated += 1
    result.summary = (f"导入完成：新建区县 {created_regions} 个，新建学校 {created} 所，"
                      f"更新学校 {updated} 所，未变化 {len(planned) - created - updated} 所。")  # fmt: skip
    record_audit(session, actor_id=actor_id, action="org.import", entity="schools", entity_id=filename[:64],
                 detail={"counties": created_regions, "created": created, "updated": updated})  # fmt: skip
    return result


def _create_counties(session: Session, new: dict[str, Region], by_name: dict[str, Region]) -> int:
    for name, parent in new.items():
        county = Region(code=free_code(session, parent.code, 2, Region), name=name, level=RegionLevel.COUNTY,
                        parent_id=parent.id, policy_code=parent.policy_code)  # fmt: skip
        session.add(county)
        session.flush()
        by_name[name] = county
    return len(new)
