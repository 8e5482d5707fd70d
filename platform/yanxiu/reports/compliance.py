"""Compliance reports over the database: per teacher, school and county."""

from __future__ import annotations

import io
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from yanxiu.accounts.models import Role, School, User
from yanxiu.accounts.scope import Scope
from yanxiu.credits.compliance import (
    GroupCompliance,
    TeacherCompliance,
    aggregate,
    compute_compliance,
)
from yanxiu.credits.ledger import LedgerEntry, ledger_entries
from yanxiu.credits.models import CreditRecord, CreditReview, CreditSource, CreditVoid, ReviewState
from yanxiu.credits.policy import CreditPolicy
from yanxiu.spreadsheet import BOM, csv_writer


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


# ------------------------------------------------------------------ scoped, cached, exported

STATUS_ORDER = ("已达标", "进度正常", "需关注", "进度滞后")
STATUS_COLOURS = {
    "已达标": "#0b5e33",
    "进度正常": "#3aa66a",
    "需关注": "#e0a800",
    "进度滞后": "#c0392b",
}
_CACHE_SIZE = 8
_cache: OrderedDict[tuple[Any, ...], dict[int, tuple[date, str, TeacherCompliance]]] = OrderedDict()
_cache_lock = threading.Lock()


def compliance_entries(session: Session, teacher_ids: Sequence[int]) -> list[LedgerEntry]:
    """The ledger as compliance reads it, in one pass over plain columns (no ORM objects).

    Same effective state as :func:`yanxiu.credits.ledger.ledger_entries` (latest review wins,
    voided flag) but without evidence, so reading 300 teachers' ledgers stays fast.
    """
    if not teacher_ids:
        return []
    ids = list(teacher_ids)
    records: list[Any] = []
    for start in range(0, len(ids), 900):
        records += session.execute(
            select(
                CreditRecord.id, CreditRecord.teacher_id, CreditRecord.source, CreditRecord.category,
                CreditRecord.hours, CreditRecord.earned_on, CreditRecord.initial_review_state,
                CreditRecord.replaces_id, CreditRecord.created_at,
            ).where(CreditRecord.teacher_id.in_(ids[start : start + 900]))
        ).all()  # fmt: skip
    voided: set[int] = set()
    reviews: dict[int, ReviewState] = {}
    for start in range(0, len(ids), 900):
        # Joined through the teacher's records (indexed), never a scan of the whole table:
        # at province scale the void and review tables hold millions of rows.
        chunk = ids[start : start + 900]
        voided.update(
            session.scalars(
                select(CreditVoid.record_id)
                .join(CreditRecord, CreditRecord.id == CreditVoid.record_id)
                .where(CreditRecord.teacher_id.in_(chunk))
            )
        )
        for rid, state in session.execute(
            select(CreditReview.record_id, CreditReview.state)
            .join(CreditRecord, CreditRecord.id == CreditReview.record_id)
            .where(CreditRecord.teacher_id.in_(chunk))
            .order_by(CreditReview.id)
        ):
            reviews[rid] = ReviewState(state)
    return [
        LedgerEntry(
            id=r.id,
            teacher_id=r.teacher_id,
            source=CreditSource(r.source),
            category=r.category,
            hours=float(r.hours),
            earned_on=r.earned_on,
            title="",
            evidence={},
            idempotency_key="",
            review_state=reviews.get(r.id, ReviewState(r.initial_review_state)),
            voided=r.id in voided,
            void_reason="",
            replaces_id=r.replaces_id,
            created_at=r.created_at,
        )  # fmt: skip
        for r in sorted(records, key=lambda r: (r.earned_on, r.id))
    ]


def _ledger_fingerprint(session: Session) -> tuple[Any, ...]:
    """Changes whenever the ledger does (its tables are append-only: ids and counts suffice)."""
    return tuple(
        session.execute(
            select(
                select(func.max(CreditRecord.id)).scalar_subquery(),
                select(func.count(CreditRecord.id)).scalar_subquery(),
                select(func.max(CreditVoid.id)).scalar_subquery(),
                select(func.max(CreditReview.id)).scalar_subquery(),
            )
        ).one()
    )


