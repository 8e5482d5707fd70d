"""Offline evaluation of the recommender on held-out simulated teachers, against baselines.

One run trains the ranker on simulated training teachers (:func:`train_on_world`), then
simulates *other* teachers (never seen in training or model selection) browsing the catalog
and, for each, hides the last enrolment of their log. From the state just before it
(:attr:`InteractionLog.before_last`; the platform knows the profile, a diagnosis and the items
completed so far, the offers it logged, and item counts from the training log) every method
ranks the items not offered to the teacher before (neither done nor declined):

* ``ranker``: the learned model; ``planned``: the ranker's order passed through
  :func:`yanxiu.recommend.plan_path` target by target (unmet prerequisites first);
* ``random``, ``popularity`` (training enrolments) and ``content`` (``sim_teacher`` only).

Metrics: recall@10 and nDCG@10 of the held-out enrolment; expected mastery gain after
following the first k items (:func:`mastery_gain_after`, common random numbers across
methods); catalog coverage of the top 10; prerequisite violations of the top-10 order as
ranked (``violations_raw``) and after planning (``violations``, must be 0); and the AUC of
each method's scores on the held-out teachers' logged offers (label: completed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from yanxiu.lab.ranker_train import (
    SimWorld,
    build_world,
    diagnose,
    log_rows,
    log_stats,
    teacher_context,
    train_on_world,
)
from yanxiu.lab.simulator import InteractionLog, generate_interactions, mastery_gain_after
from yanxiu.recommend.features import FEATURE_NAMES, ItemStats, feature_matrix
from yanxiu.recommend.plan import plan_path
from yanxiu.recommend.ranker import Ranker, versions
from yanxiu.search.embed_cache import EmbeddingCache

METHODS = ("ranker", "planned", "content", "popularity", "random")


def planned_order(
    graph: Mapping[str, Sequence[str]], completed: set[str], ranking: Sequence[str], budget: int
) -> list[str]:
    """Walk ``ranking`` best first; plan each item with its unmet prerequisites (plan_path).

    Completed items count as mastered. An item whose missing closure does not fit the
    remaining budget is skipped, so the result never holds groundwork for an absent item.
    """
    mastery = dict.fromkeys(completed, 1.0)
    out: list[str] = []
    for item in ranking:
        if len(out) >= budget:
            break
        if item in mastery:
            continue
        steps = plan_path(graph, mastery, [item], budget - len(out))
        if steps and steps[-1].item == item:
            out.extend(s.item for s in steps)
            mastery.update(dict.fromkeys((s.item for s in steps), 1.0))
    return out


def violations(
    graph: Mapping[str, Sequence[str]], completed: set[str], order: Sequence[str]
) -> int:
    """Prerequisites neither completed nor earlier in ``order``, summed over its items."""
    seen, count = set(completed), 0
    for item in order:
        count += sum(p not in seen for p in graph.get(item, ()))
        seen.add(item)
    return count


def _before_last(log: InteractionLog, teacher_id: int) -> tuple[list[str], list[str]]:
    """Items the teacher completed, and all items offered, before their last enrolment."""
    recs = [r for r in log.records if r.teacher_id == teacher_id]
    last = max(j for j, r in enumerate(recs) if r.enrolled)
    return [r.item_id for r in recs[:last] if r.completed], [r.item_id for r in recs[:last]]


def evaluate_recommenders(
    *,
    content_dir: Path,
    cache_dir: Path,
    backend: str = "e5",
    train_teachers: int = 400,
    steps: int = 30,
    test_teachers: int = 200,
    seed: int = 0,
    k: int = 10,
    gain_k: int = 5,
    gain_runs: int = 16,
) -> dict[str, Any]:
    """Train the ranker and compare it with the baselines on held-out simulated teachers.

    Args:
        content_dir: The ``content/`` folder.
        cache_dir: Embedding cache directory.
        backend: Embedding backend ("e5" for real figures, "use" or "lexical" for speed).
        train_teachers: Simulated teachers for training (a fifth validate model choice).
        steps: Offers per teacher, for training and held-out logs.
        test_teachers: Held-out simulated teachers.
        seed: Seeds everything.
        k: Cut-off for recall, nDCG and coverage.
        gain_k: Mastery gain is measured after following 1..gain_k items.
        gain_runs: Simulations per (teacher, plan) for the expected gain.

    Returns:
        JSON-able dict: ``methods`` (metrics per method), ``ranker`` (training report),
        ``config``, ``versions`` and ``seconds``.
    """
    t0 = time.perf_counter()
    with EmbeddingCache(cache_dir) as cache:
        world = build_world(Path(content_dir), cache, backend, seed)
        ranker, train_report, train_log = train_on_world(
            world, teachers=train_teachers, steps=steps, seed=seed
        )
        t1 = time.perf_counter()
        test = world.sim.sample_teachers(test_teachers)
        test_log = generate_interactions(world.sim, test, steps, seed=seed + 1)
        auc = _heldout_auc(world, ranker, test_log, test, seed)
        methods = _rank_all(world, ranker, test_log, test, log_stats(world, train_log), seed,
                            k=k, gain_k=gain_k, gain_runs=gain_runs)  # fmt: skip
    for name, row in methods.items():
        row["auc"] = auc.get(name)
    return {
        "methods": methods,
        "ranker": train_report,
        "config": {"backend": backend, "train_teachers": train_teachers, "steps": steps,
                   "test_teachers": test_teachers, "seed": seed, "k": k, "gain_k": gain_k,
                   "gain_runs": gain_runs, "items": len(world.items)},
        "versions": versions(),
        "seconds": {"train": round(t1 - t0, 1), "evaluate": round(time.perf_counter() - t1, 1)},
    }  # fmt: skip


def _heldout_auc(
    world: SimWorld, ranker: Ranker, log: InteractionLog, test: Sequence[Any], seed: int
) -> dict[str, float | None]:
    X, y, _ = log_rows(world, log, test, seed + 1)
    if len(set(y.tolist())) < 2:
        return {}
    rng = np.random.default_rng([seed, 31])
    pop = FEATURE_NAMES.index("popularity")
    scores = {"ranker": ranker.score(X), "content": X[:, 0], "popularity": X[:, pop],
              "random": rng.random(len(y))}  # fmt: skip
    return {name: round(float(roc_auc_score(y, s)), 4) for name, s in scores.items()}


def _rank_all(
    world: SimWorld,
    ranker: Ranker,
    log: InteractionLog,
    test: Sequence[Any],
    stats: ItemStats,
    seed: int,
    *,
    k: int,
    gain_k: int,
    gain_runs: int,
) -> dict[str, dict[str, Any]]:
    rng = np.random.default_rng([seed, 37])
    diag_rng = np.random.default_rng([seed + 1, 17])  # same draws as log_rows for these teachers
    diagnoses = {t.id: diagnose(t, diag_rng) for t in sorted(test, key=lambda t: t.id)}
    codes, graph = np.array([it.code for it in world.items]), world.graph
    popularity = stats.enrolments + 1e-3 * stats.completions
    hits: dict[str, list[float]] = {m: [] for m in METHODS}
    ndcg: dict[str, list[float]] = {m: [] for m in METHODS}
    gains = {m: np.zeros(gain_k) for m in METHODS}
    raw_viol, plan_viol = dict.fromkeys(METHODS, 0), dict.fromkeys(METHODS, 0)
    shown: dict[str, set[str]] = {m: set() for m in METHODS}
    evaluated = 0
    for teacher in test:
        history = log.histories[teacher.id]
        if not history:
            continue
        evaluated += 1
        target, before = history[-1], log.before_last[teacher.id]
        completed, offered = _before_last(log, teacher.id)
        done = set(completed)
        ctx = teacher_context(world, before, diagnoses[teacher.id], completed)
        X = feature_matrix(ctx, world.items, world.vectors, stats)
        closed = np.isin(codes, offered)  # logged offers: done or declined
        raw = {"ranker": ranker.score(X), "content": X[:, 0].astype(float),
               "popularity": popularity, "random": rng.random(len(codes))}  # fmt: skip
        lists: dict[str, list[str]] = {}
        for name, s in raw.items():
            order = np.lexsort((np.arange(len(s)), -np.where(closed, -np.inf, s)))
            lists[name] = [str(c) for c in codes[order][: len(codes) - int(closed.sum())]]
        lists["planned"] = planned_order(graph, done, lists["ranker"], k)
        for name in METHODS:
            ranking, top = lists[name], lists[name][:k]
            rank = top.index(target) + 1 if target in top else 0
            hits[name].append(float(rank > 0))
            ndcg[name].append(1.0 / math.log2(rank + 1) if rank else 0.0)
            shown[name].update(top)
            raw_viol[name] += violations(graph, done, top)
            plan_viol[name] += violations(graph, done, planned_order(graph, done, ranking, k))
            for j in range(1, gain_k + 1):
                gains[name][j - 1] += mastery_gain_after(world.sim, before, top, j,
                                                         runs=gain_runs, seed=seed)  # fmt: skip
    n = max(1, evaluated)
    return {
        name: {
            "recall@10": round(float(np.mean(hits[name])) if hits[name] else 0.0, 4),
            "ndcg@10": round(float(np.mean(ndcg[name])) if ndcg[name] else 0.0, 4),
            f"gain@{gain_k}": round(float(gains[name][-1] / n), 4),
            "gain_curve": [round(float(g / n), 4) for g in gains[name]],
            "coverage": round(len(shown[name]) / len(codes), 4),
            "violations_raw": raw_viol[name],
            "violations": plan_viol[name],
            "teachers": evaluated,
        }
        for name in METHODS
    }


def format_table(report: Mapping[str, Any]) -> str:
    """The report's per-method metrics as a Markdown table."""
    methods = report["methods"]
    gain = next(key for key in next(iter(methods.values())) if key.startswith("gain@"))
    cols = ["recall@10", "ndcg@10", gain, "coverage", "violations", "violations_raw", "auc"]
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in methods.items():
        cells = ["—" if row.get(c) is None else str(row[c]) for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cfg = report.get("config", {})
    lines.append(
        f"\n{cfg.get('test_teachers')} held-out teachers, ranker trained on "
        f"{cfg.get('train_teachers')} x {cfg.get('steps')} offers ({cfg.get('backend')}); "
        f"selected model: {report.get('ranker', {}).get('selected')}"
    )
    return "\n".join(lines)
