"""Keeping the catalog's FAISS index in step with the database.

On start (and after catalog changes) :func:`open_catalog_search` loads the saved index, checks
it was built with the current backend and model, and syncs it with the catalog by content
hash: new resources are added, changed ones re-embedded and updated, deleted ones removed.
Only what changed is embedded (the embedding cache remembers the rest); a missing, corrupt or
mismatched index is rebuilt from scratch.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from tqdm import tqdm

from yanxiu.catalog.models import Course
from yanxiu.search.embed import Embedder, LexicalEmbedder
from yanxiu.search.embed_cache import EmbeddingCache
from yanxiu.search.hybrid import CatalogDoc, CatalogSearch
from yanxiu.search.index import StaleIndex, VectorIndex
from yanxiu.search.query import (
    FILLERS,
    STAGE_WORDS,
    SUBJECT_WORDS,
    PinyinVocabulary,
    QueryParser,
    Synonym,
    load_synonyms,
)
from yanxiu.search.relevance import UnknownWords
from yanxiu.search.sound import SoundLexical

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    rebuilt: bool
    added: int
    updated: int
    removed: int
    embedded: int  # texts that actually went through the model (cache misses)
    reason: str = ""


def load_docs(session: Session) -> list[CatalogDoc]:
    """Every catalog resource (all statuses: the index filters on status) in id order."""
    rows = session.scalars(
        select(Course).options(selectinload(Course.prerequisites)).order_by(Course.id)
    )
    return [
        CatalogDoc(
            id=c.id,
            code=c.code,
            title=c.title,
            summary=c.summary,
            outline=tuple(c.outline),
            problems=tuple(c.problems or ()),
            category=c.category,
            stages=tuple(c.stages),
            subjects=tuple(c.subjects),
            format=c.format.value,
            status=c.status.value,
            hours=c.hours,
            competencies=tuple(c.competencies),
            prerequisites=tuple(sorted(p.code for p in c.prerequisites)),
            levels=tuple(c.levels),
            posts=tuple(c.posts),
        )
        for c in rows
    ]


def doc_hash(doc: CatalogDoc) -> str:
    """Hash of what the index depends on: the embedded text and the filterable metadata."""
    payload = doc.text + "\x1f" + repr(sorted(doc.meta.items()))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def index_dir(data_dir: Path, embedder: Embedder) -> Path:
    return data_dir / "index" / f"catalog-{embedder.name}"


def _embed(
    docs: list[CatalogDoc], embedder: Embedder, cache: EmbeddingCache, progress: bool
) -> tuple[np.ndarray, int]:
    texts = [d.text for d in docs]
    if not texts:
        return np.empty((0, embedder.dim), np.float32), 0
    vectors, misses = [], 0
    step = 32
    bar = tqdm(total=len(texts), desc="编制课程向量索引", unit="条", disable=not progress)
    for start in range(0, len(texts), step):
        vectors.append(cache.get_or_embed(embedder, texts[start : start + step], kind="document"))
        misses += cache.last_misses
        bar.update(min(step, len(texts) - start))
    bar.close()
    return np.vstack(vectors), misses


def sync_catalog_index(
    docs: list[CatalogDoc],
    *,
    embedder: Embedder,
    cache: EmbeddingCache,
    directory: Path,
    progress: bool = False,
) -> tuple[VectorIndex, SyncReport]:
    """Load the saved index and bring it in line with ``docs``; save it if anything changed.

    Server processes sharing ``directory`` (``yanxiu serve --workers N``) sync one at a time
    (a file lock beside it): one saves while the others wait, then find nothing to change."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{directory}.lock"):
        return _sync_catalog_index(docs, embedder=embedder, cache=cache, directory=directory,
                                   progress=progress)  # fmt: skip


def _sync_catalog_index(
    docs: list[CatalogDoc],
    *,
    embedder: Embedder,
    cache: EmbeddingCache,
    directory: Path,
    progress: bool = False,
) -> tuple[VectorIndex, SyncReport]:
    hashes = {d.id: doc_hash(d) for d in docs}
    expect = {"backend": embedder.name, "model": embedder.model_version, "dim": embedder.dim}
    try:
        index = VectorIndex.load(directory, expect=expect)
        reason = ""
    except StaleIndex as exc:
        index, reason = None, str(exc)
    if index is None:
        log.info("building the catalog index from scratch (%s)", reason or "none saved")
        index = VectorIndex(embedder.dim, backend=embedder.name, model=embedder.model_version)
        vectors, misses = _embed(docs, embedder, cache, progress)
        index.build(
            [d.id for d in docs], vectors, [d.meta for d in docs], [hashes[d.id] for d in docs]
        )
        index.save(directory)
        return index, SyncReport(True, len(docs), 0, 0, misses, reason or "no saved index")
    current = index.content_hashes()
    removed = [i for i in current if i not in hashes]
    new = [d for d in docs if d.id not in current]
    changed = [d for d in docs if d.id in current and current[d.id] != hashes[d.id]]
    misses = 0
    if removed:
        index.remove(removed)
    for group, write in ((new, index.add), (changed, index.update)):
        if group:
            vectors, m = _embed(group, embedder, cache, progress)
            misses += m
            write(
                [d.id for d in group],
                vectors,
                [d.meta for d in group],
                [hashes[d.id] for d in group],
            )
    if removed or new or changed:
        index.save(directory)
    return index, SyncReport(False, len(new), len(changed), len(removed), misses)


