"""Knowing when nothing fits: is the best resource for a query a real match?

Cosines alone cannot tell 小学书法课怎么上 (no calligraphy course: the best is an art course at
0.936) from 学生上完心理课说老师就是在讲大道理 (a real match at 0.946). What gives the former
away is a topical word the catalog never uses (书法, 日语, 禁毒, 近视…), while colloquial
questions' unknown words are common ones (好像, 一点, 有个). So the decision is a small
logistic model over five features of the query, fitted on the dev half of content/eval
(``yanxiu eval search --tune``), its probability cut chosen there for no-answer F1:

- ``dense``: the best fused dense cosine (resource text or one of its 典型困惑);
- ``dense_z``: how far that best stands out from the catalog (z-score over all resources);
- ``lexical``: the best character TF-IDF cosine;
- ``unknown``: the IDF-weighted share of the query's words that appear nowhere in the catalog
  or the synonym table (jieba words; IDF from jieba's general-Chinese table, so a rare
  topical word weighs more than a colloquial one);
- ``latin``: 1 when the query has no Chinese characters (English cosines run lower).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FEATURES = ("dense", "dense_z", "lexical", "unknown", "latin")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class MatchModel:
    """Logistic weights over :data:`FEATURES` (standardised with ``mean``/``scale``)."""

    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    cut: float  # probability of a match below which nothing is shown

    def probability(self, features: Sequence[float]) -> float:
        z = self.intercept + sum(
            c * (f - m) / (s or 1.0)
            for c, f, m, s in zip(self.coef, features, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


class UnknownWords:
    """Share of a query's words (IDF-weighted) that the catalog never uses."""

    def __init__(self, catalog_text: str, stop: Sequence[str] = ()) -> None:
        import jieba
        import jieba.analyse

        jieba.setLogLevel(logging.WARNING)
        self._cut = jieba.lcut
        table = jieba.analyse.default_tfidf
        self._idf, self._median = table.idf_freq, table.median_idf
        self._text = catalog_text.lower()
        self._stop = set(stop)

    def share(self, text: str) -> float:
        words = [
            w
            for w in self._cut(text.lower())
            if len(w) >= 2 and _CJK.search(w) and w not in self._stop
        ]
        if not words:
            return 0.0
        weights = [self._idf.get(w, self._median) for w in words]
        unknown = sum(wt for w, wt in zip(words, weights, strict=True) if w not in self._text)
        return unknown / sum(weights)


def query_features(
    dense: np.ndarray, lexical: np.ndarray, unknown: float, text: str
) -> list[float]:
    top = float(dense.max()) if len(dense) else 0.0
    spread = float(dense.std()) if len(dense) else 0.0
    z = (top - float(dense.mean())) / spread if spread > 0 else 0.0
    return [
        top,
        z,
        float(lexical.max()) if len(lexical) else 0.0,
        unknown,
        0.0 if _CJK.search(text) else 1.0,
    ]


def fit_match_model(rows: list[tuple[list[float], bool]]) -> MatchModel:
    """Logistic regression (balanced classes) on (features, is_answerable) rows, the cut
    chosen for the best no-answer F1 on the same rows (ties: the lower cut)."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([f for f, _ in rows], float)
    y = np.array([1 if a else 0 for _, a in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit((x - mean) / scale, y)
    fitted = MatchModel(
        tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]),
        tuple(float(m) for m in mean), tuple(float(s) for s in scale), 0.5,
    )  # fmt: skip
    probs = [fitted.probability(f) for f, _ in rows]
    best_cut, best_f1 = 0.5, -1.0
    ordered = sorted(set(probs))
    # cuts halfway between neighbouring probabilities, so no query sits on the edge
    for cut in [(a + b) / 2 for a, b in zip(ordered, ordered[1:], strict=False)]:
        tp = sum(1 for p, (_, a) in zip(probs, rows, strict=True) if not a and p < cut)
        fp = sum(1 for p, (_, a) in zip(probs, rows, strict=True) if a and p < cut)
        fn = sum(1 for p, (_, a) in zip(probs, rows, strict=True) if not a and p >= cut)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1:
            best_cut, best_f1 = cut, f1
    return MatchModel(fitted.coef, fitted.intercept, fitted.mean, fitted.scale, best_cut)
