"""The roster as admins read it: teachers in scope, filtered and paged, phones masked; and
the roster export (CSV, phones masked: the export leaves the server)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, School, TeacherProfile, User
from yanxiu.accounts.roster import TEMPLATE_HEADER, mask_phone
from yanxiu.accounts.scope import Scope
from yanxiu.spreadsheet import BOM, csv_writer, xlsx_bytes

PAGE_SIZE = 50


@dataclass(frozen=True)
class RosterRow:
    id: int
    staff_no: str
    name: str
    gender: str
    school: str
    school_id: int | None
    stage: str
    subjects: str
    tier: str
    title: str
    phone: str  # masked
    employment: str
    is_active: bool
    must_change: bool


@dataclass
class RosterView:
    rows: list[RosterRow]
    total: int
    page: int
    pages: int
    q: str
    school_id: int | None
    status: str
    schools: list[tuple[int, str]]
    active: int
    inactive: int


def _query(scope: Scope, q: str, school_id: int | None, status: str):
    query = scope.filter(
        select(User, TeacherProfile, School.name)
        .outerjoin(TeacherProfile, TeacherProfile.user_id == User.id)
        .outerjoin(School, School.id == User.school_id)
        .where(User.role == Role.TEACHER)
    )
    if q:
        like = f"%{q}%"
        query = query.where(
            or_(User.display_name.like(like), User.staff_no.like(like), User.username.like(like))
        )
    if school_id is not None:
        query = query.where(User.school_id == school_id)
    if status == "active":
        query = query.where(User.is_active.is_(True))
    elif status == "inactive":
        query = query.where(User.is_active.is_(False))
    return query


def _row(user: User, profile: TeacherProfile | None, school: str | None) -> RosterRow:
    return RosterRow(
        user.id, user.staff_no or user.username, user.display_name, (profile.gender if profile else "") or "",
        school or "—", user.school_id, profile.stage if profile else "",
        "、".join(profile.subjects) if profile else "", profile.tier if profile else "",
        (profile.title if profile else "") or "", mask_phone(user.phone),
        user.employment or ("在职" if user.is_active else "停用"), user.is_active, user.must_change_password,
    )  # fmt: skip


def roster_view(
    session: Session, scope: Scope, *, q: str = "", school_id: int | None = None, status: str = "",
    page: int = 1,
) -> RosterView:  # fmt: skip
    query = _query(scope, q.strip(), school_id, status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    found = session.execute(
        query.order_by(User.staff_no, User.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    rows = [_row(u, p, s) for u, p, s in found]
    schools = [(s.id, s.name) for s in session.scalars(select(School).order_by(School.code))
               if scope.covers_region(s.county_id)]  # fmt: skip
    counts = dict(session.execute(
        scope.filter(select(User.is_active, func.count(User.id)).where(User.role == Role.TEACHER)).group_by(User.is_active)
    ).all())  # fmt: skip
    return RosterView(rows, total, page, pages, q, school_id, status, schools,
                      int(counts.get(True, 0)), int(counts.get(False, 0)))  # fmt: skip


EXPORT_HEADER = [
    "工号",
    "姓名",
    "性别",
    "学校",
    "学段",
    "任教学科",
    "层次",
    "职称",
    "手机号（已脱敏）",
    "状态",
]


def roster_csv(session: Session, scope: Scope) -> bytes:
    """Every teacher in scope as CSV for Excel (UTF-8 with BOM); phones masked."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv_writer(out)
    writer.writerow(EXPORT_HEADER)
    query = _query(scope, "", None, "").order_by(User.staff_no, User.id)
    for user, profile, school in session.execute(query):
        r = _row(user, profile, school)
        writer.writerow([r.staff_no, r.name, r.gender, r.school, r.stage, r.subjects, r.tier, r.title,
                         r.phone, r.employment])  # fmt: skip
    return out.getvalue().encode("utf-8")


TEMPLATE_ROWS = [
    ["20190012", "李晓梅", "女", "南山县第一小学", "小学", "语文、道德与法治", "班主任", "骨干教师", "一级教师",
     "2012-09-01", "13800138000", "在职"],
    ["20210305", "陈志远", "男", "南山县第二中学", "初中", "数学", "", "", "二级教师", "2021-08-25", "", "在职"],
    ["20080117", "黄丽", "女", "南山县第二中学", "初中", "英语", "教研组长", "", "高级教师", "2008-09-01", "", "调出"],
]  # fmt: skip


def roster_template(kind: str) -> bytes:
    """The import template with three example rows (XLSX, or CSV with BOM for Excel)."""
    if kind == "xlsx":
        return xlsx_bytes(TEMPLATE_HEADER, TEMPLATE_ROWS, title="教师名册")
    out = io.StringIO()
    out.write(BOM)
    writer = csv_writer(out)
    writer.writerow(TEMPLATE_HEADER)
    writer.writerows(TEMPLATE_ROWS)
    return out.getvalue().encode("utf-8")
