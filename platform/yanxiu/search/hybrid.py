"""Hybrid semantic catalog search: dense (embeddings) and lexical (character TF-IDF) fused.

Dense retrieval understands paraphrases, colloquial questions and English; lexical retrieval
is exact about rare terms (防溺水, 自然拼读) and robust to ASR-style filler. A query is first
understood (:mod:`yanxiu.search.query`: filler words, synonyms, pinyin, stage and subject),
then every resource is scored on one scale (the catalog is small: a matrix product)::

    dense   = max(cos(q, resource), cos(q, best 典型困惑) + problem_offset), mixed with
              doc_mix · cos(q, resource)
    score   = w_dense * dense + coverage * (w_lexical * lexical + w_sound * sound)
              + stage/subject boosts

where ``sound`` is the same kind of TF-IDF over the text spelt in pinyin
(:mod:`yanxiu.search.sound`), so a homophone typo (分层坐业) still matches 分层作业.

Scores are on the embedder's cosine scale rather than ranks, so a strong lexical match
(cosine 0.5 on the TF-IDF side) lifts a resource the dense side ranked 40th, which weighted
reciprocal-rank fusion could not (a lexical rank 1 tied a dense rank 42). ``coverage`` is the
share of the query the lexical side knows at all, so an English query is ranked by the dense
side alone. Whether anything fits at all is decided by :mod:`.relevance` (a small logistic
model): nonsense and topics the catalog lacks get no results rather than 20 confident ones.
The weights and that model are chosen on the dev half of content/eval
(``yanxiu eval search --tune``) and kept per embedding backend in :mod:`.tuning`.
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from yanxiu.search.embed import Embedder, LexicalEmbedder, normalise_text
from yanxiu.search.index import VectorIndex
from yanxiu.search.query import ParsedQuery, QueryParser
from yanxiu.search.relevance import UnknownWords, query_features
from yanxiu.search.sound import SoundLexical
from yanxiu.search.tuning import Weights, weights_for

Mode = Literal["hybrid", "dense", "lexical", "rrf"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical", "rrf")
RRF_K = 60
CANDIDATES = 50  # per retriever, before fusion
QUERY_VECTORS = 4096  # query vectors remembered
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
    problems: tuple[str, ...] = ()  # 典型困惑: embedded one by one, matched lexically

    @property
    def text(self) -> str:
        """The text embedded as the resource's vector: title, summary and outline."""
        return f"{self.title}。{self.summary} {'；'.join(self.outline)}"

    @property
    def search_text(self) -> str:
        """The text the lexical side matches: :attr:`text` and the problems."""
        return f"{self.text} {'；'.join(self.problems)}" if self.problems else self.text

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
    query: str  # the text the snippet highlights (made when first asked for: pages show 10)
    problem: str | None = None  # the 典型困惑 that matched the query best, if one did
    _snippet: tuple[str, list[str]] | None = field(default=None, repr=False)

    @property
    def snippet_html(self) -> str:
        """HTML-escaped passage, matched query fragments wrapped in <mark>."""
        if self._snippet is None:
            self._snippet = highlight(self.doc, self.query, problem=self.problem)
        return self._snippet[0]

    @property
    def matched(self) -> list[str]:
        self.snippet_html  # noqa: B018 - computes the snippet
        return self._snippet[1] if self._snippet else []

    def as_dict(self) -> dict[str, Any]:
        d = self.doc
        return {
            "id": d.id, "code": d.code, "title": d.title, "summary": d.summary, "category": d.category,
            "stages": list(d.stages), "subjects": list(d.subjects), "format": d.format, "hours": d.hours,
            "status": d.status, "score": round(self.score, 6), "dense_rank": self.dense_rank,
            "lexical_rank": self.lexical_rank, "snippet_html": self.snippet_html, "matched": self.matched,
            "problem": self.problem,
        }  # fmt: skip


@dataclass
class Scored:
    """Every document's fused score (by position) and the channels it came from."""

    score: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    sound: np.ndarray | None = None  # the pinyin channel (hybrid only)
    problem: float = 0.0  # the best cosine of any 典型困惑 with the query
    best_problem: dict[int, str] = field(default_factory=dict)
    # the nearest topic the catalog does not offer, and its cosine (None: no list loaded)
    outside: float | None = None
    outside_topic: str = ""

    @property
    def nearer_outside(self) -> str:
        """That topic when the query is nearer it than any course (the relevance model's
        ``outside`` feature above 0), else ""."""
        if self.outside is None or not len(self.dense) or self.outside <= self.dense.max():
            return ""
        return self.outside_topic