def scoped_teachers(
    session: Session,
    *,
    scope: Scope,
    school_id: int | None = None,
    teacher_ids: Collection[int] | None = None,
) -> list[User]:
    """Active teachers with a profile in ``scope`` (narrow it for a county's drill-down), in
    one school and/or among these ids (each filter applies when given)."""
    query = scope.filter(
        select(User)
        .where(User.role == Role.TEACHER, User.is_active.is_(True))
        .options(joinedload(User.profile), joinedload(User.school).joinedload(School.county))
        .order_by(User.username)
    )
    if school_id is not None:
        query = query.where(User.school_id == school_id)
    if teacher_ids is not None:
        query = query.where(User.id.in_(list(teacher_ids)))
    return [u for u in session.scalars(query).unique() if u.profile is not None]


def scoped_compliance(
    session: Session,
    *,
    policy: CreditPolicy,
    today: date,
    scope: Scope,
    school_id: int | None = None,
    teacher_ids: Collection[int] | None = None,
) -> list[TeacherRow]:
    """Compliance of the teachers in scope, reusing reports while the ledger is unchanged.

    Reports are cached per database, policy, day and ledger fingerprint (and checked against
    each teacher's cycle start and tier), so a dashboard, its drill-downs and its CSV export
    compute each teacher once until a credit, void or review lands.
    """
    teachers = scoped_teachers(session, scope=scope, school_id=school_id, teacher_ids=teacher_ids)
    bind = session.get_bind()
    key = (str(bind.engine.url), policy.model_dump_json(), today, _ledger_fingerprint(session))
    with _cache_lock:
        known = _cache.get(key)
        if known is None:
            known = _cache[key] = {}
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
        known = dict(known)

    def fresh(u: User) -> bool:
        hit = known.get(u.id)
        assert u.profile is not None
        return hit is not None and hit[:2] == (u.profile.cycle_start, u.profile.tier)

    missing = [u for u in teachers if not fresh(u)]
    if missing:
        by_teacher: dict[int, list[LedgerEntry]] = {}
        for e in compliance_entries(session, [u.id for u in missing]):
            by_teacher.setdefault(e.teacher_id, []).append(e)
        computed = {}
        for u in missing:
            assert u.profile is not None
            report = compute_compliance(
                by_teacher.get(u.id, []), policy=policy, teacher_id=u.id,
                cycle_start=u.profile.cycle_start, today=today, tier=u.profile.tier,
            )  # fmt: skip
            computed[u.id] = (u.profile.cycle_start, u.profile.tier, report)
        known.update(computed)
        with _cache_lock:
            if key in _cache:
                _cache[key].update(computed)
    return [TeacherRow(u, u.school, known[u.id][2]) for u in teachers]


@dataclass
class GroupView:
    """A school or county: aggregate compliance, teachers per status and where to drill down."""

    group: GroupCompliance
    statuses: dict[str, int]
    region_id: int | None = None  # county (by="county")
    school_id: int | None = None  # school (by="school")
    rural_or_weak: bool = False  # school (by="school")
    location: str = ""

    def as_dict(self) -> dict[str, object]:
        return self.group.as_row() | {
            "statuses": dict(self.statuses), "region_id": self.region_id, "school_id": self.school_id,
        }  # fmt: skip


LOCATION_LABELS = {"urban": "城区", "town": "镇区", "rural": "乡村"}


def group_views(rows: list[TeacherRow], *, by: str) -> list[GroupView]:
    """:func:`group_compliance` plus status counts and ids, in the same (key) order."""
    groups = group_compliance(rows, by=by)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    ids: dict[str, School | None] = {}
    for r in rows:
        school = r.school
        if by == "school":
            key = school.code if school else "-"
        else:
            key = school.county.code if school else "-"
        statuses[key][r.report.status] += 1
        ids.setdefault(key, school)
    out = []
    for g in groups:
        school = ids.get(g.key)
        view = GroupView(g, {s: statuses[g.key].get(s, 0) for s in STATUS_ORDER})
        if school is not None and by == "county":
            view.region_id = school.county_id
        elif school is not None:
            view.school_id, view.rural_or_weak = school.id, school.is_rural or school.is_weak
            view.location = LOCATION_LABELS.get(school.location.value, "") + (
                "·薄弱校" if school.is_weak else ""
            )
        out.append(view)
    return out


