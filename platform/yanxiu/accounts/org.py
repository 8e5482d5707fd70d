"""Regions (province → city → county) and schools, managed by admins within their region.

Codes are generated when not given: a child region's code extends its parent's (``GX`` →
``GX01`` → ``GX0101``), so ordering by code is tree order. Every change is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, RegionLevel, Role, School, SchoolLocation, User
from yanxiu.accounts.scope import Scope
from yanxiu.audit.service import record_audit
from yanxiu.errors import Conflict, Invalid, NotAllowed, NotFound

LEVEL_LABELS = {RegionLevel.PROVINCE: "省", RegionLevel.CITY: "市", RegionLevel.COUNTY: "区县"}
CHILD_LEVEL = {RegionLevel.PROVINCE: RegionLevel.CITY, RegionLevel.CITY: RegionLevel.COUNTY}
LOCATION_LABELS = {
    SchoolLocation.URBAN: "城区",
    SchoolLocation.TOWN: "镇区",
    SchoolLocation.RURAL: "乡村",
}
SCHOOL_KINDS = ("幼儿园", "小学", "初级中学", "高级中学", "完全中学", "九年一贯制学校",
                "十二年一贯制学校", "教学点", "特殊教育学校", "中等职业学校")  # fmt: skip
STAGES = ("幼儿园", "小学", "初中", "高中")
CODE = re.compile(r"^[A-Za-z0-9-]{2,16}$")


def guess_level(name: str) -> RegionLevel:
    """省/自治区 → province, …市 → city, anything else (区, 县, 旗) → county."""
    if name.endswith(("省", "自治区")) or name in ("北京市", "上海市", "天津市", "重庆市"):
        return RegionLevel.PROVINCE
    if name.endswith(("市", "州", "盟")):
        return RegionLevel.CITY
    return RegionLevel.COUNTY


def free_code(session: Session, prefix: str, width: int, table: type[Region] | type[School]) -> str:
    taken = set(session.scalars(select(table.code).where(table.code.like(f"{prefix}%"))))
    for n in range(1, 10**width):
        code = f"{prefix}{n:0{width}d}"
        if code not in taken:
            return code
    raise Conflict("编码已用尽，请手动填写编码。")


def ensure_top_region(
    session: Session,
    *,
    name: str,
    level: RegionLevel | None,
    policy_code: str,
    actor_id: int | None,
) -> Region:
    """The region named ``name`` (by name or code), created as the top of the tree when the
    install has no region yet (the first administrator's region)."""
    name = name.strip()
    found = session.scalar(select(Region).where((Region.name == name) | (Region.code == name)))
    if found is not None:
        return found
    if session.scalar(select(func.count(Region.id))):
        raise NotFound(f"没有名为“{name}”的区域；已有区域时请先在网页的“区域与学校”中添加。")
    if not name or len(name) > 64:
        raise Invalid("区域名称应为 1–64 个字。")
    region = Region(code=free_code(session, "R", 2, Region), name=name,
                    level=level or guess_level(name), policy_code=policy_code)  # fmt: skip
    session.add(region)
    session.flush()
    record_audit(session, actor_id=actor_id, action="region.create", entity="region",
                 entity_id=region.id, detail={"name": name, "level": region.level.value})  # fmt: skip
    return region


def create_region(
    session: Session, *, actor_id: int, scope: Scope, name: str, parent_id: int, code: str = ""
) -> Region:
    """A city under a province or a county under a city, inside the admin's region."""
    parent = session.get(Region, parent_id) if parent_id else None
    if parent is None:
        raise Invalid("请选择上级区域。", fields={"parent_id": "必选"})
    if not scope.covers_region(parent.id):
        raise NotAllowed("只能在本辖区内添加下级区域。")
    level = CHILD_LEVEL.get(parent.level)
    if level is None:
        raise Invalid(
            "区县下不能再添加区域；请在区县下添加学校。", fields={"parent_id": "区县没有下级区域"}
        )
    name = _name(name, "name")
    siblings = session.scalar(
        select(Region.id).where(Region.parent_id == parent.id, Region.name == name)
    )
    if siblings is not None:
        raise Conflict(f"“{parent.name}”下已有名为“{name}”的区域。", fields={"name": "重名"})
    code = _code(session, code, Region) or free_code(session, parent.code, 2, Region)
    region = Region(
        code=code, name=name, level=level, parent_id=parent.id, policy_code=parent.policy_code
    )
    _insert(session, region)
    record_audit(session, actor_id=actor_id, action="region.create", entity="region",
                 entity_id=region.id, detail={"name": name, "parent": parent.name})  # fmt: skip
    return region


def rename_region(
    session: Session, *, actor_id: int, scope: Scope, region_id: int, name: str
) -> Region:
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound("没有这个区域。")
    if not scope.covers_region(region.id):
        raise NotAllowed("无权访问：该区域不在您的辖区内。")
    name = _name(name, "name")
    old, region.name = region.name, name
    record_audit(session, actor_id=actor_id, action="region.rename", entity="region",
                 entity_id=region.id, detail={"from": old, "to": name})  # fmt: skip
    return region


def _insert(session: Session, row: Region | School) -> None:
    """Add ``row``; a code taken a moment ago by another admin is a conflict, not a crash."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"编码“{row.code}”刚被占用，请重新提交。", fields={"code": "已被使用"}
        ) from None


def _name(value: str, field_name: str) -> str:
    value = value.strip()
    if not value or len(value) > 64:
        raise Invalid("名称应为 1–64 个字。", fields={field_name: "名称应为 1–64 个字"})
    return value


def _code(session: Session, code: str, table: type[Region] | type[School]) -> str:
    code = code.strip()
    if not code:
        return ""
    if not CODE.match(code):
        raise Invalid("编码应为 2–16 位字母、数字或连字符。", fields={"code": "格式不正确"})
    if session.scalar(select(table.id).where(table.code == code)) is not None:
        raise Conflict(f"编码“{code}”已被使用。", fields={"code": "已被使用"})
    return code


@dataclass
class SchoolForm:
    """What the school form and the import give (validated by :func:`school_values`)."""

    name: str
    county_id: int
    kind: str = ""
    location: str = "urban"
    is_weak: bool = False
    stages: list[str] = field(default_factory=list)
    code: str = ""


def school_values(session: Session, scope: Scope, form: SchoolForm) -> dict[str, object]:
    county = session.get(Region, form.county_id)
    if county is None or county.level != RegionLevel.COUNTY or not scope.covers_region(county.id):
        raise Invalid("请选择本辖区内的一个区县。", fields={"county_id": "请选择区县"})
    if form.kind and form.kind not in SCHOOL_KINDS:
        raise Invalid(f"学校类型应为：{'、'.join(SCHOOL_KINDS)}。", fields={"kind": "不认识的类型"})
    try:
        location = SchoolLocation(form.location)
    except ValueError:
        raise Invalid(
            "城乡类型应为城区、镇区或乡村。", fields={"location": "不认识的类型"}
        ) from None
    unknown = [s for s in form.stages if s not in STAGES]
    if unknown:
        raise Invalid(f"学段应为：{'、'.join(STAGES)}。", fields={"stages": "不认识的学段"})
    return {"name": _name(form.name, "name"), "county_id": county.id, "kind": form.kind or None,
            "location": location, "is_weak": form.is_weak, "stages": list(form.stages)}  # fmt: skip


def create_school(session: Session, *, actor_id: int, scope: Scope, form: SchoolForm) -> School:
    values = school_values(session, scope, form)
    same = select(School.id).where(
        School.county_id == values["county_id"], School.name == values["name"]
    )
    if session.scalar(same) is not None:
        raise Conflict(f"该区县已有名为“{values['name']}”的学校。", fields={"name": "重名"})
    county = session.get(Region, form.county_id)
    assert county is not None
    code = _code(session, form.code, School) or free_code(session, f"{county.code}-", 3, School)
    school = School(code=code, **values)
    _insert(session, school)
    record_audit(session, actor_id=actor_id, action="school.create", entity="school",
                 entity_id=school.id, detail={"name": school.name, "code": code})  # fmt: skip
    return school


def update_school(
    session: Session, *, actor_id: int, scope: Scope, school_id: int, form: SchoolForm
) -> School:
    school = session.get(School, school_id)
    if school is None:
        raise NotFound("没有这所学校。")
    if not scope.covers_region(school.county_id):
        raise NotAllowed("无权访问：该学校不在您的辖区内。")
    values = school_values(session, scope, form)
    changes = {
        k: [_plain(getattr(school, k)), _plain(v)]
        for k, v in values.items()
        if getattr(school, k) != v
    }
    for key, value in values.items():
        setattr(school, key, value)
    if changes:
        record_audit(session, actor_id=actor_id, action="school.update", entity="school",
                     entity_id=school.id, detail={"changes": changes})  # fmt: skip
    return school


def _plain(value: object) -> object:
    return value.value if isinstance(value, SchoolLocation) else value


def school_in_scope(session: Session, scope: Scope, school_id: int) -> School:
    school = session.get(School, school_id)
    if school is None:
        raise NotFound("没有这所学校。")
    if not scope.covers_region(school.county_id):
        raise NotAllowed("无权访问：该学校不在您的辖区内。")
    return school


@dataclass
class RegionNode:
    region: Region
    depth: int
    level_label: str
    schools: list[tuple[School, int]] = field(default_factory=list)  # (school, teachers)


def region_tree(session: Session, scope: Scope) -> list[RegionNode]:
    """The admin's regions in tree order, each county with its schools and teacher counts."""
    regions = [
        r
        for r in session.scalars(select(Region).order_by(Region.code))
        if scope.covers_region(r.id)
    ]
    ids = {r.id for r in regions}
    depth: dict[int, int] = {}
    for r in regions:  # parents come first in code order
        depth[r.id] = depth.get(r.parent_id, -1) + 1 if r.parent_id in ids else 0
    teachers = dict(
        session.execute(
            select(User.school_id, func.count(User.id))
            .where(User.role == Role.TEACHER, User.is_active.is_(True), User.school_id.is_not(None))
            .group_by(User.school_id)
        ).all()
    )
    schools: dict[int, list[tuple[School, int]]] = {}
    for s in session.scalars(select(School).where(School.county_id.in_(ids)).order_by(School.code)):
        schools.setdefault(s.county_id, []).append((s, int(teachers.get(s.id, 0))))
    return [
        RegionNode(r, depth[r.id], LEVEL_LABELS[r.level], schools.get(r.id, [])) for r in regions
    ]
