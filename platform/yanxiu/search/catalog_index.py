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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from tqdm import tqdm

from yanxiu.catalog.models import Course
from yanxiu.search.embed import Embedder, LexicalEmbedder
from yanxiu.search.embed_cache import EmbeddingCache
from yanxiu.search.hybrid import CatalogDoc, CatalogSearch
from yanxiu.search.index import StaleIndex, VectorIndex

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
    """Load the saved index and bring it in line with ``docs``; save it if anything changed."""
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
) -> tuple[CatalogSearch, SyncReport]:
    """Everything search needs, synced with the catalog in ``session``'s database."""
    docs = load_docs(session)
    cache = EmbeddingCache(data_dir / "embeddings")
    try:
        index, report = sync_catalog_index(
            docs,
            embedder=embedder,
            cache=cache,
            directory=index_dir(data_dir, embedder),
            progress=progress,
        )
        # all cache hits after the sync; the recommender needs item vectors by position
        vectors, _ = _embed(docs, embedder, cache, progress=False)
    finally:
        cache.close()
    lexical = LexicalEmbedder().fit([d.text for d in docs]) if docs else LexicalEmbedder()
    search = CatalogSearch(
        docs, embedder=embedder, index=index, lexical=lexical, lexical_weight=lexical_weight
    )
    search.doc_vectors = vectors
    return search, report
