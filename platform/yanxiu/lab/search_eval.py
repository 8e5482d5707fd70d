"""Search quality on the labelled query set (content/eval/search_queries.yaml).

Metrics, each averaged over queries:
- nDCG@10 with graded gains ``2^grade − 1`` (grades 1–3), ideal ranking from all graded ids;
- recall@10: share of the graded resources (grade ≥ 1) found in the first 10;
- MRR: 1 / rank of the first resource of grade ≥ 2 (0 if none in the first 10).

Queries are split by id into dev (odd numbers) and test (even numbers); anything tuned (the
lexical fusion weight) is chosen on dev, and both halves are reported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from yanxiu.search.hybrid import CatalogSearch, Mode

K = 10
MODES: tuple[Mode, ...] = ("lexical", "dense", "hybrid")


@dataclass(frozen=True)
class LabelledQuery:
    id: str
    query: str
    kind: str
    filters: dict[str, Any]
    relevant: dict[str, int]  # resource code -> grade

    @property
    def split(self) -> str:
        return "dev" if int("".join(ch for ch in self.id if ch.isdigit()) or 0) % 2 else "test"


def load_queries(path: Path) -> list[LabelledQuery]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        LabelledQuery(
            q["id"], q["query"], q["kind"], dict(q.get("filters") or {}), dict(q["relevant"])
        )
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


def evaluate(
    search: CatalogSearch, queries: list[LabelledQuery], modes: tuple[Mode, ...] = MODES
) -> dict[str, Any]:
    """Metrics per mode, overall, per split and per query kind."""
    results: dict[str, Any] = {}
    for mode in modes:
        per_query = []
        for q in queries:
            hits = search.search(q.query, k=K, filters=q.filters, mode=mode)
            ranked = [h.doc.code for h in hits]
            per_query.append(
                (
                    q,
                    ndcg(ranked, q.relevant),
                    recall(ranked, q.relevant),
                    reciprocal_rank(ranked, q.relevant),
                )
            )
        results[mode] = {
            "all": _mean(per_query),
            "dev": _mean([r for r in per_query if r[0].split == "dev"]),
            "test": _mean([r for r in per_query if r[0].split == "test"]),
            "by_kind": {kind: _mean(rows) for kind, rows in sorted(_group(per_query).items())},
        }
    return {"queries": len(queries), "k": K, "modes": results}


def _group(rows: list[tuple]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = defaultdict(list)
    for r in rows:
        out[r[0].kind].append(r)
    return out


def _mean(rows: list[tuple]) -> dict[str, float]:
    n = len(rows) or 1
    return {
        "n": len(rows),
        "ndcg@10": round(sum(r[1] for r in rows) / n, 4),
        "recall@10": round(sum(r[2] for r in rows) / n, 4),
        "mrr": round(sum(r[3] for r in rows) / n, 4),
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"{'mode':<8} {'nDCG@10':>8} {'R@10':>6} {'MRR':>6}   (dev nDCG / test nDCG)   n={report['queries']}"
    ]
    for mode, r in report["modes"].items():
        a = r["all"]
        lines.append(
            f"{mode:<8} {a['ndcg@10']:>8.3f} {a['recall@10']:>6.3f} {a['mrr']:>6.3f}   "
            f"({r['dev']['ndcg@10']:.3f} / {r['test']['ndcg@10']:.3f})"
        )
    kinds = list(next(iter(report["modes"].values()))["by_kind"])
    lines.append("")
    lines.append("nDCG@10 by query kind: " + "  ".join(f"{k}" for k in kinds))
    for mode, r in report["modes"].items():
        lines.append(f"{mode:<8} " + "  ".join(f"{r['by_kind'][k]['ndcg@10']:.3f}" for k in kinds))
    return "\n".join(lines)
