"""Cohort weakness heat map: which groups of teachers share which weakness.

Rows are groups of teachers (schools, or the cohorts of training programmes); columns are
weaknesses; a cell is the share of the row's teachers *assessed on that column* who show the
weakness, with the counts behind it. Two lenses, because they answer different questions and
the data for each may or may not exist yet:

- ``diagnosis`` — classroom practice: rubric dimensions of the teacher's latest diagnosis that
  a trainer reviewed (accepted or edited). A dimension is weak when the reviewed score is 2
  or below (the same line the review uses to list weaknesses). Teachers without a reviewed
  diagnosis are not assessed.
- ``hours`` — training hours: for each category the policy sets a minimum for, whether the
  teacher's counted hours lag the pro-rata share of that minimum for the part of the cycle
  already gone (behind pace, not merely "not finished yet"); and whether the current school
  year is behind its pro-rata yearly minimum.

The builders are pure functions over flags (teacher -> column -> weak?); loaders read them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.credits.compliance import TeacherCompliance
from yanxiu.credits.policy import CreditPolicy
from yanxiu.practice.models import (
    Diagnosis,
    DiagnosisReview,
    DiagnosisStatus,
    PracticeRecord,
    ReviewDecision,
)
from yanxiu.practice.rubric import PLAN_DIMENSIONS, TRANSCRIPT_DIMENSIONS

WEAK_SCORE = 2  # a reviewed score at or below this is a weakness
MIN_ASSESSED = 3  # fewer assessed teachers than this: the share is shown but marked unreliable
YEAR_COLUMN = "本学年学时"
Flags = Mapping[int, Mapping[str, bool]]  # teacher id -> column -> weak?


@dataclass(frozen=True)
class Member:
    """A teacher's place in a row (a teacher may sit in several rows, e.g. two programmes)."""

    teacher_id: int
    row_key: str
    row_label: str


@dataclass(frozen=True)
class Cell:
    weak: int
    assessed: int

    @property
    def share(self) -> float | None:
        return self.weak / self.assessed if self.assessed else None

    @property
    def few(self) -> bool:
        return 0 < self.assessed < MIN_ASSESSED

    @property
    def level(self) -> int:
        """0–5 colour step for the cell (-1: nobody assessed)."""
        share = self.share
        return -1 if share is None else min(5, int(share * 5 + 0.9999)) if share > 0 else 0


@dataclass
class Row:
    key: str
    label: str
    teachers: int
    cells: list[Cell]


@dataclass
class HeatMap:
    lens: str
    columns: list[str]
    rows: list[Row]
    total: Row
    notes: dict[str, str] = field(default_factory=dict)  # column -> what it measures

    @property
    def assessed_teachers(self) -> int:
        return self.total.teachers

    def as_dict(self) -> dict[str, Any]:
        def row(r: Row) -> dict[str, Any]:
            return {"key": r.key, "label": r.label, "teachers": r.teachers,
                    "cells": {c: {"weak": cell.weak, "assessed": cell.assessed,
                                  "share": None if cell.share is None else round(cell.share, 4)}
                              for c, cell in zip(self.columns, r.cells, strict=True)}}  # fmt: skip

        return {"lens": self.lens, "columns": self.columns, "rows": [row(r) for r in self.rows],
                "total": row(self.total)}  # fmt: skip


def build_heatmap(
    lens: str, columns: Sequence[str], members: Iterable[Member], flags: Flags
) -> HeatMap:
    """Count, per row and column, assessed teachers and those with the weakness.

    Rows keep the order in which they first appear in ``members``; the total row counts each
    teacher once even if they sit in several rows.
    """
    rows: dict[str, tuple[str, set[int]]] = {}
    for m in members:
        rows.setdefault(m.row_key, (m.row_label, set()))[1].add(m.teacher_id)

    def cells(teacher_ids: Collection[int]) -> list[Cell]:
        out = []
        for col in columns:
            seen = [flags[t][col] for t in teacher_ids if t in flags and col in flags[t]]
            out.append(Cell(sum(seen), len(seen)))
        return out

    everyone = {t for _, ids in rows.values() for t in ids}
    return HeatMap(
        lens=lens,
        columns=list(columns),
        rows=[Row(k, label, len(ids), cells(ids)) for k, (label, ids) in rows.items()],
        total=Row("*", "合计", len(everyone), cells(everyone)),
    )


