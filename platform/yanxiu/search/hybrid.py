"""Hybrid semantic catalog search: dense (FAISS) and lexical (character TF-IDF) fused.

Dense retrieval understands paraphrases, colloquial questions and English; lexical retrieval
is exact about rare terms (防溺水, 自然拼读) and robust to ASR-style filler. Each retrieves a
candidate list under the same filters, and the lists are fused by weighted reciprocal-rank
fusion (RRF, Cormack et al. 2009): ``score = Σ w / (K + rank)``. The lexical weight scales
with how much of the query the lexical side could match at all, so an English query against a
Chinese catalog (no shared characters) is ranked by the dense side alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from yanxiu.search.embed import Embedder, LexicalEmbedder, normalise_text
from yanxiu.search.index import VectorIndex

Mode = Literal["hybrid", "dense", "lexical"]
RRF_K = 60
CANDIDATES = 50  # per retriever, before fusion
FILTER_FIELDS = ("stage", "subject", "category", "format", "status")
FILTER_ALIASES = {
    "stages": "stage",
    "subjects": "subject",
    "categories": "category",
    "formats": "format",
}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class CatalogDoc:
    """What search needs of a catalog resource."""

    id: int
    code: str
    title: str
    summary: str
    outline: tuple[str, ...]
    category: str
    stages: tuple[str, ...]
    subjects: tuple[str, ...]
    format: str
    status: str
    hours: float
    competencies: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()  # codes
    levels: tuple[str, ...] = ()  # target tiers; empty = all
    posts: tuple[str, ...] = ()  # target posts; empty = all

    @property
    def text(self) -> str:
        """The text that is embedded and matched: title, summary and outline."""
        return f"{self.title}。{self.summary} {'；'.join(self.outline)}"

    @property
    def meta(self) -> dict[str, Any]:
        return {
            "stage": list(self.stages), "subject": list(self.subjects), "category": self.category,
            "format": self.format, "status": self.status,
        }  # fmt: skip


@dataclass
class SearchHit:
    doc: CatalogDoc
    score: float
    dense_rank: int | None
    lexical_rank: int | None
    snippet_html: str  # HTML-escaped, matched query fragments wrapped in <mark>
    matched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = self.doc
        return {
            "id": d.id, "code": d.code, "title": d.title, "summary": d.summary, "category": d.category,
            "stages": list(d.stages), "subjects": list(d.subjects), "format": d.format, "hours": d.hours,
            "status": d.status, "score": round(self.score, 6), "dense_rank": self.dense_rank,
            "lexical_rank": self.lexical_rank, "snippet_html": self.snippet_html, "matched": self.matched,
        }  # fmt: skip


def _allowed(doc: CatalogDoc, filters: Mapping[str, Any]) -> bool:
    meta = doc.meta
    for key, wanted in filters.items():
        wanted_set = {wanted} if isinstance(wanted, str) else set(wanted)
        values = meta[key] if isinstance(meta[key], list) else [meta[key]]
        if not wanted_set & set(values):
            return False
    return True


def clean_filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Drop empty filters and refuse unknown fields (a typo must not silently match all)."""
    out = {}
    for key, value in (filters or {}).items():
        key = FILTER_ALIASES.get(key, key)
        if key not in FILTER_FIELDS:
            raise ValueError(f"unknown filter {key!r}; use one of {', '.join(FILTER_FIELDS)}")
        if value:
            out[key] = value
    return out


