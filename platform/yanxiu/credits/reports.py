"""Compliance reports over the database: per teacher, school and county."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from yanxiu.accounts.models import Role, School, User
from yanxiu.credits.compliance import (
    GroupCompliance,
    TeacherCompliance,
    aggregate,
    compute_compliance,
)
from yanxiu.credits.ledger import LedgerEntry, ledger_entries
from yanxiu.credits.policy import CreditPolicy


@dataclass
class TeacherRow:
    user: User
    school: School | None
    report: TeacherCompliance


def teacher_compliance(
    session: Session, *, policy: CreditPolicy, today: date, region_id: int | None = None
) -> list[TeacherRow]:
    """Compliance of every teacher (optionally within one county or city)."""
    query = (
        select(User)
        .where(User.role == Role.TEACHER, User.is_active.is_(True))
        .options(joinedload(User.profile), joinedload(User.school).joinedload(School.county))
        .order_by(User.username)
    )
    teachers = [u for u in session.scalars(query).unique() if u.profile is not None]
    if region_id is not None:
        teachers = [
            u
            for u in teachers
            if u.region_id == region_id or (u.school and u.school.county.parent_id == region_id)
        ]
    entries_by_teacher: dict[int, list[LedgerEntry]] = {}
    for e in ledger_entries(session, [u.id for u in teachers]):
        entries_by_teacher.setdefault(e.teacher_id, []).append(e)
    rows = []
    for u in teachers:
        assert u.profile is not None
        report = compute_compliance(
            entries_by_teacher.get(u.id, []), policy=policy, teacher_id=u.id,
            cycle_start=u.profile.cycle_start, today=today, tier=u.profile.tier,
        )  # fmt: skip
        rows.append(TeacherRow(u, u.school, report))
    return rows


def group_compliance(rows: list[TeacherRow], *, by: str) -> list[GroupCompliance]:
    """Aggregate teacher rows by ``school`` or ``county``."""
    keyed = []
    for r in rows:
        school = r.school
        rural = bool(school and (school.is_rural or school.is_weak))
        if by == "school":
            key, name = (school.code, school.name) if school else ("-", "未分配学校")
        elif by == "county":
            key, name = (school.county.code, school.county.name) if school else ("-", "未分配区县")
        else:
            raise ValueError("by must be 'school' or 'county'")
        keyed.append((r.report, key, name, rural))
    return aggregate(keyed)


def teacher_row_dict(r: TeacherRow) -> dict[str, object]:
    rep = r.report
    year = rep.current_year
    return {
        "username": r.user.username,
        "name": r.user.display_name,
        "school": r.school.name if r.school else "",
        "county": r.school.county.name if r.school else "",
        "tier": r.user.profile.tier if r.user.profile else "",
        "cycle_start": rep.cycle_start.isoformat(),
        "cycle_end": rep.cycle_end.isoformat(),
        "counted_hours": rep.counted_total,
        "required_hours": rep.required_total,
        "progress": round(rep.progress, 4),
        "ethics_hours": rep.ethics_hours,
        "ethics_ok": rep.ethics_ok,
        "current_year_hours": year.hours if year else 0,
        "yearly_minimum": year.minimum if year else 0,
        "past_years_ok": rep.past_years_ok,
        "pending_hours": rep.pending_hours,
        "category_gaps": ";".join(f"{k}:{v:g}" for k, v in rep.category_gaps.items() if v),
        "projected_completion": rep.projected_completion.isoformat()
        if rep.projected_completion
        else "",
        "status": rep.status,
    }
