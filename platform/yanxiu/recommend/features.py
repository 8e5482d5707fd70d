"""Features of a (teacher, item) pair for the learned re-ranker.

Only what the platform can observe goes in, so a ranker trained on simulated interaction logs
is applied unchanged to real teachers:

| feature | meaning |
|---|---|
| ``sim_teacher`` | cosine of the teacher vector (profile, reviewed weaknesses, history) and the item vector |
| ``sim_need`` | highest cosine of a reviewed weakness (competency text) and the item vector; 0 without weaknesses |
| ``need_overlap`` | share of the item's competencies that are reviewed weaknesses |
| ``stage_match`` | 1 if the item is for the teacher's stage |
| ``subject_match`` | 1 own subject, 0.5 cross-subject (通用), 0 another subject |
| ``format_affinity`` | share of the teacher's completed items in this format (0.5 without history) |
| ``log_hours`` | log(1 + credited hours) |
| ``popularity`` | log(1 + enrolments) / log(1 + most enrolments of any item) |
| ``completion_rate`` | (completions + 1) / (enrolments + 2) |
| ``prereqs_done`` | share of the item's prerequisites the teacher completed (1 when none) |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

FEATURE_NAMES = (
    "sim_teacher", "sim_need", "need_overlap", "stage_match", "subject_match", "format_affinity",
    "log_hours", "popularity", "completion_rate", "prereqs_done",
)  # fmt: skip


@dataclass(frozen=True)
class ItemInfo:
    """What ranking needs of a catalog item (aligned with a row of the item-vector matrix)."""

    code: str
    stages: tuple[str, ...]
    subjects: tuple[str, ...]
    format: str
    hours: float
    competencies: tuple[str, ...]
    prerequisites: tuple[str, ...] = ()
    category: str = ""


@dataclass(frozen=True)
class TeacherContext:
    """What ranking needs of a teacher."""

    vector: np.ndarray  # (dim,), L2-normalised
    weakness_vectors: np.ndarray  # (w, dim); (0, dim) without reviewed weaknesses
    weaknesses: frozenset[str]  # competency ids
    stage: str
    subjects: tuple[str, ...]
    completed: frozenset[str] = frozenset()  # item codes
    format_history: Mapping[str, float] = field(default_factory=dict)  # format -> share


@dataclass(frozen=True)
class ItemStats:
    """Interaction counts per item, aligned with the item list."""

    enrolments: np.ndarray
    completions: np.ndarray

    @classmethod
    def empty(cls, n: int) -> ItemStats:
        return cls(np.zeros(n), np.zeros(n))


def feature_matrix(
    teacher: TeacherContext,
    items: Sequence[ItemInfo],
    item_vectors: np.ndarray,
    stats: ItemStats,
) -> np.ndarray:
    """The ``(len(items), len(FEATURE_NAMES))`` float32 feature matrix for one teacher."""
    n = len(items)
    out = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float32)
    if n == 0:
        return out
    out[:, 0] = item_vectors @ teacher.vector
    if len(teacher.weakness_vectors):
        out[:, 1] = (item_vectors @ teacher.weakness_vectors.T).max(axis=1)
    most = float(np.log1p(stats.enrolments.max())) if len(stats.enrolments) else 0.0
    for row, item in enumerate(items):
        comps = item.competencies
        out[row, 2] = sum(c in teacher.weaknesses for c in comps) / len(comps) if comps else 0.0
        out[row, 3] = float(teacher.stage in item.stages)
        if any(s in item.subjects for s in teacher.subjects):
            out[row, 4] = 1.0
        elif "通用" in item.subjects:
            out[row, 4] = 0.5
        out[row, 5] = (
            teacher.format_history.get(item.format, 0.5) if teacher.format_history else 0.5
        )
        out[row, 6] = np.log1p(item.hours)
        pre = item.prerequisites
        out[row, 9] = sum(p in teacher.completed for p in pre) / len(pre) if pre else 1.0
    out[:, 7] = np.log1p(stats.enrolments) / most if most > 0 else 0.0
    out[:, 8] = (stats.completions + 1) / (stats.enrolments + 2)
    return out


def format_history(completed_formats: Sequence[str]) -> dict[str, float]:
    """Share of completed items per format (empty without history)."""
    if not completed_formats:
        return {}
    total = len(completed_formats)
    return {f: completed_formats.count(f) / total for f in set(completed_formats)}
