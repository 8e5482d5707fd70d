"""The AI–trainer agreement panel: agreement per rubric dimension within a trainer's scope.

The figures are :func:`yanxiu.practice.agreement.agreement_by_dimension` over the same
(dimension, AI score, trainer score) pairs :func:`yanxiu.practice.agreement.review_pairs`
builds, restricted to the teachers a trainer may see; plus the state of the rubric
calibration (``models/rubric/calibration.json``) and plain-language readings of the numbers.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yanxiu.accounts.scope import Scope
from yanxiu.practice.agreement import Pair, agreement_by_dimension
from yanxiu.practice.models import Diagnosis, DiagnosisReview, PracticeRecord, ReviewDecision
from yanxiu.practice.rubric import PLAN_DIMENSIONS, TRANSCRIPT_DIMENSIONS
from yanxiu.practice.service import IN_QUEUE

OVERALL = "全部"
DIMENSION_ORDER = list(TRANSCRIPT_DIMENSIONS) + [
    d for d in PLAN_DIMENSIONS if d not in TRANSCRIPT_DIMENSIONS
]
FEW = 10  # below this many reviewed scores a figure is shown but flagged as unreliable


def scoped_review_pairs(session: Session, teacher_ids: Collection[int] | None) -> list[Pair]:
    """Like ``review_pairs`` (latest accept/edit per diagnosis), only for these teachers.

    ``None`` means every teacher.
    """
    query = (
        select(DiagnosisReview, Diagnosis)
        .join(Diagnosis, Diagnosis.id == DiagnosisReview.diagnosis_id)
        .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
        .where(DiagnosisReview.decision.in_([ReviewDecision.ACCEPT, ReviewDecision.EDIT]))
        .order_by(DiagnosisReview.id)
    )
    if teacher_ids is not None:
        query = query.where(PracticeRecord.teacher_id.in_(list(teacher_ids)))
    latest: dict[int, tuple[DiagnosisReview, Diagnosis]] = {}
    for review, diagnosis in session.execute(query):
        latest[diagnosis.id] = (review, diagnosis)
    pairs: list[Pair] = []
    for _, (review, diagnosis) in sorted(latest.items()):
        for dim, ai in diagnosis.scores.items():
            raw = ai.raw_score or ai.score
            pairs.append((dim, raw, review.scores.get(dim, ai.score)))
    return pairs


def pending_reviews(session: Session, scope: Scope) -> int:
    """Diagnoses waiting in the review queue for teachers in ``scope`` (as ``review_queue``
    selects them: pending or contested), counted without loading them."""
    return int(
        session.scalar(
            scope.filter(
                select(func.count(Diagnosis.id))
                .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
                .where(Diagnosis.status.in_(IN_QUEUE)),
                PracticeRecord.teacher_id,
            )
        )
        or 0
    )


def kappa_reading(qwk: float | None) -> str:
    """A plain-Chinese reading of a quadratic weighted kappa (Landis & Koch bands)."""
    if qwk is None:
        return "无法计算（分数没有变化）"
    if qwk < 0.2:
        return "几乎不一致"
    if qwk < 0.4:
        return "一致性较弱"
    if qwk < 0.6:
        return "中等一致"
    if qwk < 0.8:
        return "较高一致"
    return "高度一致"


@dataclass(frozen=True)
class AgreementRow:
    dimension: str
    n: int
    qwk: float | None
    exact: float | None
    adjacent: float | None

    @property
    def reading(self) -> str:
        return kappa_reading(self.qwk) if self.n else "暂无审核数据"

    @property
    def few(self) -> bool:
        return self.n < FEW

    def as_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "n": self.n, "qwk": self.qwk, "exact": self.exact,
                "adjacent": self.adjacent, "reading": self.reading}  # fmt: skip


def agreement_rows(pairs: list[Pair]) -> tuple[list[AgreementRow], AgreementRow]:
    """Per-dimension rows (rubric order) and the overall row."""
    table = agreement_by_dimension(pairs)

    def row(dim: str) -> AgreementRow:
        a = table[dim]
        return AgreementRow(dim, int(a["n"]), a["qwk"], a["exact"], a["adjacent"])

    dims = [d for d in DIMENSION_ORDER if d in table] + sorted(
        d for d in table if d not in DIMENSION_ORDER and d != OVERALL
    )
    return [row(d) for d in dims], row(OVERALL)


@dataclass(frozen=True)
class CalibrationStatus:
    """What ``models/rubric/calibration.json`` says, if it exists."""

    present: bool
    created: datetime | None = None
    reviewed_scores: int = 0
    dimensions: tuple[str, ...] = ()
    before_qwk: float | None = None  # cross-validated, all dimensions
    after_qwk: float | None = None
    before_exact: float | None = None
    after_exact: float | None = None
    problem: str = ""


def calibration_status(models_dir: Path) -> CalibrationStatus:
    path = models_dir / "rubric" / "calibration.json"
    if not path.exists():
        return CalibrationStatus(present=False)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        metrics = data.get("metrics", {})
        before = metrics.get("before", {}).get(OVERALL, {})
        after = metrics.get("after", {}).get(OVERALL, {})
        created = data.get("created")
        return CalibrationStatus(
            present=True,
            created=datetime.fromisoformat(created) if created else None,
            reviewed_scores=int(data.get("trained_on", {}).get("reviewed_scores", 0)),
            dimensions=tuple(sorted(data.get("mapping", {}))),
            before_qwk=before.get("qwk"), after_qwk=after.get("qwk"),
            before_exact=before.get("exact"), after_exact=after.get("exact"),
        )  # fmt: skip
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        return CalibrationStatus(present=True, problem=f"校准文件无法读取：{exc}")


def agreement_chart(rows: list[AgreementRow]) -> dict[str, Any]:
    """A Chart.js bar chart: exact and adjacent agreement (%) and QWK per dimension."""
    labels = [r.dimension for r in rows]

    def pct(v: float | None) -> float | None:
        return None if v is None else round(v * 100, 1)

    return {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {"label": "完全一致率（%）", "data": [pct(r.exact) for r in rows], "backgroundColor": "#0b6e4f"},
                {"label": "相邻一致率（%）", "data": [pct(r.adjacent) for r in rows], "backgroundColor": "#7cc5a5"},
                {"label": "加权 Kappa ×100", "data": [pct(r.qwk) for r in rows], "backgroundColor": "#3a6ea5"},
            ],
        },
        "options": {
            "scales": {"y": {"max": 100, "title": {"display": True, "text": "%"}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }  # fmt: skip
