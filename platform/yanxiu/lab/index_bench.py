"""Benchmark of :class:`~yanxiu.search.index.VectorIndex` on synthetic clustered vectors.

Run ``OMP_NUM_THREADS=1 python -m yanxiu.lab.index_bench 10000 100000`` (sizes as
arguments, ``--json`` for the raw dict). Uniform random vectors are a poor stand-in for
sentence embeddings: every point is nearly orthogonal to every other, so neighbours are
meaningless and ANN indexes look either trivially good or hopeless. The generator instead
draws topics, sub-topics around them and items around sub-topics, with a decaying spectrum
(a few directions carry most variance, as in real embeddings) and a shared offset (the
anisotropy that gives unrelated sentences a positive cosine). Queries come from the same
distribution but are not in the index. Metadata gives each item one of five subjects,
following its sub-topic's half of the time, so the benchmark filter (one subject, ~20% of
items) is correlated with the vectors as real catalog filters are.

Latencies are single-query wall times with one FAISS/BLAS thread; ``cpu`` figures are the
thread CPU time of the same calls, which stays honest when the machine is shared.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import faiss
import numpy as np

from yanxiu.search.index import VectorIndex

SUBJECTS = ("语文", "数学", "英语", "物理", "化学")
BENCH_FILTER = {"subject": {"数学"}}


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def clustered_vectors(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit float32 vectors in topic/sub-topic clusters, and each vector's sub-topic label."""
    rng = np.random.default_rng(seed)
    n_topics = max(4, round(n**0.5 / 4))
    n_subtopics = max(8, round(n**0.5))
    scale = np.arange(1, dim + 1, dtype=np.float32) ** -0.5  # decaying spectrum
    offset = _unit(rng.standard_normal(dim, dtype=np.float32))
    topics = _unit(rng.standard_normal((n_topics, dim), dtype=np.float32) * scale)
    parent = rng.integers(0, n_topics, n_subtopics)
    jitter = _unit(rng.standard_normal((n_subtopics, dim), dtype=np.float32) * scale)
    subtopics = _unit(topics[parent] + 0.7 * jitter)
    weight = rng.pareto(1.2, n_subtopics) + 1.0  # a few big sub-topics, a long tail
    labels = rng.choice(n_subtopics, n, p=weight / weight.sum())
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 65_536):  # chunks keep the temporaries small at 1M
        stop = min(n, start + 65_536)
        noise = _unit(rng.standard_normal((stop - start, dim), dtype=np.float32) * scale)
        out[start:stop] = _unit(subtopics[labels[start:stop]] + noise + 0.5 * offset)
    return out, labels


def synthetic_metas(labels: np.ndarray, seed: int = 0) -> list[dict[str, Any]]:
    """Catalog-like metadata; the subject follows the sub-topic for half of the items."""
    rng = np.random.default_rng(seed + 1)
    counts = np.bincount(labels)
    own, mass = np.zeros(len(counts), dtype=np.int64), np.zeros(len(SUBJECTS))
    for sub in np.argsort(-counts):  # largest sub-topics first, each to the lightest subject
        own[sub] = mass.argmin()
        mass[own[sub]] += counts[sub]
    own = own[labels]
    subject = np.where(rng.random(len(labels)) < 0.5, own, rng.integers(0, 5, len(labels)))
    stages = (["小学"], ["初中"], ["高中"], ["初中", "高中"])
    stage = rng.integers(0, len(stages), len(labels))
    return [
        {"subject": [SUBJECTS[s]], "stage": stages[g], "status": "published"}
        for s, g in zip(subject.tolist(), stage.tolist(), strict=True)
    ]


def _latency(fn: Callable[[int], Any], queries: int) -> tuple[dict[str, float], list[Any]]:
    """p50/p95 wall and CPU milliseconds of ``fn(i)`` per query (after a warm-up) and results."""
    first = time.perf_counter()
    fn(0)  # warm-up; for filtered search this also builds and caches the filter bitmap
    cold = time.perf_counter() - first
    wall, cpu, out = np.empty(queries), np.empty(queries), []
    for i in range(queries):
        t0, c0 = time.perf_counter(), time.thread_time()
        out.append(fn(i))
        wall[i], cpu[i] = time.perf_counter() - t0, time.thread_time() - c0
    ms = 1000.0
    stats = {
        "p50_ms": float(np.percentile(wall, 50) * ms),
        "p95_ms": float(np.percentile(wall, 95) * ms),
        "cpu_p50_ms": float(np.percentile(cpu, 50) * ms),
        "cpu_p95_ms": float(np.percentile(cpu, 95) * ms),
        "first_ms": cold * ms,
    }
    return stats, out


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0]) & set(t[t >= 0])) for f, t in zip(found, truth, strict=True))
    return hits / max(1, int((truth >= 0).sum()))


