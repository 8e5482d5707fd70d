"""Policy rules on hand-made ledgers (no database)."""

from datetime import UTC, date, datetime

import pytest

from yanxiu.credits.compliance import aggregate, compute_compliance
from yanxiu.credits.ledger import LedgerEntry
from yanxiu.credits.models import CreditSource, ReviewState
from yanxiu.credits.policy import CreditPolicy, SourceRule

START = date(2024, 9, 1)
_ids = iter(range(1, 10_000))


def policy(**over) -> CreditPolicy:
    base = dict(
        code="T", name="测试政策", province="测试省", cycle_years=5, total_hours=360, yearly_minimum=72,
        ethics_minimum=30, category_minimums={"学科教学": 90}, induction_hours=120, induction_tier="新任教师",
        tiers=["新任教师", "合格教师"],
        sources={
            CreditSource.ONLINE: SourceRule(cap_hours=240),
            CreditSource.OFFLINE: SourceRule(),
            CreditSource.SCHOOL_BASED: SourceRule(cap_hours=20, needs_review=True),
            CreditSource.RESEARCH: SourceRule(counts=False),
            CreditSource.IMPORT: SourceRule(needs_review=True),
        },
    )  # fmt: skip
    base.update(over)
    return CreditPolicy(**base)


def entry(hours, day, *, category="学科教学", source=CreditSource.ONLINE, state=ReviewState.APPROVED,
          voided=False, teacher=1) -> LedgerEntry:  # fmt: skip
    i = next(_ids)
    return LedgerEntry(
        id=i, teacher_id=teacher, source=source, category=category, hours=hours, earned_on=day,
        title="t", evidence={}, idempotency_key=f"k{i}", review_state=state, voided=voided,
        void_reason="", replaces_id=None, created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def run(entries, today=date(2026, 9, 1), **kw):
    return compute_compliance(
        entries, policy=kw.pop("pol", policy()), teacher_id=1, cycle_start=START, today=today, **kw
    )


def test_counts_only_approved_unvoided_hours_inside_the_cycle():
    r = run([
        entry(10, date(2025, 1, 1)),
        entry(5, date(2025, 1, 2), voided=True),
        entry(7, date(2025, 1, 3), source=CreditSource.IMPORT, state=ReviewState.PENDING),
        entry(4, date(2025, 1, 4), source=CreditSource.IMPORT, state=ReviewState.REJECTED),
        entry(8, date(2024, 8, 31)),  # before the cycle
        entry(9, date(2029, 9, 1)),  # cycle end is exclusive
        entry(3, date(2025, 1, 5), teacher=2),  # someone else's
    ])  # fmt: skip
    assert r.counted_total == 10
    assert r.pending_hours == 7
    assert r.cycle_end == date(2029, 9, 1)


def test_source_cap_applies_in_date_order_and_reduces_the_category():
    r = run([
        entry(12, date(2025, 1, 1), source=CreditSource.SCHOOL_BASED, category="教研能力"),
        entry(12, date(2025, 6, 1), source=CreditSource.SCHOOL_BASED, category="学科教学"),
        entry(6, date(2025, 7, 1), source=CreditSource.SCHOOL_BASED, category="学科教学"),
    ])  # fmt: skip
    # cap 20: 12 counts, then 8 of the next 12, then nothing
    assert r.by_source_counted["school_based"] == 20
    assert r.by_source_raw["school_based"] == 30
    assert r.capped_hours == 10
    assert r.by_category == {"教研能力": 12, "学科教学": 8}
    assert any("上限" in n for n in r.notes)


def test_sources_that_do_not_count_are_ignored():
    r = run([entry(6, date(2025, 1, 1), source=CreditSource.RESEARCH)])
    assert r.counted_total == 0


def test_category_minimums_and_ethics_gate():
    r = run(
        [
            entry(60, date(2025, 1, 1), category="学科教学"),
            entry(29, date(2025, 2, 1), category="师德师风"),
        ]
    )
    assert r.category_gaps["学科教学"] == 30
    assert r.category_gaps["师德师风"] == 1
    assert r.ethics_hours == 29 and not r.ethics_ok
    r2 = run([entry(90, date(2025, 1, 1)), entry(30, date(2025, 2, 1), category="师德师风")])
    assert r2.ethics_ok and r2.category_gaps["学科教学"] == 0


def test_completion_requires_total_ethics_and_categories():
    full = [
        entry(200, date(2025, 1, 1)),
        entry(130, date(2026, 1, 1), source=CreditSource.OFFLINE, category="心理健康教育"),
    ]
    r = run(full + [entry(30, date(2026, 3, 1), category="师德师风")])
    assert r.counted_total == 360 and r.compliant and r.status == "已达标"
    assert r.completed_on == date(2026, 3, 1)
    r2 = run(
        full + [entry(30, date(2026, 3, 1), category="心理健康教育", source=CreditSource.OFFLINE)]
    )
    assert r2.counted_total == 360 and not r2.ethics_ok and not r2.compliant


def test_yearly_minimum_per_cycle_year():
    r = run(
        [entry(80, date(2024, 10, 1)), entry(40, date(2025, 10, 1)), entry(10, date(2026, 9, 10))],
        today=date(2026, 11, 1),
    )
    years = {y.index: y for y in r.yearly}
    assert [y.index for y in r.yearly] == [1, 2, 3]  # years 4 and 5 have not begun
    assert years[1].met and years[1].hours == 80
    assert not years[2].met and years[2].short_by == 32
    assert years[3].current and years[3].hours == 10
    assert not r.past_years_ok


def test_projected_completion_from_current_pace():
    # 146 days in, 73 hours counted: 0.5 h/day; 287 hours remain -> 574 days (+1 rounding day)
    today = date(2025, 1, 25)
    r = run([entry(73, date(2024, 12, 1))], today=today)
    assert (today - START).days == 146
    assert r.projected_completion == date.fromordinal(today.toordinal() + 575)
    assert r.on_track


def test_projection_flags_a_teacher_who_will_not_finish_in_time():
    r = run([entry(20, date(2025, 6, 1))], today=date(2026, 9, 1))
    assert r.projected_completion is not None and r.projected_completion > r.cycle_end
    assert not r.on_track and r.status == "进度滞后"


def test_no_hours_means_no_projection():
    r = run([], today=date(2025, 1, 1))
    assert r.projected_completion is None and not r.on_track and r.progress == 0


def test_induction_progress_for_new_teachers_counts_the_first_year():
    r = run([entry(100, date(2024, 12, 1)), entry(30, date(2025, 10, 1))], tier="新任教师")
    assert r.is_induction and r.induction_required == 120 and r.induction_hours == 100
    assert not run([], tier="合格教师").is_induction


def test_policy_rejects_inconsistent_minimums():
    with pytest.raises(ValueError, match="exceed total_hours"):
        policy(category_minimums={"学科教学": 340})
    with pytest.raises(ValueError, match="unknown categories"):
        policy(category_minimums={"烹饪": 10})


def test_aggregate_by_group():
    a = run(
        [
            entry(360, date(2025, 1, 1), source=CreditSource.OFFLINE),
            entry(30, date(2025, 1, 1), category="师德师风"),
        ]
    )
    b = run([])
    groups = aggregate([(a, "S1", "一中", False), (b, "S1", "一中", True), (b, "S2", "二中", True)])
    assert [g.key for g in groups] == ["S1", "S2"]
    row = groups[0].as_row()
    assert row["teachers"] == 2 and row["compliant_share"] == 0.5 and row["rural_teachers"] == 1
    assert row["rural_on_track_share"] == 0.0