@dataclass
class SearchResult:
    """Hits for a query, what the query was understood as, and the best score."""

    parsed: ParsedQuery
    hits: list[SearchHit]
    best_score: float
    match_probability: float  # that the catalog has a good answer (relevance model)
    # a topic the catalog does not offer that the query is nearer to than to any course
    outside_topic: str = ""


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
        parser: QueryParser | None = None,
        weights: Weights | None = None,
    ) -> None:
        self.docs = list(docs)
        self.by_id = {d.id: d for d in self.docs}
        self.position = {d.id: i for i, d in enumerate(self.docs)}
        self.embedder, self.index, self.lexical = embedder, index, lexical
        self.lexical_weight = lexical_weight
        # document vectors by position in ``docs``, when the caller has them (recommendation)
        self.doc_vectors: np.ndarray | None = None
        # 典型困惑 vectors (one row per problem) and the position of the document each belongs to
        self.problem_vectors: np.ndarray | None = None
        self.problem_owner = np.array(
            [p for p, d in enumerate(self.docs) for _ in d.problems], np.int64
        )
        self.problem_texts = [t for d in self.docs for t in d.problems]
        # topics the catalog does not offer and their vectors (set by build_catalog_search)
        self.scope_topics: list[str] = []
        self.scope_vectors: np.ndarray | None = None
        self.parser = parser or QueryParser()
        self.weights = weights or weights_for(embedder.name)
        self._masks = {
            key: {v: np.array([v in getattr(d, key + "s") for d in self.docs], bool)
                  for v in {x for d in self.docs for x in getattr(d, key + "s")}}
            for key in ("stage", "subject")
        }  # fmt: skip
        self._general = self._masks["subject"].get("通用", np.zeros(len(self.docs), bool))
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.unknown_words: UnknownWords | None = None  # set by build_catalog_search
        # moves each time the query understanding is replaced (caches of results key on it)
        self.revision = 0
        self.sound: SoundLexical | None = None  # the pinyin channel, set by build_catalog_search
        # which n-grams the lexical side knows: a query with none of them has no lexical signal
        self._vocabulary = getattr(lexical._tfidf, "vocabulary_", {})

    def set_understanding(self, parser: QueryParser, unknown_words: UnknownWords) -> None:
        """Read queries with a new synonym table from now on (the index stays as it is)."""
        self.parser, self.unknown_words = parser, unknown_words
        self.revision += 1

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
        prior: Mapping[str, Sequence[str]] | None = None,
        matches_only: bool = False,
    ) -> list[SearchHit]:
        """Top ``k`` resources for ``query`` under ``filters`` (published only by default).

        ``prior`` is the searching teacher's stage and subjects (a soft boost). With
        ``matches_only`` a query judged to have no good answer gets no hits, and hits far
        below the best are left out (see :mod:`yanxiu.search.relevance`).
        """
        return self.find(
            query, k=k, filters=filters, mode=mode, include_unpublished=include_unpublished,
            prior=prior, matches_only=matches_only,
        ).hits  # fmt: skip

    def find(
        self,
        query: str,
        *,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
        mode: Mode = "hybrid",
        include_unpublished: bool = False,
        prior: Mapping[str, Sequence[str]] | None = None,
        matches_only: bool = False,
    ) -> SearchResult:
        """Like :meth:`search`, with what the query was understood as and the best score."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; use {', '.join(MODES)}")
        query = query.strip()
        parsed = self.parser.parse(query)
        if not query or not self.docs:
            return SearchResult(parsed, [], 0.0, 0.0)
        flt = clean_filters(filters)
        if not include_unpublished:
            flt.setdefault("status", ["published"])
        if mode == "rrf":
            return SearchResult(parsed, self._rrf(query, k, flt), 0.0, 1.0)
        scored = self.scores(parsed, mode=mode, prior=prior)
        allowed = self._allowed_mask(flt)
        scores = np.where(allowed, scored.score, -np.inf)
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]]) if len(order) and np.isfinite(scores[order[0]]) else 0.0
        probability = self.match_probability(parsed, scored) if mode == "hybrid" else 1.0
        outside = scored.nearer_outside
        floor = -np.inf
        if matches_only:
            if self.unknown_words is not None and self.unknown_words.letter_noise(parsed.text):
                return SearchResult(parsed, [], best, 0.0)
            if self.weights.match is not None and probability < self.weights.match.cut:
                return SearchResult(parsed, [], best, probability, outside)
            floor = best - self.weights.tail
        hits = []
        dense_rank = _ranks(scored.dense, allowed)
        lexical_rank = _ranks(scored.lexical, allowed)
        for pos in order[:k]:
            score = float(scores[pos])
            if not np.isfinite(score) or score < floor or (mode != "dense" and score <= 0):
                break
            doc = self.docs[pos]
            problem = scored.best_problem.get(int(pos))
            hits.append(
                SearchHit(
                    doc, score, dense_rank.get(int(pos)), lexical_rank.get(int(pos)),
                    parsed.lexical_text, problem,
                )
            )  # fmt: skip
        return SearchResult(parsed, hits, best, probability, outside)

    def match_probability(self, parsed: ParsedQuery, scored: Scored) -> float:
        """How likely the catalog has a good answer (1.0 when no model is calibrated)."""
        model = self.weights.match
        if model is None:
            return 1.0
        return model.probability(self.match_features(parsed, scored))

    def match_features(self, parsed: ParsedQuery, scored: Scored) -> dict[str, float]:
        """What the relevance model looks at (:func:`yanxiu.search.relevance.query_features`)."""
        unknown = self.unknown_words.share(parsed.lexical_text) if self.unknown_words else 0.0
        return query_features(
            scored.dense, scored.lexical, unknown, parsed.text, sound=scored.sound,
            problem=scored.problem, outside=scored.outside,
        )  # fmt: skip

    def scores(
        self,
        parsed: ParsedQuery,
        *,
        mode: Mode = "hybrid",
        prior: Mapping[str, Sequence[str]] | None = None,
    ) -> Scored:
        """Fused score of every document (by position), its dense, lexical and pinyin parts,
        and the 典型困惑 that matched each document best (when one beat the document's text)."""
        n = len(self.docs)
        w = self.weights
        best_problem: dict[int, str] = {}
        dense = np.zeros(n, np.float32)
        lex = np.zeros(n, np.float32)
        sound: np.ndarray | None = None
        problem_top = 0.0
        raw = mode in ("dense", "lexical")  # baselines: the query as typed, one retriever
        outside, outside_topic = None, ""
        if mode in ("hybrid", "dense"):
            qv = self.embed_query(parsed.raw if raw else parsed.text)
            dense = self._dense_doc_scores(qv)
            if not raw and self.scope_vectors is not None:
                sims = self.scope_vectors @ qv
                nearest = int(np.argmax(sims))
                outside, outside_topic = float(sims[nearest]), self.scope_topics[nearest]
            # 典型困惑 are Chinese questions: an English query matches their form, not their topic
            if (
                not raw
                and self.problem_vectors is not None
                and len(self.problem_owner)
                and _CJK.search(parsed.text)
            ):
                sims = self.problem_vectors @ qv
                per_doc = np.full(n, -1.0, np.float32)
                np.maximum.at(per_doc, self.problem_owner, sims)
                problem_top = float(sims.max())
                boosted = per_doc + w.problem_offset
                for pos in np.nonzero(boosted > dense)[0]:
                    mine = np.nonzero(self.problem_owner == pos)[0]
                    best_problem[int(pos)] = self.problem_texts[int(mine[np.argmax(sims[mine])])]
                dense = w.doc_mix * dense + (1 - w.doc_mix) * np.maximum(dense, boosted)
        if mode in ("hybrid", "lexical"):
            text = parsed.raw if raw else parsed.lexical_text
            lex = self.lexical.scores([text])[0].astype(np.float32)
        if mode == "dense":
            return Scored(dense, dense, lex, None, problem_top, best_problem)
        if mode == "lexical":
            return Scored(lex, dense, lex, None, problem_top, best_problem)
        coverage = self.lexical_coverage(parsed.lexical_text)
        score = w.dense * dense + w.lexical * coverage * lex
        if self.sound is not None:
            # a homophone typo (坐业 ~ 作业) still matches by sound
            sound = self.sound.scores(parsed.lexical_text)
            if w.sound:
                score = score + w.sound * coverage * sound
        # boosts only reorder what matched at all: a stage word alone matches nothing
        score = np.where(score > 0, score + self._boosts(parsed, prior), score)
        return Scored(score, dense, lex, sound, problem_top, best_problem, outside, outside_topic)

    def _dense_doc_scores(self, qv: np.ndarray) -> np.ndarray:
        if self.doc_vectors is not None:
            return (self.doc_vectors @ qv).astype(np.float32)
        # no document vectors kept: the index's nearest neighbours, the rest at their floor
        ids, sims = self.index.search(qv[None, :], min(len(self.docs), CANDIDATES))
        out = np.zeros(len(self.docs), np.float32)
        found = [
            (self.position[int(i)], float(s))
            for i, s in zip(ids[0], sims[0], strict=True)
            if i >= 0 and int(i) in self.position
        ]
        floor = min((s for _, s in found), default=0.0)
        out[:] = floor
        for pos, sim in found:
            out[pos] = sim
        return out

    def _boosts(self, parsed: ParsedQuery, prior: Mapping[str, Sequence[str]] | None) -> np.ndarray:
        """Soft stage/subject agreement: what the query names counts more than the profile."""
        w = self.weights
        out = np.zeros(len(self.docs), np.float32)
        asked = [("stage", parsed.stages, w.stage), ("subject", parsed.subjects, w.subject)]
        if prior:
            for key, weight in (("stage", w.prior_stage), ("subject", w.prior_subject)):
                values = [v for v in prior.get(key) or () if v]
                named = parsed.stages if key == "stage" else parsed.subjects
                if values and not named:  # the query's own words win over the profile
                    asked.append((key, values, weight))
        none = np.zeros(len(self.docs), bool)
        for key, wanted, weight in asked:
            if not wanted or not weight:
                continue
            has = np.logical_or.reduce([self._masks[key].get(v, none) for v in wanted])
            out += np.where(has, weight, -weight * w.mismatch_penalty)
            if key == "subject":
                general = self._general & ~has
                out += np.where(general, weight * (w.general_share + w.mismatch_penalty), 0.0)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """The query's vector, remembered for the most recent queries (typing repeats them)."""
        vec = self._query_vectors.get(text)
        if vec is None:
            vec = self.embedder.embed_queries([text])[0]
            self._query_vectors[text] = vec
            if len(self._query_vectors) > QUERY_VECTORS:
                self._query_vectors.popitem(last=False)
        return vec

    def _allowed_mask(self, flt: Mapping[str, Any]) -> np.ndarray:
        if not flt:
            return np.ones(len(self.docs), bool)
        return np.array([_allowed(d, flt) for d in self.docs], bool)

    def _rrf(self, query: str, k: int, flt: Mapping[str, Any]) -> list[SearchHit]:
        """The former fusion (weighted reciprocal ranks), kept as a baseline for evaluation."""
        depth = max(CANDIDATES, k)
        dense = self.dense(query, depth, flt)
        lexical = self.lexical_ranked(query, depth, flt)
        dense_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
        lexical_rank = {i: r for r, (i, _) in enumerate(lexical, start=1)}
        fused: dict[int, float] = {}
        w_lex = self.lexical_weight * self.lexical_coverage(query) ** 2
        for i, r in dense_rank.items():
            fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + r)
        for i, r in lexical_rank.items():
            fused[i] = fused.get(i, 0.0) + w_lex / (RRF_K + r)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        hits = []
        for doc_id, score in ranked:
            doc = self.by_id[doc_id]
            hits.append(
                SearchHit(doc, score, dense_rank.get(doc_id), lexical_rank.get(doc_id), query)
            )
        return hits


