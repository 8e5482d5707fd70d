"""Shared search fixtures: the real catalog embedded once per test session."""

from __future__ import annotations

import pytest

from yanxiu.config import PROJECT_ROOT
from yanxiu.lab.search_bench import content_docs
from yanxiu.search.catalog_index import build_catalog_search
from yanxiu.search.embed import make_embedder
from yanxiu.search.embed_cache import EmbeddingCache
from yanxiu.search.relevance import load_scope_topics


@pytest.fixture(scope="session")
def catalog_docs():
    return content_docs(PROJECT_ROOT / "content")


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory):
    cache = EmbeddingCache(tmp_path_factory.mktemp("embeddings"))
    yield cache
    cache.close()


SCOPE_TOPICS = load_scope_topics(PROJECT_ROOT / "content" / "search" / "out_of_scope.yaml")


def build_search(docs, backend, cache, lexical_weight=0.6):
    """The search the product builds (典型困惑 vectors, synonym table, pinyin parser)."""
    return build_catalog_search(
        list(docs), embedder=make_embedder(backend), cache=cache, lexical_weight=lexical_weight,
        synonym_files=(PROJECT_ROOT / "content" / "search" / "synonyms.yaml",),
        scope_topics=SCOPE_TOPICS,
    )  # fmt: skip


@pytest.fixture(scope="session")
def use_search(catalog_docs, embed_cache):
    """Hybrid search with the fast USE backend (about 2 s to embed the catalog)."""
    return build_search(catalog_docs, "use", embed_cache)


@pytest.fixture(scope="session")
def e5_search(catalog_docs, embed_cache):
    """Hybrid search with the default e5 backend (about 30 s to embed the catalog once)."""
    return build_search(catalog_docs, "e5", embed_cache)


@pytest.fixture(scope="session")
def lexical_search(catalog_docs, tmp_path_factory):
    """The search with the model-free lexical backend (fast; its own weights row)."""
    embedder = make_embedder("lexical")
    embedder.fit([d.search_text for d in catalog_docs])
    with EmbeddingCache(tmp_path_factory.mktemp("emb")) as cache:
        return build_catalog_search(
            catalog_docs, embedder=embedder, cache=cache,
            synonym_files=(PROJECT_ROOT / "content" / "search" / "synonyms.yaml",),
            scope_topics=SCOPE_TOPICS,
        )  # fmt: skip