def open_catalog_search(
    session: Session,
    *,
    embedder: Embedder,
    data_dir: Path,
    progress: bool = False,
    lexical_weight: float = 0.5,
    synonym_files: tuple[Path, ...] = (),
    synonyms: Sequence[Synonym] | None = None,
    scope_topics: Sequence[str] = (),
) -> tuple[CatalogSearch, SyncReport]:
    """Everything search needs, synced with the catalog in ``session``'s database.
    ``synonyms`` (the table in force) replaces ``synonym_files`` when given."""
    docs = load_docs(session)
    cache = EmbeddingCache(data_dir / "embeddings")
    search: CatalogSearch | None = None
    try:
        index, report = sync_catalog_index(
            docs,
            embedder=embedder,
            cache=cache,
            directory=index_dir(data_dir, embedder),
            progress=progress,
        )
        search = build_catalog_search(
            docs, embedder=embedder, cache=cache, index=index, lexical_weight=lexical_weight,
            synonym_files=synonym_files, synonyms=synonyms, scope_topics=scope_topics,
        )  # fmt: skip
    finally:
        cache.close()
    return search, report


def build_catalog_search(
    docs: list[CatalogDoc],
    *,
    embedder: Embedder,
    cache: EmbeddingCache,
    index: VectorIndex | None = None,
    lexical_weight: float = 0.5,
    synonym_files: tuple[Path, ...] = (),
    synonyms: Sequence[Synonym] | None = None,
    progress: bool = False,
    scope_topics: Sequence[str] = (),
) -> CatalogSearch:
    """Everything a query needs, in memory: document and 典型困惑 vectors (from the cache),
    the lexical matrix, and the query parser (synonyms, pinyin of the catalog's words).
    ``synonyms`` (the table in force) replaces ``synonym_files`` when given."""
    vectors, _ = _embed(docs, embedder, cache, progress)
    if index is None:
        index = VectorIndex(embedder.dim, backend=embedder.name, model=embedder.model_version)
        index.build([d.id for d in docs], vectors, [d.meta for d in docs])
    lexical = LexicalEmbedder().fit([d.search_text for d in docs]) if docs else LexicalEmbedder()
    table = list(synonyms) if synonyms is not None else load_synonyms(*synonym_files)
    parser, unknown = query_understanding(docs, table)
    search = CatalogSearch(
        docs, embedder=embedder, index=index, lexical=lexical, lexical_weight=lexical_weight,
        parser=parser,
    )  # fmt: skip
    search.doc_vectors = vectors
    search.sound = SoundLexical().fit([d.search_text for d in docs]) if docs else None
    search.unknown_words = unknown
    problems = search.problem_texts
    if problems:
        # 典型困惑 are questions, like queries: embedded as queries (symmetric for e5)
        search.problem_vectors = np.vstack(
            [
                cache.get_or_embed(embedder, problems[i : i + 64], kind="query")
                for i in range(0, len(problems), 64)
            ]
        )
    if scope_topics:
        # what the catalog does not offer, phrased like course descriptions (documents)
        search.scope_topics = list(scope_topics)
        search.scope_vectors = cache.get_or_embed(embedder, search.scope_topics)
    return search


def query_understanding(
    docs: Sequence[CatalogDoc], synonyms: Sequence[Synonym]
) -> tuple[QueryParser, UnknownWords]:
    """What depends on the synonym table: the query parser (synonyms, pinyin of the catalog's
    and the table's words) and the words the catalog and the table know. A fraction of a
    second for a few hundred resources: rebuilt alone when only the synonyms changed."""
    words = catalog_words(list(docs), list(synonyms))
    parser = QueryParser(synonyms, PinyinVocabulary(words))
    unknown = UnknownWords(
        " ".join(words) + " " + " ".join(d.search_text for d in docs),
        stop=FILLERS,
        by_sound=True,
    )
    return parser, unknown


def catalog_words(docs: list[CatalogDoc], synonyms: list[Synonym]) -> list[str]:
    """Words of the catalog and the synonym table (jieba), for reading pinyin queries."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    texts = [d.search_text for d in docs]
    texts += [" ".join(s.aliases) + " " + s.expansion for s in synonyms]
    words = [w for text in texts for w in jieba.lcut(text)]
    # titles and categories in full mode too, so 师德师风 also gives 师风 (shide shifeng)
    words += [w for d in docs for w in jieba.lcut(f"{d.title} {d.category}", cut_all=True)]
    words += [d.category for d in docs]
    words += [w for ws in (*STAGE_WORDS.values(), *SUBJECT_WORDS.values()) for w in ws]
    return words
