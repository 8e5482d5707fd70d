"""What an admin sees: compliance by county and school, drill-downs, the CSV export.

Every view is limited to the admin's :class:`~yanxiu.accounts.scope.Scope` (a city admin sees
its counties, a county admin their own county). Admins see aggregates and each teacher's hour
status, never a teacher's practice diagnoses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, RegionLevel, School
from yanxiu.accounts.scope import Scope, region_subtree
from yanxiu.audit.service import record_audit
from yanxiu.credits.compliance import GroupCompliance, aggregate
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import NotAllowed, NotFound
from yanxiu.reports import snapshot
from yanxiu.reports.compliance import (
    LOCATION_LABELS,
    STATUS_ORDER,
    GroupView,
    TeacherRow,
    group_csv,
    group_views,
    scoped_compliance,
    status_chart,
    teacher_csv_chunks,
    teacher_row_dict,
)

OUT_OF_SCOPE = "无权访问：该区域不在您的管辖范围内。"
CSV_LEVELS = {"teacher": "教师", "school": "学校", "county": "区县"}


@dataclass(frozen=True)
class Totals:
    """Headline figures over all rows: the aggregate plus teachers per status."""

    group: GroupCompliance | None
    statuses: dict[str, int]


def totals(rows: list[TeacherRow]) -> Totals:
    keyed = [
        (r.report, "*", "合计", bool(r.school and (r.school.is_rural or r.school.is_weak)))
        for r in rows
    ]
    groups = aggregate(keyed)
    statuses = Counter(r.report.status for r in rows)
    return Totals(groups[0] if groups else None, {s: statuses.get(s, 0) for s in STATUS_ORDER})


def shares_chart(views: list[GroupView]) -> dict[str, Any]:
    """Ethics gate share and rural/weak on-track share per group (percent), for Chart.js."""
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


@dataclass(frozen=True)
class Overview:
    home: Region | None  # the admin's own region
    counties: list[GroupView]
    schools: list[GroupView]  # shown when the scope holds a single county
    totals: Totals
    status_chart: dict[str, Any]
    shares_chart: dict[str, Any]


@dataclass(frozen=True)
class RegionView:
    region: Region
    trail: list[Region]
    is_county: bool
    views: list[GroupView]  # the region's schools (a county) or counties (a city)
    totals: Totals
    chart: dict[str, Any]
    shares_chart: dict[str, Any]


@dataclass(frozen=True)
class SchoolView:
    school: School
    trail: list[Region]
    rows: list[TeacherRow]  # most behind first
    totals: Totals
    location: str


@dataclass(frozen=True)
class CsvExport:
    chunks: Iterable[bytes]
    filename: str  # Chinese, for filename*=
    ascii_name: str


def _rows(
    session: Session, scope: Scope, policy: CreditPolicy, today: date, school_id: int | None = None
) -> list[TeacherRow]:
    return scoped_compliance(session, policy=policy, today=today, scope=scope, school_id=school_id)


def breadcrumbs(session: Session, region: Region | None, scope: Scope) -> list[Region]:
    """From the highest region the admin may see down to ``region``."""
    trail = []
    while region is not None and scope.covers_region(region.id):
        trail.append(region)
        region = session.get(Region, region.parent_id) if region.parent_id else None
    return trail[::-1]


def _grouped(
    session: Session, scope: Scope, policy: CreditPolicy, today: date, by: str
) -> tuple[list[GroupView], Totals]:
    """Group views and totals: from the compliance snapshots when they serve ``today`` (province
    scale), else computed from the ledger. Both give the same figures (tested)."""
    fast = snapshot.grouped(session, scope=scope, policy=policy, today=today, by=by)
    if fast is not None:
        return fast.views, Totals(fast.total, fast.statuses)
    rows = _rows(session, scope, policy, today)
    return group_views(rows, by=by), totals(rows)


def overview(
    session: Session, *, scope: Scope, home_region_id: int | None, policy: CreditPolicy, today: date
) -> Overview:
    counties, overall = _grouped(session, scope, policy, today, "county")
    schools = _grouped(session, scope, policy, today, "school")[0] if len(counties) == 1 else []
    return Overview(
        home=session.get(Region, home_region_id) if home_region_id else None,
        counties=counties, schools=schools, totals=overall,
        status_chart=status_chart(counties, title="各区县教师学时进度"),
        shares_chart=shares_chart(counties),
    )  # fmt: skip


def region_view(
    session: Session, *, scope: Scope, region_id: int, policy: CreditPolicy, today: date
) -> RegionView:
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound("没有这个区域。")
    if not scope.covers_region(region.id):
        raise NotAllowed(OUT_OF_SCOPE)
    is_county = region.level == RegionLevel.COUNTY
    within = scope.within(region_subtree(session, region.id))
    views, overall = _grouped(session, within, policy, today, "school" if is_county else "county")
    return RegionView(
        region=region, trail=breadcrumbs(session, region, scope), is_county=is_county,
        views=views, totals=overall,
        chart=status_chart(views, title=f"{region.name}{'各学校' if is_county else '各区县'}教师学时进度"),
        shares_chart=shares_chart(views),
    )  # fmt: skip


def school_view(
    session: Session, *, scope: Scope, school_id: int, policy: CreditPolicy, today: date
) -> SchoolView:
    school = session.get(School, school_id)
    if school is None:
        raise NotFound("没有这所学校。")
    if not scope.covers_region(school.county_id):
        raise NotAllowed("无权访问：这所学校不在您的管辖范围内。")
    rows = _rows(session, scope, policy, today, school_id=school.id)
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    rows.sort(key=lambda r: (-order[r.report.status], r.report.progress, r.user.username))
    return SchoolView(
        school=school, trail=breadcrumbs(session, session.get(Region, school.county_id), scope),
        rows=rows, totals=totals(rows), location=LOCATION_LABELS.get(school.location.value, ""),
    )  # fmt: skip


def export_compliance(
    session: Session, *, session_factory: Callable[[], Session], scope: Scope, level: str,
    policy: CreditPolicy, today: date, actor_id: int, region_id: int | None,
) -> CsvExport:  # fmt: skip
    """Compliance at ``level`` as CSV for Excel (UTF-8 with BOM), audited; ``region_id`` narrows
    it to one city or county in scope. Teacher rows stream from a session of their own (the
    request's is closed before the body is sent), a few hundred rows at a time."""
    if region_id is not None:
        if not scope.covers_region(region_id):
            raise NotAllowed(OUT_OF_SCOPE)
        scope = scope.within(region_subtree(session, region_id))
    teachers = snapshot.count_teachers(session, scope)
    record_audit(session, actor_id=actor_id, action="compliance.export", entity="region",
                 entity_id=region_id or "-", detail={"level": level, "teachers": teachers})  # fmt: skip
    if level == "teacher":
        chunks: Iterable[bytes] = _stream_teachers(session_factory, scope, policy, today)
    elif level in ("school", "county"):
        chunks = [group_csv(_grouped(session, scope, policy, today, level)[0]).encode("utf-8")]
    else:
        raise ValueError("level must be teacher, school or county")
    return CsvExport(
        chunks=chunks,
        filename=f"学时达标-{CSV_LEVELS[level]}-{today.isoformat()}.csv",
        ascii_name=f"compliance-{level}-{today.isoformat()}.csv",
    )


def _stream_teachers(
    session_factory: Callable[[], Session], scope: Scope, policy: CreditPolicy, today: date
) -> Iterator[bytes]:
    with session_factory() as session:
        rows = snapshot.teacher_rows(session, scope=scope, policy=policy, today=today)
        if rows is None:  # no snapshot for today: compute from the ledger (small installs)
            rows = (teacher_row_dict(r) for r in _rows(session, scope, policy, today))
        for chunk in teacher_csv_chunks(rows):
            yield chunk.encode("utf-8")


def compliance_by_group(
    session: Session, *, scope: Scope, level: str, policy: CreditPolicy, today: date
) -> dict[str, Any]:
    """Compliance aggregated by county or school, as the API returns it."""
    views, overall = _grouped(session, scope, policy, today, level)
    return {
        "level": level,
        "as_of": today.isoformat(),
        "policy": policy.code,
        "teachers": overall.group.teachers if overall.group else 0,
        "rows": [v.as_dict() for v in views],
    }
