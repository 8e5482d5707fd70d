"""Compliance with the credit policy, per teacher and aggregated by school and county.

Pure functions over ledger entries: no database, no clock (``today`` is an argument), so
every rule is tested on hand-made examples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from yanxiu.catalog.schema import CATEGORIES, ETHICS_CATEGORY
from yanxiu.credits.ledger import LedgerEntry
from yanxiu.credits.models import CreditSource, ReviewState
from yanxiu.credits.policy import CreditPolicy

# Below this many days of history a pace estimate is noise; treat the cycle as just begun.
MIN_PACE_DAYS = 30


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class YearStatus:
    index: int  # 1 … cycle_years
    start: date
    end: date  # exclusive
    hours: float
    minimum: float
    current: bool

    @property
    def met(self) -> bool:
        return self.hours >= self.minimum

    @property
    def short_by(self) -> float:
        return max(0.0, round(self.minimum - self.hours, 2))


@dataclass
class TeacherCompliance:
    teacher_id: int
    cycle_start: date
    cycle_end: date  # exclusive
    required_total: float
    counted_total: float
    pending_hours: float
    by_category: dict[str, float]
    category_gaps: dict[str, float]
    by_source_raw: dict[str, float]
    by_source_counted: dict[str, float]
    capped_hours: float  # approved hours that did not count because a source cap was reached
    ethics_hours: float
    ethics_required: float
    yearly: list[YearStatus]
    projected_completion: date | None
    completed_on: date | None
    is_induction: bool = False
    induction_required: float = 0.0
    induction_hours: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def progress(self) -> float:
        return min(1.0, self.counted_total / self.required_total) if self.required_total else 1.0

    @property
    def ethics_ok(self) -> bool:
        return self.ethics_hours >= self.ethics_required

    @property
    def hour_gap(self) -> float:
        return max(0.0, round(self.required_total - self.counted_total, 2))

    @property
    def past_years_ok(self) -> bool:
        return all(y.met for y in self.yearly if not y.current and y.end <= self.cycle_end)

    @property
    def current_year(self) -> YearStatus | None:
        return next((y for y in self.yearly if y.current), None)

    @property
    def compliant(self) -> bool:
        """All requirements of the cycle met: total, ethics gate, every category minimum."""
        return self.hour_gap == 0 and self.ethics_ok and not any(self.category_gaps.values())

    @property
    def on_track(self) -> bool:
        if self.compliant:
            return True
        return self.projected_completion is not None and self.projected_completion < self.cycle_end

    @property
    def status(self) -> str:
        if self.compliant:
            return "已达标"
        if self.on_track and self.ethics_ok and self.past_years_ok:
            return "进度正常"
        if self.on_track:
            return "需关注"
        return "进度滞后"


def compute_compliance(
    entries: Iterable[LedgerEntry],
    *,
    policy: CreditPolicy,
    teacher_id: int,
    cycle_start: date,
    today: date,
    tier: str | None = None,
) -> TeacherCompliance:
    """Apply the policy to one teacher's ledger entries.

    Counted hours are approved, not voided, earned inside the cycle, from a source that counts;
    per-source caps are applied in date order (the hours past a cap do not count, and the
    category of the capped part is reduced accordingly).
    """
    cycle_end = add_years(cycle_start, policy.cycle_years)
    mine = sorted(
        (e for e in entries if e.teacher_id == teacher_id), key=lambda e: (e.earned_on, e.id)
    )
    by_category: dict[str, float] = defaultdict(float)
    by_source_raw: dict[str, float] = defaultdict(float)
    by_source_counted: dict[str, float] = defaultdict(float)
    counted_by_day: list[tuple[date, float]] = []
    pending = capped = 0.0
    notes: list[str] = []
    for e in mine:
        if e.voided or not (cycle_start <= e.earned_on < cycle_end):
            continue
        if e.review_state == ReviewState.PENDING:
            pending += e.hours
            continue
        if e.review_state != ReviewState.APPROVED:
            continue
        rule = policy.sources[CreditSource(e.source)]
        if not rule.counts:
            continue
        by_source_raw[e.source] += e.hours
        room = e.hours
        if rule.cap_hours is not None:
            room = max(0.0, min(e.hours, rule.cap_hours - by_source_counted[e.source]))
        capped += e.hours - room
        if room <= 0:
            continue
        by_source_counted[e.source] += room
        by_category[e.category] += room
        counted_by_day.append((e.earned_on, room))
    if capped:
        notes.append(f"有 {capped:g} 学时超过来源上限，未计入周期学时")

    counted_total = round(sum(h for _, h in counted_by_day), 2)
    is_induction = tier is not None and tier == policy.induction_tier
    required_total = policy.total_hours

    # The year in which the running total first reaches the requirement.
    completed_on = None
    running = 0.0
    for day, hours in counted_by_day:
        running += hours
        if running >= required_total - 1e-9:
            completed_on = day
            break

    category_gaps = {}
    for category in CATEGORIES:
        minimum = policy.minimum_for(category)
        if minimum:
            category_gaps[category] = max(0.0, round(minimum - by_category.get(category, 0.0), 2))
    ethics_hours = round(by_category.get(ETHICS_CATEGORY, 0.0), 2)

    yearly = []
    for i in range(policy.cycle_years):
        start, end = add_years(cycle_start, i), add_years(cycle_start, i + 1)
        if start > today:
            break
        hours = sum(h for day, h in counted_by_day if start <= day < end)
        yearly.append(
            YearStatus(
                i + 1, start, end, round(hours, 2), policy.yearly_minimum, start <= today < end
            )
        )

    projected = completed_on
    if projected is None:
        elapsed = max((min(today, cycle_end) - cycle_start).days, MIN_PACE_DAYS)
        pace = counted_total / elapsed  # hours per day so far
        if pace > 0:
            projected = today + timedelta(days=int((required_total - counted_total) / pace) + 1)

    report = TeacherCompliance(
        teacher_id=teacher_id,
        cycle_start=cycle_start,
        cycle_end=cycle_end,
        required_total=required_total,
        counted_total=counted_total,
        pending_hours=round(pending, 2),
        by_category={k: round(v, 2) for k, v in by_category.items()},
        category_gaps=category_gaps,
        by_source_raw={k: round(v, 2) for k, v in by_source_raw.items()},
        by_source_counted={k: round(v, 2) for k, v in by_source_counted.items()},
        capped_hours=round(capped, 2),
        ethics_hours=ethics_hours,
        ethics_required=policy.ethics_minimum,
        yearly=yearly,
        projected_completion=projected,
        completed_on=completed_on,
        notes=notes,
    )
    if is_induction:
        first_year_end = add_years(cycle_start, 1)
        report.is_induction = True
        report.induction_required = policy.induction_hours
        report.induction_hours = round(
            sum(h for day, h in counted_by_day if day < first_year_end), 2
        )
    return report


@dataclass
class GroupCompliance:
    """Compliance of a group of teachers (a school or a county)."""

    key: str
    name: str
    teachers: int = 0
    compliant: int = 0
    on_track: int = 0
    ethics_ok: int = 0
    current_year_met: int = 0
    counted_hours: float = 0.0
    rural_teachers: int = 0
    rural_on_track: int = 0
    progress_sum: float = 0.0

    def add(self, report: TeacherCompliance, *, rural: bool) -> None:
        self.teachers += 1
        self.compliant += report.compliant
        self.on_track += report.on_track
        self.ethics_ok += report.ethics_ok
        year = report.current_year
        self.current_year_met += bool(year and year.met)
        self.counted_hours += report.counted_total
        self.progress_sum += report.progress
        if rural:
            self.rural_teachers += 1
            self.rural_on_track += report.on_track

    def share(self, count: int, of: int | None = None) -> float:
        total = self.teachers if of is None else of
        return round(count / total, 4) if total else 0.0

    @property
    def mean_progress(self) -> float:
        return round(self.progress_sum / self.teachers, 4) if self.teachers else 0.0

    def as_row(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "teachers": self.teachers,
            "mean_progress": self.mean_progress,
            "compliant_share": self.share(self.compliant),
            "on_track_share": self.share(self.on_track),
            "ethics_ok_share": self.share(self.ethics_ok),
            "current_year_met_share": self.share(self.current_year_met),
            "counted_hours": round(self.counted_hours, 2),
            "rural_teachers": self.rural_teachers,
            "rural_on_track_share": self.share(self.rural_on_track, self.rural_teachers),
        }


def aggregate(
    reports: Sequence[tuple[TeacherCompliance, str, str, bool]],
) -> list[GroupCompliance]:
    """Aggregate (report, group key, group name, is_rural) tuples into groups, sorted by key."""
    groups: dict[str, GroupCompliance] = {}
    for report, key, name, rural in reports:
        groups.setdefault(key, GroupCompliance(key=key, name=name)).add(report, rural=rural)
    return [groups[k] for k in sorted(groups)]