def status_chart(views: Sequence[GroupView], *, title: str) -> dict[str, Any]:
    """A Chart.js horizontal stacked bar: teachers per status for each group."""
    return {
        "type": "bar",
        "data": {
            "labels": [v.group.name for v in views],
            "datasets": [
                {"label": s, "data": [v.statuses.get(s, 0) for v in views],
                 "backgroundColor": STATUS_COLOURS[s]}
                for s in STATUS_ORDER
            ],
        },
        "options": {
            "indexAxis": "y",
            "scales": {"x": {"stacked": True, "title": {"display": True, "text": "教师人数"}},
                       "y": {"stacked": True}},
            "plugins": {"legend": {"position": "bottom"}, "title": {"display": True, "text": title}},
        },
    }  # fmt: skip


TEACHER_COLUMNS = {
    "username": "用户名", "name": "姓名", "school": "学校", "county": "区县", "tier": "层级",
    "cycle_start": "周期开始", "cycle_end": "周期结束", "counted_hours": "已计学时",
    "required_hours": "周期要求学时", "progress": "完成比例", "ethics_hours": "师德师风学时",
    "ethics_ok": "师德达标", "current_year_hours": "本学年学时", "yearly_minimum": "学年最低学时",
    "past_years_ok": "往年均达最低", "pending_hours": "待审核学时", "category_gaps": "类别缺口",
    "projected_completion": "预计完成日期", "status": "状态",
}  # fmt: skip
GROUP_COLUMNS = {
    "key": "代码", "name": "名称", "teachers": "教师数", "mean_progress": "平均完成比例",
    "compliant_share": "已达标比例", "on_track_share": "预计按期完成比例",
    "ethics_ok_share": "师德达标比例", "current_year_met_share": "本学年达最低学时比例",
    "counted_hours": "已计学时合计", "rural_teachers": "乡村及薄弱校教师数",
    "rural_on_track_share": "乡村及薄弱校预计按期完成比例",
}  # fmt: skip


def teacher_csv_chunks(rows: Iterable[dict[str, object]], *, per_chunk: int = 500) -> Iterator[str]:
    """Teacher-level compliance CSV (BOM and header first) in chunks of ``per_chunk`` rows, so
    a province's 100,000 rows stream out without being held in memory."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv_writer(buf)
    writer.writerow(TEACHER_COLUMNS.values())
    for i, d in enumerate(rows, 1):
        writer.writerow(
            ("是" if v else "否") if isinstance(v, bool) else v
            for v in (d[k] for k in TEACHER_COLUMNS)
        )
        if i % per_chunk == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def group_csv(views: Sequence[GroupView]) -> str:
    """School- or county-level compliance as CSV (UTF-8 with a BOM)."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv_writer(buf)
    writer.writerow([*GROUP_COLUMNS.values(), *(f"{s}人数" for s in STATUS_ORDER)])
    for v in views:
        d = v.group.as_row()
        writer.writerow([*(d[k] for k in GROUP_COLUMNS), *(v.statuses[s] for s in STATUS_ORDER)])
    return buf.getvalue()


def compliance_csv(rows: list[TeacherRow], *, level: str) -> str:
    """Compliance at ``teacher``, ``school`` or ``county`` level as CSV, UTF-8 with a BOM
    (so Excel opens the Chinese headers correctly)."""
    if level == "teacher":
        return "".join(teacher_csv_chunks(teacher_row_dict(r) for r in rows))
    if level in ("school", "county"):
        return group_csv(group_views(rows, by=level))
    raise ValueError("level must be teacher, school or county")