class CatalogSearch:
    """Search over a fixed set of catalog documents (rebuilt when the catalog changes).

    Args:
        docs: The catalog documents.
        embedder: Dense query encoder; the index holds its document vectors.
        index: FAISS index keyed by ``CatalogDoc.id``.
        lexical: A lexical backend fitted on ``[d.text for d in docs]`` in the same order.
        lexical_weight: Weight of the lexical list in fusion (dense weighs 1).
    """

    def __init__(
        self,
        docs: Sequence[CatalogDoc],
        *,
        embedder: Embedder,
        index: VectorIndex,
        lexical: LexicalEmbedder,
        lexical_weight: float = 0.5,
    ) -> None:
        self.docs = list(docs)
        self.by_id = {d.id: d for d in self.docs}
        self.position = {d.id: i for i, d in enumerate(self.docs)}
        self.embedder, self.index, self.lexical = embedder, index, lexical
        self.lexical_weight = lexical_weight
        # document vectors by position in ``docs``, when the caller has them (recommendation)
        self.doc_vectors: np.ndarray | None = None
        # which n-grams the lexical side knows: a query with none of them has no lexical signal
        self._vocabulary = getattr(lexical._tfidf, "vocabulary_", {})

    # -- retrievers ------------------------------------------------------------------------
    def dense(self, query: str, k: int, filters: Mapping[str, Any]) -> list[tuple[int, float]]:
        vec = self.embedder.embed_queries([query])
        ids, scores = self.index.search(vec, k, filters=filters or None)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def lexical_ranked(
        self, query: str, k: int, filters: Mapping[str, Any]
    ) -> list[tuple[int, float]]:
        scores = self.lexical.scores([query])[0]
        order = np.argsort(-scores, kind="stable")
        out = []
        for pos in order:
            if scores[pos] <= 0:
                break
            doc = self.docs[pos]
            if not filters or _allowed(doc, filters):
                out.append((doc.id, float(scores[pos])))
                if len(out) == k:
                    break
        return out

    def lexical_coverage(self, query: str) -> float:
        """Share of the query's units (Chinese characters, Latin words) the catalog contains.

        Latin words count as misses: the catalog is Chinese, and its character n-grams of
        "how" or "ask" only add noise, so an English query is ranked by the dense side alone.
        """
        text = normalise_text(query)
        chars = _CJK.findall(text)
        words = _LATIN.findall(text)
        if not chars and not words:
            return 0.0
        return sum(c in self._vocabulary for c in chars) / (len(chars) + len(words))

    # -- search ----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
        mode: Mode = "hybrid",
        include_unpublished: bool = False,
    ) -> list[SearchHit]:
        """Top ``k`` resources for ``query`` under ``filters`` (published only by default)."""
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"unknown search mode {mode!r}; use hybrid, dense or lexical")
        query = query.strip()
        if not query or not self.docs:
            return []
        flt = clean_filters(filters)
        if not include_unpublished:
            flt.setdefault("status", ["published"])
        depth = max(CANDIDATES, k)
        dense = self.dense(query, depth, flt) if mode in ("hybrid", "dense") else []
        lexical = self.lexical_ranked(query, depth, flt) if mode in ("hybrid", "lexical") else []
        dense_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
        lexical_rank = {i: r for r, (i, _) in enumerate(lexical, start=1)}
        fused: dict[int, float] = {}
        w_lex = (
            1.0 if mode == "lexical" else self.lexical_weight * self.lexical_coverage(query) ** 2
        )
        for i, r in dense_rank.items():
            fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + r)
        for i, r in lexical_rank.items():
            fused[i] = fused.get(i, 0.0) + w_lex / (RRF_K + r)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        hits = []
        for doc_id, score in ranked:
            doc = self.by_id[doc_id]
            snippet, matched = highlight(doc, query)
            hits.append(
                SearchHit(
                    doc, score, dense_rank.get(doc_id), lexical_rank.get(doc_id), snippet, matched
                )
            )
        return hits


def _query_terms(query: str) -> list[str]:
    """Fragments worth highlighting: CJK bigrams and trigrams, and Latin words."""
    text = normalise_text(query)
    terms = {m.group(0).lower() for m in re.finditer(r"[A-Za-z0-9]{2,}", text)}
    cjk_runs = re.findall(r"[\u4e00-\u9fff]+", text)
    for run in cjk_runs:
        for n in (3, 2):
            terms.update(run[i : i + n] for i in range(len(run) - n + 1))
    return sorted(terms, key=len, reverse=True)


def highlight(doc: CatalogDoc, query: str, *, width: int = 90) -> tuple[str, list[str]]:
    """The passage of the resource that best matches the query, with matches marked.

    Returns:
        ``(snippet_html, matched_terms)``; the snippet is HTML-escaped except for ``<mark>``.
    """
    terms = _query_terms(query)
    passages = [doc.summary, *doc.outline, doc.title]
    best, best_spans = passages[0], []
    best_cover = -1
    for passage in passages:
        lower = passage.lower()
        covered = [False] * len(passage)
        for term in terms:
            start = lower.find(term)
            while start >= 0:
                for j in range(start, start + len(term)):
                    covered[j] = True
                start = lower.find(term, start + 1)
        cover = sum(covered)
        if cover > best_cover:
            best, best_cover = passage, cover
            best_spans = _spans(covered)
    text, spans = best, best_spans
    if len(text) > width:  # centre the window on the first match
        first = spans[0][0] if spans else 0
        lo = max(0, min(first - width // 3, len(text) - width))
        text = ("…" if lo else "") + text[lo : lo + width] + ("…" if lo + width < len(best) else "")
        shift = lo - (1 if lo else 0)
        spans = [(a - shift, b - shift) for a, b in spans if a >= lo and b <= lo + width]
    out, pos, matched = [], 0, []
    for a, b in spans:
        out.append(html.escape(text[pos:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        matched.append(text[a:b])
        pos = b
    out.append(html.escape(text[pos:]))
    return "".join(out), matched


def _spans(covered: list[bool]) -> list[tuple[int, int]]:
    spans, start = [], None
    for i, c in enumerate([*covered, False]):
        if c and start is None:
            start = i
        elif not c and start is not None:
            spans.append((start, i))
            start = None
    return spans