def _run(index: VectorIndex, q: np.ndarray, k: int, filters: Any) -> tuple[dict, np.ndarray]:
    stats, out = _latency(lambda i: index.search(q[i], k, filters=filters)[0], len(q))
    return stats, np.vstack(out)


def bench_index(
    n: int, dim: int = 384, queries: int = 200, seed: int = 0, k: int = 10
) -> dict[str, Any]:
    """Build exact and approximate indexes over ``n`` synthetic vectors and measure them.

    Args:
        n: Collection size.
        dim: Vector dimension (384, the default embedding model's).
        queries: Single queries timed per configuration.
        seed: Seed of the synthetic data.
        k: Results per query; recall is recall@k of approximate against exact.

    Returns:
        Build seconds, index bytes, latency percentiles (unfiltered and with a filter passing
        ~20% of items), recall@k and the speedup against numpy brute force per configuration.
    """
    data, labels = clustered_vectors(n + queries, dim, seed)
    x, q = data[:n], data[n:]
    ids = np.arange(n, dtype=np.int64) * 3 + 1  # catalog ids are not positions
    metas = synthetic_metas(labels[:n], seed)
    share = float(np.mean([BENCH_FILTER["subject"] & set(m["subject"]) != set() for m in metas]))
    result: dict[str, Any] = {"n": n, "dim": dim, "queries": queries, "k": k}
    result |= {"filter_share": share, "faiss": faiss.__version__, "threads": 1}

    def brute(i: int) -> np.ndarray:
        scores = x @ q[i]
        return np.argpartition(-scores, k)[:k]

    result["numpy"] = _latency(brute, queries)[0]
    truth: dict[str, np.ndarray] = {}
    for kind, above in (("exact", n), ("approximate", 0)):
        index = VectorIndex(dim, approximate_above=above)
        c0, t0 = time.process_time(), time.perf_counter()
        index.build(ids, x, metas)
        row: dict[str, Any] = {"index": index.kind, "build_s": time.perf_counter() - t0}
        row |= {"build_cpu_s": time.process_time() - c0, "bytes": index.memory_bytes()}
        for label, filters in (("unfiltered", None), ("filtered", BENCH_FILTER)):
            stats, found = _run(index, q, k, filters)
            if kind == "exact":
                truth[label] = found
            stats["recall"] = _recall(found, truth[label])
            stats["speedup_vs_numpy"] = result["numpy"]["p50_ms"] / stats["p50_ms"]
            stats["speedup_vs_numpy_cpu"] = result["numpy"]["cpu_p50_ms"] / stats["cpu_p50_ms"]
            row[label] = stats
        result[kind] = row
        del index  # one index at a time lowers the peak at 1M
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _table(results: list[dict[str, Any]]) -> str:
    """Markdown table: times as wall / thread-CPU, speedup on p50 against numpy."""
    lines = [
        "| n | search | build s | MB | filter | p50 ms | p95 ms | recall@10 | × numpy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows: list[tuple[str, str, str, str, dict[str, float]]] = []
        rows.append(("numpy matmul", "–", "–", "none", r["numpy"] | {"recall": 1.0}))
        for kind in ("exact", "approximate"):
            row = r[kind]
            build, mb = f"{row['build_s']:.1f} / {row['build_cpu_s']:.1f}", row["bytes"] / 2**20
            for label, filt in (("unfiltered", "none"), ("filtered", f"{r['filter_share']:.0%}")):
                rows.append((f"{kind} ({row['index']})", build, f"{mb:.0f}", filt, row[label]))
        for name, build, mb, filt, s in rows:
            p50 = f"{s['p50_ms']:.2f} / {s['cpu_p50_ms']:.2f}"
            p95 = f"{s['p95_ms']:.2f} / {s['cpu_p95_ms']:.2f}"
            speed = f"{s.get('speedup_vs_numpy', 1):.0f} / {s.get('speedup_vs_numpy_cpu', 1):.0f}"
            cells = [f"{r['n']:,}", name, build, mb, filt, p50, p95, f"{s['recall']:.3f}", speed]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """``python -m yanxiu.lab.index_bench [--json] N...``: run and print a table."""
    faiss.omp_set_num_threads(1)
    sizes = [int(a) for a in argv if a != "--json"] or [10_000, 100_000]
    results = []
    for n in sizes:
        results.append(bench_index(n))
        print(json.dumps(results[-1]) if "--json" in argv else f"done n={n:,}", flush=True)
    print(_table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
