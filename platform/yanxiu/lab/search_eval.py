"""Search quality on the labelled query set (content/eval/search_queries.yaml).

Metrics, each averaged over queries that have a good answer:
- nDCG@10 with graded gains ``2^grade − 1`` (grades 1–3), ideal ranking from all graded ids,
  over the results *shown* (nothing is shown for a query judged to have no good answer);
- recall@10: share of the graded resources (grade ≥ 1) found in the first 10;
- MRR: 1 / rank of the first resource of grade ≥ 2 (0 if none in the first 10).
No-answer detection: a query with no graded resource (kind ``no_answer``) should show no
results; precision, recall and F1 of "showed nothing" over all queries of the split.

Queries are split by id into dev (odd numbers) and test (even numbers). Everything tuned (the
fusion weights and the no-match model, :func:`tune`) is chosen on dev; test is only reported.
Baselines come from the same run: each retriever alone on the query as typed (lexical
character TF-IDF, dense e5), a jieba BM25, and the former weighted-RRF hybrid.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from yanxiu.lab.bm25 import BM25
from yanxiu.search.hybrid import CatalogSearch, Mode, clean_filters
from yanxiu.search.relevance import best_cut, fit_match_model
from yanxiu.search.tuning import Weights

K = 10
MODES: tuple[str, ...] = ("bm25", "lexical", "dense", "rrf", "hybrid")
NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class LabelledQuery:
    id: str
    query: str
    kind: str
    filters: dict[str, Any]
    relevant: dict[str, int]  # resource code -> grade; empty: the catalog has no good answer

    @property
    def split(self) -> str:
        return "dev" if int("".join(ch for ch in self.id if ch.isdigit()) or 0) % 2 else "test"

    @property
    def answerable(self) -> bool:
        return any(g >= 2 for g in self.relevant.values())


def load_queries(path: Path) -> list[LabelledQuery]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        LabelledQuery(
            q["id"],
            q["query"],
            q["kind"],
            dict(q.get("filters") or {}),
            dict(q.get("relevant") or {}),
        )  # fmt: skip
        for q in data["queries"]
    ]


def ndcg(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    dcg = sum(
        (2 ** relevant.get(code, 0) - 1) / math.log2(i + 2) for i, code in enumerate(ranked[:k])
    )
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    wanted = {c for c, g in relevant.items() if g >= 1}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def reciprocal_rank(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    for i, code in enumerate(ranked[:k], start=1):
        if relevant.get(code, 0) >= 2:
            return 1.0 / i
    return 0.0


class Runner:
    """Ranks queries in every mode over one search service (BM25 built alongside)."""

    def __init__(self, search: CatalogSearch) -> None:
        self.search = search
        self._bm25: BM25 | None = None

    @property
    def bm25(self) -> BM25:
        if self._bm25 is None:
            self._bm25 = BM25([d.search_text for d in self.search.docs])
        return self._bm25

    def ranked(self, q: LabelledQuery, mode: str) -> list[str]:
        if mode == "bm25":
            scores = self.bm25.scores(q.query)
            flt = clean_filters(q.filters)
            flt.setdefault("status", ["published"])
            mask = self.search._allowed_mask(flt)
            order = [p for p in np.argsort(-scores, kind="stable") if mask[p] and scores[p] > 0]
            return [self.search.docs[p].code for p in order[:K]]
        hits = self.search.search(
            q.query, k=K, filters=q.filters, mode=_mode(mode),
            matches_only=mode == "hybrid",
        )  # fmt: skip
        return [h.doc.code for h in hits]


def _mode(name: str) -> Mode:
    if name not in ("hybrid", "dense", "lexical", "rrf"):
        raise ValueError(name)
    return name  # type: ignore[return-value]


def evaluate(
    search: CatalogSearch, queries: list[LabelledQuery], modes: Iterable[str] = MODES
) -> dict[str, Any]:
    """Metrics per mode: overall, per split and per query kind, and no-answer detection."""
    runner = Runner(search)
    results: dict[str, Any] = {}
    for mode in modes:
        rows = [(q, runner.ranked(q, mode)) for q in queries]
        results[mode] = {
            split: summarise([r for r in rows if split == "all" or r[0].split == split])
            for split in ("all", "dev", "test")
        }
    return {"queries": len(queries), "k": K, "modes": results}


def summarise(rows: list[tuple[LabelledQuery, list[str]]]) -> dict[str, Any]:
    answerable = [(q, r) for q, r in rows if q.answerable]
    by_kind: dict[str, list[tuple[LabelledQuery, list[str]]]] = defaultdict(list)
    for q, r in answerable:
        by_kind[q.kind].append((q, r))
    return {
        **_means(answerable),
        "no_answer": no_answer_f1(rows),
        "by_kind": {kind: _means(group) for kind, group in sorted(by_kind.items())},
    }


def _means(rows: list[tuple[LabelledQuery, list[str]]]) -> dict[str, float]:
    n = len(rows) or 1
    return {
        "n": len(rows),
        "ndcg@10": round(sum(ndcg(r, q.relevant) for q, r in rows) / n, 4),
        "recall@10": round(sum(recall(r, q.relevant) for q, r in rows) / n, 4),
        "mrr": round(sum(reciprocal_rank(r, q.relevant) for q, r in rows) / n, 4),
    }


def no_answer_f1(rows: list[tuple[LabelledQuery, list[str]]]) -> dict[str, float]:
    """Detection of "the catalog has nothing for this" (showing no results), as F1."""
    tp = sum(1 for q, r in rows if not q.answerable and not r)
    fp = sum(1 for q, r in rows if q.answerable and not r)
    fn = sum(1 for q, r in rows if not q.answerable and r)
    precision = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * rec / (precision + rec) if precision + rec else 0.0
    return {
        "n": tp + fn, "precision": round(precision, 4), "recall": round(rec, 4),
        "f1": round(f1, 4),
    }  # fmt: skip


# -- tuning on dev -----------------------------------------------------------------------------

GRID: dict[str, tuple[float, ...]] = {
    "lexical": (0.2, 0.3),
    "sound": (0.0, 0.1, 0.2),
    "problem_offset": (0.02, 0.04),
    "doc_mix": (0.3, 0.5),
    "subject": (0.02, 0.04),
}
# candidate feature sets and regularisation for the no-match model, chosen by leave-one-out
# no-answer F1 on dev (each left-out query judged by a model and cut fitted without it)
FEATURE_SETS: tuple[tuple[str, ...], ...] = (
    ("dense", "dense_z", "lexical", "unknown", "latin"),
    ("dense", "dense_z", "lexical", "sound", "unknown", "latin"),
    ("dense", "margin", "problem", "lexical", "sound", "unknown", "latin"),
    ("dense", "dense_z", "margin", "problem", "lexical", "sound", "agree", "unknown", "latin"),
    ("problem", "lexical", "sound", "unknown", "latin"),
    # with the topics the catalog does not offer (content/search/out_of_scope.yaml)
    ("dense_z", "unknown", "latin", "outside"),
    ("dense", "dense_z", "lexical", "sound", "unknown", "latin", "outside"),
    (
        "dense",
        "dense_z",
        "margin",
        "problem",
        "lexical",
        "sound",
        "agree",
        "unknown",
        "latin",
        "outside",
    ),
)
STRENGTHS = (0.1, 0.3, 1.0)


def _dev_ndcg(search: CatalogSearch, dev: list[LabelledQuery]) -> float:
    runner = Runner(search)
    return _means([(q, runner.ranked(q, "hybrid")) for q in dev if q.answerable])["ndcg@10"]


def match_rows(
    search: CatalogSearch, queries: list[LabelledQuery]
) -> list[tuple[dict[str, float], bool]]:
    """The relevance model's features for each query, with whether it has an answer."""
    rows = []
    for q in queries:
        parsed = search.parser.parse(q.query)
        rows.append((search.match_features(parsed, search.scores(parsed)), q.answerable))
    return rows