# ---------------------------------------------------------------- loaders


def diagnosis_flags(session: Session, teacher_ids: Collection[int]) -> tuple[list[str], Flags]:
    """Rubric dimensions of each teacher's reviewed diagnoses (latest per dimension) → weak?"""
    if not teacher_ids:
        return [], {}
    query = (
        select(PracticeRecord.teacher_id, Diagnosis.id, DiagnosisReview.scores)
        .join(Diagnosis, Diagnosis.record_id == PracticeRecord.id)
        .join(DiagnosisReview, DiagnosisReview.diagnosis_id == Diagnosis.id)
        .where(
            PracticeRecord.teacher_id.in_(list(teacher_ids)),
            Diagnosis.status.in_([DiagnosisStatus.ACCEPTED, DiagnosisStatus.EDITED]),
            DiagnosisReview.decision.in_([ReviewDecision.ACCEPT, ReviewDecision.EDIT]),
        )
        .order_by(Diagnosis.created_at, Diagnosis.id, DiagnosisReview.id)
    )
    flags: dict[int, dict[str, bool]] = defaultdict(dict)
    for teacher_id, _, scores in session.execute(query):
        for dim, score in scores.items():  # later reviews and diagnoses overwrite
            flags[teacher_id][dim] = score <= WEAK_SCORE
    present = {d for f in flags.values() for d in f}
    order = list(TRANSCRIPT_DIMENSIONS) + [
        d for d in PLAN_DIMENSIONS if d not in TRANSCRIPT_DIMENSIONS
    ]
    columns = [d for d in order if d in present] + sorted(present - set(order))
    return columns, flags


def _fraction(start: date, end: date, today: date) -> float:
    span = (end - start).days
    return 0.0 if span <= 0 else min(1.0, max(0.0, (today - start).days / span))


def hours_columns(policy: CreditPolicy) -> list[str]:
    from yanxiu.catalog.schema import CATEGORIES, ETHICS_CATEGORY

    cats = [c for c in CATEGORIES if policy.minimum_for(c) > 0]
    cats.sort(key=lambda c: c != ETHICS_CATEGORY)
    return cats + [YEAR_COLUMN]


def hours_flags(
    reports: Iterable[TeacherCompliance], *, policy: CreditPolicy, today: date
) -> tuple[list[str], Flags]:
    """Categories (and the current year) in which each teacher is behind the pro-rata pace."""
    columns = hours_columns(policy)
    flags: dict[int, dict[str, bool]] = {}
    for rep in reports:
        done = _fraction(rep.cycle_start, rep.cycle_end, today)
        mine: dict[str, bool] = {}
        for col in columns[:-1]:
            expected = policy.minimum_for(col) * done
            if expected > 0:
                mine[col] = rep.by_category.get(col, 0.0) < expected - 1e-9
        year = rep.current_year
        if year is not None:
            expected = year.minimum * _fraction(year.start, year.end, today)
            if expected > 0:
                mine[YEAR_COLUMN] = year.hours < expected - 1e-9
        flags[rep.teacher_id] = mine
    return columns, flags


def hours_notes(policy: CreditPolicy) -> dict[str, str]:
    notes = {
        c: f"周期要求不少于 {policy.minimum_for(c):g} 学时，按已过周期比例折算后未达到"
        for c in hours_columns(policy)[:-1]
    }
    notes[YEAR_COLUMN] = (
        f"本学年要求不少于 {policy.yearly_minimum:g} 学时，按已过学年比例折算后未达到"
    )
    return notes


def diagnosis_notes(columns: Sequence[str]) -> dict[str, str]:
    return {c: f"最近一次经培训者审核的诊断中“{c}”得分 ≤ {WEAK_SCORE} 分" for c in columns}
