"""How often the AI agrees with trainers, and a calibration that learns from their edits.

Agreement per rubric dimension over reviewed diagnoses (accepted = the trainer kept the AI
score; edited = the trainer's score): quadratic weighted kappa (QWK), exact agreement and
adjacent agreement (within one point).

Calibration (``yanxiu train rubric``) learns, per dimension, which score trainers give for each
AI score (the most common trainer score for that AI score when seen at least ``MIN_SUPPORT``
times, else the AI score unchanged). It is judged by k-fold cross-validation: agreement of the
raw AI scores and of the calibrated scores on held-out reviews, so "after" is never measured
on the reviews it learned from.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

import numpy as np
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.practice.models import Diagnosis, DiagnosisReview, ReviewDecision

LABELS = [1, 2, 3, 4, 5]
MIN_SUPPORT = 3
Pair = tuple[str, int, int]  # dimension, AI score, trainer score


class Agreement(TypedDict):
    n: int
    qwk: float | None  # quadratic weighted kappa (None when the scores never vary)
    exact: float | None
    adjacent: float | None  # within one point


class CrossValidated(TypedDict):
    before: dict[str, Agreement]  # dimension (and "全部") -> agreement of the raw AI scores
    after: dict[str, Agreement]  # … of the calibrated scores
    folds: int


class TrainedOn(TypedDict):
    reviewed_scores: int
    min_support: int


class CalibrationManifest(TypedDict):
    """``models/rubric/calibration.json``."""

    what: str
    trained_on: TrainedOn
    created: str
    mapping: dict[str, dict[str, int]]  # dimension -> {AI score: trainer score}
    metrics: CrossValidated


def review_pairs(session: Session) -> list[Pair]:
    """(dimension, AI score, trainer score) for the latest accept/edit of each diagnosis."""
    latest: dict[int, DiagnosisReview] = {}
    for review in session.scalars(
        select(DiagnosisReview)
        .where(DiagnosisReview.decision.in_([ReviewDecision.ACCEPT, ReviewDecision.EDIT]))
        .order_by(DiagnosisReview.id)
    ):
        latest[review.diagnosis_id] = review
    pairs: list[Pair] = []
    for diagnosis_id, review in sorted(latest.items()):
        diagnosis = session.get(Diagnosis, diagnosis_id)
        assert diagnosis is not None
        for dim, ai in diagnosis.scores.items():
            raw = ai.raw_score or ai.score
            pairs.append((dim, raw, review.scores.get(dim, ai.score)))
    return pairs


def agreement(pairs: Iterable[tuple[int, int]]) -> Agreement:
    ai, trainer = (list(x) for x in zip(*pairs, strict=True)) if pairs else ([], [])
    n = len(ai)
    if n == 0:
        return {"n": 0, "qwk": None, "exact": None, "adjacent": None}
    a, t = np.array(ai), np.array(trainer)
    qwk = (
        None
        if len(set(ai) | set(trainer)) < 2
        else float(cohen_kappa_score(a, t, weights="quadratic", labels=LABELS))
    )
    return {"n": n, "qwk": None if qwk is None else round(qwk, 4), "exact": round(float((a == t).mean()), 4),
            "adjacent": round(float((abs(a - t) <= 1).mean()), 4)}  # fmt: skip


def agreement_by_dimension(pairs: list[Pair]) -> dict[str, Agreement]:
    by_dim: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for dim, ai, trainer in pairs:
        by_dim[dim].append((ai, trainer))
    out = {dim: agreement(rows) for dim, rows in sorted(by_dim.items())}
    out["全部"] = agreement([(a, t) for _, a, t in pairs])
    return out


def fit_calibration(pairs: Iterable[Pair]) -> dict[str, dict[int, int]]:
    """Per dimension: AI score -> the trainers' most common score (ties: the one nearer the AI)."""
    seen: dict[tuple[str, int], Counter[int]] = defaultdict(Counter)
    for dim, ai, trainer in pairs:
        seen[(dim, ai)][trainer] += 1
    mapping: dict[str, dict[int, int]] = defaultdict(dict)
    for (dim, ai), counts in seen.items():
        if sum(counts.values()) >= MIN_SUPPORT:
            mapping[dim][ai] = max(counts, key=lambda s: (counts[s], -abs(s - ai), -s))
    return dict(mapping)


def calibrate(dim: str, score: int, mapping: Mapping[str, Mapping[int, int]]) -> int:
    return int(mapping.get(dim, {}).get(score, score))


def cross_validated(pairs: list[Pair], folds: int = 5, seed: int = 0) -> CrossValidated:
    """Agreement before and after calibration on held-out folds."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    before: list[Pair] = []
    after: list[Pair] = []
    for k in range(folds):
        test = [pairs[i] for i in order[k::folds]]
        train = [pairs[i] for j, i in enumerate(order) if j % folds != k]
        mapping = fit_calibration(train)
        before += test
        after += [(d, calibrate(d, a, mapping), t) for d, a, t in test]
    return {
        "before": agreement_by_dimension(before),
        "after": agreement_by_dimension(after),
        "folds": folds,
    }


def train_calibration(session: Session, out_dir: Path) -> CalibrationManifest:
    """Fit on every review, report cross-validated agreement, save ``calibration.json``."""
    pairs = review_pairs(session)
    if len(pairs) < 10:
        raise ValueError(f"only {len(pairs)} reviewed scores: need at least 10 to calibrate")
    report = cross_validated(pairs)
    mapping = fit_calibration(pairs)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: CalibrationManifest = {
        "what": "rubric calibration: per dimension, AI score -> trainers' most common score",
        "trained_on": {"reviewed_scores": len(pairs), "min_support": MIN_SUPPORT},
        "created": datetime.now(UTC).isoformat(),
        "mapping": {d: {str(k): v for k, v in m.items()} for d, m in mapping.items()},
        "metrics": report,
    }
    tmp = out_dir / "calibration.json.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out_dir / "calibration.json")
    return manifest


def load_calibration(models_dir: Path) -> dict[str, dict[int, int]]:
    path = models_dir / "rubric" / "calibration.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {d: {int(k): int(v) for k, v in m.items()} for d, m in data["mapping"].items()}