def _ranks(values: np.ndarray, allowed: np.ndarray) -> dict[int, int]:
    order = [int(p) for p in np.argsort(-values, kind="stable") if allowed[p] and values[p] > 0]
    return {pos: r for r, pos in enumerate(order[:CANDIDATES], start=1)}


def _query_terms(query: str) -> list[str]:
    """Fragments worth highlighting: CJK bigrams and trigrams, and Latin words."""
    text = normalise_text(query)
    terms = {m.group(0).lower() for m in re.finditer(r"[A-Za-z0-9]{2,}", text)}
    cjk_runs = re.findall(r"[\u4e00-\u9fff]+", text)
    for run in cjk_runs:
        for n in (3, 2):
            terms.update(run[i : i + n] for i in range(len(run) - n + 1))
    return sorted(terms, key=len, reverse=True)


def highlight(
    doc: CatalogDoc, query: str, *, width: int = 90, problem: str | None = None
) -> tuple[str, list[str]]:
    """The passage of the resource that best matches the query, with matches marked.

    Returns:
        ``(snippet_html, matched_terms)``; the snippet is HTML-escaped except for ``<mark>``.
    """
    terms = _query_terms(query)
    passages = [doc.summary, *doc.outline, *doc.problems, doc.title]
    if problem:  # the problem the query matched is the passage that explains the hit
        passages = [problem]
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
