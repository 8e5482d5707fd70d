"""Chinese retrieval check that chooses the default embedding backend.

Embeds the real catalog (title, summary and outline of each of the 218 resources) with every
backend, runs 30 labelled teacher queries (paraphrased, colloquial, with typos, in English) and
reports R@1, R@3 and MRR, plus embedding speed on one thread. R@k is the share of queries with
a right resource among the first k; MRR averages 1/rank of the first right resource.

Run from the repository root (about two minutes on one core)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        nice .venv/bin/python research/embedding_choice/backend_choice.py [--json FILE]

Backends that cannot load (for instance st without sentence-transformers) are reported and
skipped. The result table is copied into REPORT.md beside this file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads: 2 shared cores here

import numpy as np  # noqa: E402

from yanxiu.content import load_content  # noqa: E402
from yanxiu.search.embed import (  # noqa: E402
    PACKAGED_MINILM,
    EmbedderUnavailable,
    LexicalEmbedder,
    make_embedder,
)

ROOT = Path(__file__).resolve().parents[2]

# (query, ids of the right resources, style). Written by reading the catalog as a teacher
# would search it: mostly in words the resource itself does not use.
QUERIES: list[tuple[str, list[str], str]] = [
    ("家长会不知道跟家长说啥，平时怎么和家长沟通比较好", ["BZR-007", "RZ-008"], "colloquial"),
    ("学生上课顶嘴还不交作业，我能罚他站着听课吗", ["SD-005", "SD-008"], "colloquial"),
    ("双减以后每天书面作业到底能布置多长时间", ["ZY-001", "ZY-002"], "paraphrase"),
    (
        "班上学生水平差太多，想给不同的学生布置不一样的作业",
        ["ZY-003", "ZY-004", "XK-SX-08"],
        "colloquial",
    ),
    ("我提完问题学生都不举手，应该等多久再叫人回答", ["TW-002"], "colloquial"),
    ("怎么用AI大模型帮我写教案，提示词怎么写", ["XX-024"], "colloquial"),
    ("感觉班里有个孩子情绪低落可能有抑郁，班主任怎么早点发现", ["XL-002", "XL-003"], "colloquial"),
    ("刚参加工作压力好大，天天加班有点想辞职", ["RZ-009", "XL-010"], "colloquial"),
    ("刚上小学的孩子排队吃饭收拾书包都不会，怎么教", ["BZR-011", "XK-YE-02"], "paraphrase"),
    ("初中英语时态怎么教学生才不会死记硬背", ["XK-YY-06"], "paraphrase"),
    ("高中数学课想让学生用数学解决实际问题做个小项目，怎么带", ["XK-SX-10"], "paraphrase"),
    ("幼儿园小班孩子刚入园天天哭着找妈妈", ["XL-014"], "colloquial"),
    ("想自己录微课，用什么录屏，怎么剪辑加字幕", ["XX-019", "XX-018"], "colloquial"),
    ("教师节家长送购物卡和请吃饭要不要收", ["SD-010"], "colloquial"),
    ("在职老师有尝补课是什么处理规定", ["SD-009"], "typo"),  # 有偿 -> 有尝
    ("高中整本书月读 乡土中国 红楼梦 怎么教", ["XK-YW-10"], "typo"),  # 阅读 -> 月读
    ("班级里的欺棱现象怎么早发现早预防", ["BZR-009", "SD-022"], "typo"),  # 欺凌 -> 欺棱
    ("小课题做完了，结提报告不知道怎么写", ["JY-006"], "typo"),  # 结题 -> 结提
    ("师德负面清单和师德档案学校怎么见立", ["SD-023"], "typo"),  # 建立 -> 见立
    ("how to design higher-order thinking questions", ["TW-006", "TW-005"], "english"),
    ("classroom management tips for first-year teachers", ["RZ-004"], "english"),
    ("teacher burnout and stress management", ["XL-010"], "english"),
    ("phonics teaching in primary school English", ["XK-YY-03"], "english"),
    ("学生沉迷手机打游戏，家长也管不住", ["XL-012"], "colloquial"),
    ("评课的时候大家都只说优点不说问题，怎么改", ["JY-004"], "colloquial"),
    ("跟着师傅听课，听课记录要写些什么", ["RZ-006"], "colloquial"),
    ("高三学生考试焦虑，成绩排名一出来就崩溃", ["XL-009"], "colloquial"),
    ("物理实验总是老师做学生看，怎么让学生自己动手探究", ["XK-WL-02"], "paraphrase"),
    ("教室装了智慧黑板，除了放PPT还能怎么用", ["XX-013"], "colloquial"),
    ("课间学生摔伤了，老师第一时间应该怎么处理", ["RZ-011", "BZR-010"], "paraphrase"),
]


def document_text(resource: object) -> str:
    """What is embedded for a resource: title, summary and outline."""
    outline = "；".join(resource.outline)  # type: ignore[attr-defined]
    return f"{resource.title}。{resource.summary} {outline}"  # type: ignore[attr-defined]


def metrics(scores: np.ndarray, ids: list[str]) -> dict[str, float]:
    """R@1, R@3 and MRR of a (queries x documents) score matrix."""
    ranks = []
    for row, (_, relevant, _) in zip(scores, QUERIES, strict=True):
        order = np.argsort(-row, kind="stable")
        ranked = [ids[i] for i in order]
        ranks.append(min(ranked.index(r) for r in relevant) + 1)
    return {
        "R@1": float(np.mean([r <= 1 for r in ranks])),
        "R@3": float(np.mean([r <= 3 for r in ranks])),
        "MRR": float(np.mean([1.0 / r for r in ranks])),
        "ranks": ranks,  # type: ignore[dict-item]
    }


def rrf(*score_matrices: np.ndarray, weights: tuple[float, ...] = (), k: int = 60) -> np.ndarray:
    """Weighted reciprocal-rank fusion of several score matrices (higher is better)."""
    fused = np.zeros_like(score_matrices[0], dtype=np.float64)
    for i, scores in enumerate(score_matrices):
        ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1) + 1
        fused += (weights[i] if weights else 1.0) / (k + ranks)
    return fused


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    """Run ``fn``; return (result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run_backend(
    kind: str, docs: list[str], queries: list[str], sentences: list[str]
) -> dict[str, object]:
    """Load, embed documents, sentences and queries, timing each step.

    CPU time is reported beside wall time because the machine is shared: with one thread,
    process CPU time is the cost of the work itself, wall time adds waiting for a core.
    """
    model_path = PACKAGED_MINILM if kind == "st" else None
    embedder, load_s, _ = _timed(lambda: make_embedder(kind, model_path=model_path))
    if isinstance(embedder, LexicalEmbedder):
        embedder.fit(docs)
    embedder.embed_documents(docs[:4])  # warm up caches and lazy allocations
    doc_vectors, _, doc_cpu = _timed(embedder.embed_documents, docs)
    _, _, sentence_cpu = _timed(embedder.embed_documents, sentences)
    walls, cpus, query_vectors = [], [], []
    for query in queries:  # one at a time: the latency a searching teacher sees
        vector, wall, cpu = _timed(embedder.embed_queries, [query])
        query_vectors.append(vector[0])
        walls.append(wall)
        cpus.append(cpu)
    result: dict[str, object] = {
        "model": f"{embedder.name} {embedder.model_version}",
        "dim": embedder.dim,
        "load_s": load_s,
        "doc_ms_cpu": 1000 * doc_cpu / len(docs),
        "sentences_per_s_cpu": len(sentences) / max(sentence_cpu, 1e-9),
        "query_ms_p50": 1000 * statistics.median(walls),
        "query_ms_p95": 1000 * statistics.quantiles(walls, n=20)[18],
        "query_ms_cpu": 1000 * statistics.median(cpus),
        "dense": np.vstack(query_vectors) @ doc_vectors.T,
    }
    if isinstance(embedder, LexicalEmbedder):
        sparse, wall, cpu = _timed(embedder.scores, queries)
        result["sparse"] = sparse
        result["sparse_query_ms_cpu"] = 1000 * cpu / len(queries)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--backends", default="e5,use,st,lexical")
    args = parser.parse_args()

    resources = load_content(ROOT / "content").resources
    ids = [r.id for r in resources]
    docs = [document_text(r) for r in resources]
    queries = [q for q, _, _ in QUERIES]
    # Short sentences for throughput: the first outline item of every resource.
    sentences = [r.outline[0] for r in resources]
    known = set(ids)
    for _, relevant, _ in QUERIES:
        assert set(relevant) <= known, relevant

    rows: dict[str, dict[str, object]] = {}
    runs: dict[str, dict[str, object]] = {}
    for kind in args.backends.split(","):
        try:
            run = run_backend(kind, docs, queries, sentences)
        except EmbedderUnavailable as exc:
            print(f"skip {kind}: {exc}", file=sys.stderr)
            continue
        runs[kind] = run
        label = "lexical (dense, hashed)" if kind == "lexical" else kind
        rows[label] = {**metrics(run["dense"], ids), **run}  # type: ignore[arg-type]
        if "sparse" in run:
            rows["lexical (sparse TF-IDF)"] = {
                **metrics(run["sparse"], ids),  # type: ignore[arg-type]
                "model": run["model"],
                "query_ms_cpu": run["sparse_query_ms_cpu"],
            }
    if "lexical" in runs:
        for kind in ("e5", "use"):
            if kind in runs:
                for weight in (1.0, 0.3):
                    fused = rrf(
                        runs[kind]["dense"], runs["lexical"]["sparse"], weights=(1.0, weight)
                    )  # type: ignore[arg-type]
                    rows[f"hybrid {kind} + lexical (RRF, lexical weight {weight})"] = metrics(
                        fused, ids
                    )

    print(
        "| backend | dim | R@1 | R@3 | MRR | ms/query CPU (wall p50 / p95) "
        "| sentences/s CPU | ms/document CPU | load s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, row in rows.items():
        cells = [str(row.get("dim", ""))] + [f"{row[m]:.2f}" for m in ("R@1", "R@3", "MRR")]
        query = f"{row['query_ms_cpu']:.1f}" if "query_ms_cpu" in row else ""
        if "query_ms_p50" in row:
            query += f" ({row['query_ms_p50']:.1f} / {row['query_ms_p95']:.1f})"
        cells.append(query)
        for key, fmt in (
            ("sentences_per_s_cpu", "{:.0f}"),
            ("doc_ms_cpu", "{:.1f}"),
            ("load_s", "{:.1f}"),
        ):
            cells.append(fmt.format(row[key]) if key in row else "")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    styles = sorted({s for _, _, s in QUERIES})
    print("R@3 by query style: | backend | " + " | ".join(styles) + " |")
    for label, row in rows.items():
        ranks = row["ranks"]
        by_style = []
        for style in styles:
            picked = [r for r, (_, _, s) in zip(ranks, QUERIES, strict=True) if s == style]  # type: ignore[call-overload]
            by_style.append(f"{np.mean([r <= 3 for r in picked]):.2f} (n={len(picked)})")
        print(f"| {label} | " + " | ".join(by_style) + " |")
    if args.json:
        clean = {
            label: {k: v for k, v in row.items() if not isinstance(v, np.ndarray)}
            for label, row in rows.items()
        }
        args.json.write_text(json.dumps(clean, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
