"""Cohort heat map: counts per row and column, the pro-rata hours lens, and the diagnosis lens."""

from datetime import date

from yanxiu.credits.compliance import compute_compliance
from yanxiu.credits.ledger import LedgerEntry
from yanxiu.credits.models import CreditSource, ReviewState
from yanxiu.reports.cohort import (
    YEAR_COLUMN,
    Cell,
    Member,
    build_heatmap,
    hours_columns,
    hours_flags,
)


def test_cells_count_weak_among_assessed_and_total_counts_each_teacher_once():
    members = [Member(1, "a", "甲校"), Member(2, "a", "甲校"), Member(3, "b", "乙校"),
               Member(1, "p", "项目"), Member(3, "p", "项目")]  # fmt: skip
    flags = {
        1: {"提问质量": True, "学生参与": False},
        2: {"提问质量": False},
        3: {"提问质量": True},
    }
    heat = build_heatmap("diagnosis", ["提问质量", "学生参与"], members, flags)
    cells = {r.key: [(c.weak, c.assessed) for c in r.cells] for r in heat.rows}
    assert cells == {"a": [(1, 2), (0, 1)], "b": [(1, 1), (0, 0)], "p": [(2, 2), (0, 1)]}
    assert [r.teachers for r in heat.rows] == [2, 1, 2]
    assert heat.total.teachers == 3
    assert [(c.weak, c.assessed) for c in heat.total.cells] == [(2, 3), (0, 1)]
    assert heat.as_dict()["total"]["cells"]["提问质量"]["share"] == round(2 / 3, 4)


def test_cell_levels_and_small_samples():
    assert Cell(0, 0).share is None and Cell(0, 0).level == -1
    assert [Cell(w, 10).level for w in (0, 1, 2, 3, 10)] == [0, 1, 1, 2, 5]
    assert Cell(1, 2).few and not Cell(1, 3).few


def _entry(i, hours, category, day):
    return LedgerEntry(id=i, teacher_id=7, source=CreditSource.ONLINE, category=category, hours=hours,
                       earned_on=day, title="", evidence={}, idempotency_key=str(i),
                       review_state=ReviewState.APPROVED, voided=False, void_reason="", replaces_id=None,
                       created_at=None)  # type: ignore[arg-type]  # fmt: skip


def test_hours_lens_flags_categories_behind_the_pro_rata_minimum(policy):
    start, today = date(2024, 9, 1), date(2026, 3, 1)  # 546 of 1826 days ≈ 30% of the cycle
    entries = [_entry(1, 10, "师德师风", date(2024, 10, 1)),  # needs ≈ 30 × 0.30 = 9 → fine
               _entry(2, 20, "学科教学", date(2025, 10, 1)),  # needs ≈ 90 × 0.30 = 27 → behind
               _entry(3, 60, "信息技术应用能力", date(2025, 11, 1))]  # fmt: skip
    report = compute_compliance(
        entries, policy=policy, teacher_id=7, cycle_start=start, today=today
    )
    columns, flags = hours_flags([report], policy=policy, today=today)
    assert (
        columns == hours_columns(policy) and columns[0] == "师德师风" and columns[-1] == YEAR_COLUMN
    )
    assert flags[7]["师德师风"] is False
    assert flags[7]["学科教学"] is True
    assert flags[7]["信息技术应用能力"] is False
    assert flags[7]["心理健康教育"] is True
    assert flags[7][YEAR_COLUMN] is False  # 80 h this school year, ≈ 72 × 0.5 expected
