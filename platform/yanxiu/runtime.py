"""Process-wide database handles built from settings (one engine per database URL)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import yanxiu.tables  # noqa: F401  (every feature's tables, before the ORM resolves foreign keys)
from yanxiu.config import Settings
from yanxiu.db.engine import make_engine, make_session_factory


@lru_cache(maxsize=8)
def _engine_for(url: str, busy_timeout_ms: int, pool_size: int) -> Engine:
    return make_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)


def get_engine(settings: Settings) -> Engine:
    # a connection for every request thread, and for the job, progress and watch threads
    return _engine_for(
        settings.database_url, settings.sqlite_busy_timeout_ms, settings.web_threads + 4
    )


def get_session_factory(settings: Settings) -> sessionmaker[Session]:
    return make_session_factory(get_engine(settings))
