"""Building the search service from settings (used by the app's lifespan and the CLI)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from yanxiu.config import Settings
from yanxiu.search.catalog_index import SyncReport, open_catalog_search
from yanxiu.search.embed import Embedder, make_embedder
from yanxiu.search.hybrid import CatalogSearch
from yanxiu.search.query import Synonym
from yanxiu.search.relevance import load_scope_topics
from yanxiu.search.synonyms import import_legacy_file, synonyms_in_force


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
    """The catalog's search, with the synonym table in force in ``session``'s database."""
    return open_catalog_search(
        session,
        embedder=embedder_from_settings(settings),
        data_dir=settings.data_dir,
        progress=progress,
        lexical_weight=settings.search_lexical_weight,
        synonyms=site_synonyms(settings, session),
        scope_topics=scope_topics(settings),
    )


def scope_topics(settings: Settings) -> list[str]:
    """What the catalog does not offer (content/search/out_of_scope.yaml), for the gate."""
    return load_scope_topics(settings.content_dir / "search" / "out_of_scope.yaml")


def site_synonyms(settings: Settings, session: Session) -> list[Synonym]:
    """The synonym table in force: the shipped file and this site's entries (the database),
    after importing a pre-0015 ``<data_dir>/search_synonyms.yaml`` (once; idempotent)."""
    import_legacy_file(session, legacy_synonym_file(settings))
    return synonyms_in_force(session, shipped_synonym_file(settings))


def shipped_synonym_file(settings: Settings) -> Path:
    """The reviewed table, shipped in content/ (read-only on a site)."""
    return settings.content_dir / "search" / "synonyms.yaml"


def legacy_synonym_file(settings: Settings) -> Path:
    """Where ``yanxiu synonyms add`` wrote a site's entries before they moved to the database
    (migration 0015): imported once, then only read to find entries not yet imported."""
    return settings.data_dir / "search_synonyms.yaml"