def loo_probabilities(
    rows: list[tuple[dict[str, float], bool]], features: tuple[str, ...], c: float
) -> tuple[list[float], list[float]]:
    """Each query's probability and cut from a model fitted without it (out of fold)."""
    probs, cuts = [], []
    for i in range(len(rows)):
        model = fit_match_model(rows[:i] + rows[i + 1 :], features, c=c)
        probs.append(model.probability(rows[i][0]))
        cuts.append(model.cut)
    return probs, cuts


def loo_f1(rows: list[tuple[dict[str, float], bool]], features: tuple[str, ...], c: float) -> float:
    """No-answer F1 when each query is judged by a model (and cut) fitted without it."""
    probs, cuts = loo_probabilities(rows, features, c)
    shown = [p >= cut for p, cut in zip(probs, cuts, strict=True)]
    tp = sum(1 for s, (_, a) in zip(shown, rows, strict=True) if not a and not s)
    fp = sum(1 for s, (_, a) in zip(shown, rows, strict=True) if a and not s)
    fn = sum(1 for s, (_, a) in zip(shown, rows, strict=True) if not a and s)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def tune(search: CatalogSearch, queries: list[LabelledQuery]) -> tuple[Weights, dict[str, Any]]:
    """Everything tuned, on the dev queries only: the fusion weights (grid, mean nDCG@10 of
    the answerable), the no-match model (logistic; its features and strength by leave-one-out
    F1, its cut for the best no-answer F1 over the leave-one-out probabilities), then the
    smallest tail cut that costs no dev nDCG."""
    dev = [q for q in queries if q.split == "dev"]
    original = search.weights
    best: tuple[float, Weights] = (-1.0, original)
    try:
        for values in itertools.product(*GRID.values()):
            w = replace(
                original, match=None, tail=float("inf"), **dict(zip(GRID, values, strict=True))
            )
            search.weights = w
            score = _dev_ndcg(search, dev)
            if score > best[0]:
                best = (score, w)
        search.weights = best[1]
        rows = match_rows(search, dev)
        cv = {
            (features, c): loo_f1(rows, features, c) for features in FEATURE_SETS for c in STRENGTHS
        }
        (features, c), cv_f1 = max(cv.items(), key=lambda kv: kv[1])
        model = fit_match_model(rows, features, c=c)
        # the cut from out-of-fold probabilities: in-sample ones are over-confident, and a cut
        # chosen on them sits against the answerable queries the model was fitted to; it
        # weighs what hiding a real question costs (its nDCG) against no-answer F1
        oof, _ = loo_probabilities(rows, features, c)
        runner = Runner(search)
        gains = [ndcg(runner.ranked(q, "hybrid"), q.relevant) if q.answerable else 0.0 for q in dev]
        model = replace(model, cut=best_cut(oof, [a for _, a in rows], gains))
        chosen = replace(best[1], match=model)
        search.weights = replace(chosen, tail=float("inf"))
        full = _dev_ndcg(search, dev)
        for tail in TAILS:  # smallest first: the first that keeps dev nDCG is kept
            search.weights = replace(chosen, tail=tail)
            if _dev_ndcg(search, dev) >= full - 0.002:
                chosen = replace(chosen, tail=tail)
                break
        search.weights = chosen
        runner = Runner(search)
        f1 = no_answer_f1([(q, runner.ranked(q, "hybrid")) for q in dev])["f1"]
        gated = _dev_ndcg(search, dev)
    finally:
        search.weights = original
    info = {
        "dev_ndcg_ungated": best[0], "dev_ndcg": gated, "dev_no_answer_f1": f1,
        "loo_f1": round(cv_f1, 4), "features": list(features), "c": c,
        "loo_by_set": {f"{'+'.join(k[0])} C={k[1]}": round(v, 3) for k, v in cv.items()},
    }  # fmt: skip
    return chosen, info


