"""Building the search service from settings (used by the app's lifespan and the CLI)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from yanxiu.config import Settings
from yanxiu.search.catalog_index import SyncReport, open_catalog_search
from yanxiu.search.embed import Embedder, make_embedder
from yanxiu.search.hybrid import CatalogSearch
from yanxiu.search.relevance import load_scope_topics


def embedder_from_settings(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process (raises EmbedderUnavailable)."""
    return make_embedder(
        settings.embed_backend,
        model_path=str(settings.embed_model_path) if settings.embed_model_path else None,
        threads=settings.threads,
    )


def catalog_search_from_settings(
    settings: Settings, session: Session, *, progress: bool = False
) -> tuple[CatalogSearch, SyncReport]:
    return open_catalog_search(
        session,
        embedder=embedder_from_settings(settings),
        data_dir=settings.data_dir,
        progress=progress,
        lexical_weight=settings.search_lexical_weight,
        synonym_files=synonym_files(settings),
        scope_topics=scope_topics(settings),
    )


def scope_topics(settings: Settings) -> list[str]:
    """What the catalog does not offer (content/search/out_of_scope.yaml), for the gate."""
    return load_scope_topics(settings.content_dir / "search" / "out_of_scope.yaml")


def synonym_files(settings: Settings) -> tuple[Path, Path]:
    """The reviewed synonym table and the deployment's additions (``yanxiu synonyms add``)."""
    return (
        settings.content_dir / "search" / "synonyms.yaml",
        settings.data_dir / "search_synonyms.yaml",
    )
