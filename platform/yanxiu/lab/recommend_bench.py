"""Benchmark of one teacher's plan over a large synthetic catalog, and of batch planning.

The catalog is :func:`yanxiu.lab.synthetic.generate_resources` (published items only) with
clustered unit vectors (:func:`yanxiu.lab.index_bench.clustered_vectors`, dim 384) in a
:class:`~yanxiu.search.index.VectorIndex` (HNSW above 20k items). One plan is:

1. candidates: top-200 items for the teacher vector plus top-50 per weakness vector, both
   with the teacher's stage filter, minus the completed items;
2. :func:`~yanxiu.recommend.features.feature_matrix` for the candidates;
3. the ranker's scores;
4. :func:`~yanxiu.lab.recommend_eval.planned_order` (plan_path, prerequisites first) to 10.

Latency is measured per teacher after everything is loaded; the same-run baseline replaces
step 1 with numpy brute force over all item vectors (stage mask, ``argpartition``). Batch
throughput plans many teachers one after another on the same thread. Without a
trained ranker a stand-in of the same model class is fitted on synthetic rows (inference
cost is what is measured). Everything runs on one thread.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from yanxiu.lab.index_bench import clustered_vectors
from yanxiu.lab.recommend_eval import planned_order
from yanxiu.lab.synthetic import generate_resources
from yanxiu.recommend.features import (
    FEATURE_NAMES,
    ItemInfo,
    ItemStats,
    TeacherContext,
    feature_matrix,
)
from yanxiu.recommend.ranker import Ranker
from yanxiu.search.index import VectorIndex

DIM, TOP_TEACHER, TOP_WEAKNESS, BUDGET = 384, 200, 50, 10


def _stand_in_ranker(seed: int) -> Ranker:
    rng = np.random.default_rng(seed)
    X = rng.random((4000, len(FEATURE_NAMES))).astype(np.float32)
    y = (X @ rng.normal(size=len(FEATURE_NAMES)) + rng.normal(0, 0.5, len(X))) > 0
    model = HistGradientBoostingClassifier(max_iter=200, max_leaf_nodes=15, random_state=seed)
    return Ranker(model.fit(X, y), {"model": "stand-in hist_gradient_boosting"})


class _Catalog:
    """Items, vectors, index, counts and prerequisite graph of the synthetic catalog."""

    def __init__(self, n_items: int, seed: int) -> None:
        rows: list[dict[str, Any]] = [
            r for r in generate_resources(n_items, seed=seed + 7) if r["status"] == "published"
        ]
        self.items = [
            ItemInfo(str(r["id"]), tuple(r["stages"]), tuple(r["subjects"]), str(r["format"]),
                     float(r["hours"]), tuple(r["competencies"]), tuple(r["prerequisites"]),
                     str(r["category"]))
            for r in rows
        ]  # fmt: skip
        self.vectors, _ = clustered_vectors(len(rows), DIM, seed=seed)
        self.index = VectorIndex(DIM)
        metas = [
            {"stage": r["stages"], "subject": r["subjects"], "status": r["status"]} for r in rows
        ]
        self.index.build(np.arange(len(rows)), self.vectors, metas)
        rng = np.random.default_rng(seed)
        self.enrol = rng.pareto(1.5, len(rows)).round()
        self.done = np.floor(self.enrol * rng.uniform(0.3, 0.9, len(rows)))
        codes = {it.code for it in self.items}
        self.graph = {
            it.code: tuple(p for p in it.prerequisites if p in codes) for it in self.items
        }
        self.stage_of = np.array([it.stages[0] for it in self.items])
        by_comp: dict[str, list[int]] = {}
        for i, it in enumerate(self.items):
            for c in it.competencies:
                by_comp.setdefault(c, []).append(i)
        self.comps = sorted(by_comp)
        cent = np.stack([self.vectors[by_comp[c]].mean(axis=0) for c in self.comps])
        self.comp_vectors = (cent / np.linalg.norm(cent, axis=1, keepdims=True)).astype(np.float32)

    def teachers(self, n: int, seed: int) -> list[TeacherContext]:
        rng = np.random.default_rng([seed, 41])
        out = []
        for _ in range(n):
            anchor = int(rng.integers(len(self.items)))
            vec = (
                self.vectors[anchor] + 0.3 * rng.standard_normal(DIM).astype(np.float32) / DIM**0.5
            )
            weak = rng.choice(len(self.comps), size=int(rng.integers(1, 4)), replace=False)
            done = rng.choice(len(self.items), size=int(rng.integers(0, 12)), replace=False)
            item = self.items[anchor]
            out.append(TeacherContext(
                vector=(vec / np.linalg.norm(vec)).astype(np.float32),
                weakness_vectors=self.comp_vectors[weak],
                weaknesses=frozenset(self.comps[w] for w in weak),
                stage=item.stages[0], subjects=item.subjects,
                completed=frozenset(self.items[d].code for d in done),
                format_history={"online": 0.6, "offline": 0.4},
            ))  # fmt: skip
        return out

    def faiss_candidates(self, t: TeacherContext) -> np.ndarray:
        where = {"stage": t.stage, "status": "published"}
        ids, _ = self.index.search(t.vector, TOP_TEACHER, filters=where)
        parts = [ids.ravel()]
        if len(t.weakness_vectors):
            parts.append(
                self.index.search(t.weakness_vectors, TOP_WEAKNESS, filters=where)[0].ravel()
            )
        return np.unique(np.concatenate(parts))

    def numpy_candidates(self, t: TeacherContext) -> np.ndarray:
        ok = self.stage_of == t.stage
        parts = []
        for q, k in [(t.vector[None, :], TOP_TEACHER), (t.weakness_vectors, TOP_WEAKNESS)]:
            if len(q):
                s = np.where(ok[:, None], self.vectors @ q.T, -np.inf)
                kk = min(k, len(s) - 1)
                parts.append(np.argpartition(-s, kk, axis=0)[:kk].ravel())
        return np.unique(np.concatenate(parts))

    def plan(self, t: TeacherContext, ranker: Ranker, cand: np.ndarray) -> list[str]:
        cand = cand[cand >= 0]
        cand = np.array([i for i in cand.tolist() if self.items[i].code not in t.completed], int)
        items = [self.items[i] for i in cand]
        stats = ItemStats(self.enrol[cand], self.done[cand])
        scores = ranker.score(feature_matrix(t, items, self.vectors[cand], stats))
        ranking = [items[j].code for j in np.argsort(-scores, kind="stable")]
        return planned_order(self.graph, set(t.completed), ranking, BUDGET)


def _latency(
    fn: Callable[[TeacherContext], Any], teachers: list[TeacherContext]
) -> dict[str, float]:
    fn(teachers[0])  # warm-up
    ms = []
    for t in teachers:
        start = time.perf_counter()
        fn(t)
        ms.append((time.perf_counter() - start) * 1000)
    ms.sort()
    return {"p50_ms": round(statistics.median(ms), 2),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2), "n": len(ms)}  # fmt: skip


def bench_recommend(
    n_items: int = 100_000,
    teachers: int = 10_000,
    seed: int = 0,
    *,
    latency_teachers: int = 200,
    ranker: Ranker | None = None,
) -> dict[str, Any]:
    """Plan latency for one teacher (FAISS vs numpy retrieval) and batch throughput.

    Args:
        n_items: Synthetic catalog size (before dropping the ~3% retired items).
        teachers: Teachers planned for the batch throughput figure.
        seed: Seeds catalog, vectors and teachers.
        latency_teachers: Teachers timed one by one (at least 200 for the report).
        ranker: A trained ranker; None fits a stand-in of the same model class.

    Returns:
        JSON-able dict with ``latency`` (faiss, numpy_baseline, ratio), ``batch`` and setup.
    """
    t0 = time.perf_counter()
    ranker = ranker or _stand_in_ranker(seed)
    cat = _Catalog(n_items, seed)
    setup_s = time.perf_counter() - t0
    sample = cat.teachers(latency_teachers, seed)
    faiss_lat = _latency(lambda t: cat.plan(t, ranker, cat.faiss_candidates(t)), sample)
    numpy_lat = _latency(lambda t: cat.plan(t, ranker, cat.numpy_candidates(t)), sample)
    batch = cat.teachers(teachers, seed + 1)
    start, plans = time.perf_counter(), 0
    for t in batch:
        plans += bool(cat.plan(t, ranker, cat.faiss_candidates(t)))
    batch_s = time.perf_counter() - start
    return {
        "catalog_items": len(cat.items),
        "index_kind": cat.index.kind,
        "ranker": ranker.manifest.get("model"),
        "setup_s": round(setup_s, 1),
        "latency": {"faiss": faiss_lat, "numpy_baseline": numpy_lat,
                    "p95_speedup": round(numpy_lat["p95_ms"] / max(faiss_lat["p95_ms"], 1e-9), 2),
                    "target_p95_ms": 50.0, "meets_target": faiss_lat["p95_ms"] <= 50.0},
        "batch": {"teachers": len(batch), "seconds": round(batch_s, 2),
                  "teachers_per_s": round(len(batch) / max(batch_s, 1e-9), 1),
                  "non_empty_plans": plans},
        "seed": seed,
    }  # fmt: skip


def format_bench(result: dict[str, Any]) -> str:
    """The bench result as a short Markdown table."""
    lat, batch = result["latency"], result["batch"]
    return "\n".join([
        f"catalog {result['catalog_items']} items ({result['index_kind']}), ranker {result['ranker']}",
        "| step | p50 ms | p95 ms |", "|---|---|---|",
        f"| plan, FAISS retrieval | {lat['faiss']['p50_ms']} | {lat['faiss']['p95_ms']} |",
        f"| plan, numpy brute force | {lat['numpy_baseline']['p50_ms']} | {lat['numpy_baseline']['p95_ms']} |",
        f"p95 speed-up {lat['p95_speedup']}x; target p95 <= 50 ms met: {lat['meets_target']}",
        f"batch: {batch['teachers']} teachers in {batch['seconds']} s = {batch['teachers_per_s']} teachers/s",
    ])  # fmt: skip