TAILS = (0.03, 0.05, 0.08, 0.12, float("inf"))


# -- the table ---------------------------------------------------------------------------------


def format_table(report: dict[str, Any], split: str = "dev") -> str:
    modes = list(report["modes"])
    rows = report["modes"]
    kinds = sorted({k for m in modes for k in rows[m][split]["by_kind"]})
    head = f"{'kind':<12} {'n':>4} " + " ".join(f"{m:>8}" for m in modes)
    lines = [
        f"nDCG@10 on the {split} split ({rows[modes[0]][split]['n']} answerable queries)",
        head,
    ]
    for kind in kinds:
        n = rows[modes[0]][split]["by_kind"].get(kind, {}).get("n", 0)
        cells = [rows[m][split]["by_kind"].get(kind, {}).get("ndcg@10", 0.0) for m in modes]
        lines.append(f"{kind:<12} {n:>4} " + " ".join(f"{c:>8.3f}" for c in cells))
    lines.append(
        f"{'overall':<12} {rows[modes[0]][split]['n']:>4} "
        + " ".join(f"{rows[m][split]['ndcg@10']:>8.3f}" for m in modes)
    )
    lines.append(
        f"{'R@10':<12} {'':>4} " + " ".join(f"{rows[m][split]['recall@10']:>8.3f}" for m in modes)
    )
    lines.append(
        f"{'MRR':<12} {'':>4} " + " ".join(f"{rows[m][split]['mrr']:>8.3f}" for m in modes)
    )
    na = rows[modes[0]][split]["no_answer"]["n"]
    lines.append(
        f"{'no-answer F1':<12} {na:>4} "
        + " ".join(f"{rows[m][split]['no_answer']['f1']:>8.3f}" for m in modes)
    )
    return "\n".join(lines)
