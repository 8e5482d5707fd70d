"""Shared fixtures: fresh databases on SQLite and (when configured) PostgreSQL.

Set YANXIU_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test to also run every
database test against PostgreSQL; each test then gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os

# Pin BLAS/model threads before numpy or any model is imported (2 shared cores here).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

import yanxiu.tables  # noqa: F401  (every feature's tables registered)
from yanxiu.config import PROJECT_ROOT, Settings
from yanxiu.content import Content, load_content
from yanxiu.credits.policy import CreditPolicy, load_policies
from yanxiu.db import make_engine, make_session_factory, migrate
from yanxiu.db.engine import normalise_url
from yanxiu.setup import initialise

PG_URL = os.environ.get("YANXIU_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_schema_url(schema: str) -> str:
    base = normalise_url(PG_URL)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


class Database:
    """A fresh, migrated database and the URL to reach it."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.schema = None
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'yanxiu-test.db'}"
        else:
            self.schema = "t_" + uuid.uuid4().hex[:12]
            admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"CREATE SCHEMA {self.schema}"))
            admin.dispose()
            self.url = _pg_schema_url(self.schema)
        self.engine: Engine = make_engine(self.url)

    def migrate(self) -> Database:
        migrate.upgrade(self.engine)
        return self

    @property
    def factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def drop(self) -> None:
        self.engine.dispose()
        if self.schema:
            admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, empty (unmigrated) database on each configured backend."""
    db = Database(request.param, tmp_path)
    yield db
    db.drop()


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A fresh database migrated to head."""
    return empty_db.migrate()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    s = db.factory()
    yield s
    s.rollback()
    s.close()


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(PROJECT_ROOT / "content")


@pytest.fixture(scope="session")
def policy() -> CreditPolicy:
    return load_policies(PROJECT_ROOT / "content" / "policies")["GX"]


@pytest.fixture
def settings_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build test settings pointing at a given database URL."""

    def make(url: str, **extra: object) -> Settings:
        return Settings(
            env="test", database_url=url, data_dir=tmp_path / "var", _env_file=None, **extra
        )  # type: ignore[call-arg]

    return make


TODAY = date(2026, 11, 20)


def copy_sqlite(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo seeded once per test session (about 10 s); web and browser tests copy it."""
    folder = tmp_path_factory.mktemp("demo-template")
    db_file = folder / "yanxiu.db"
    settings = Settings(  # type: ignore[call-arg]
        env="test", database_url=f"sqlite:///{db_file}", data_dir=folder / "var",
        embed_backend="lexical", _env_file=None,
    )  # fmt: skip
    initialise(settings, demo=True, progress=False)
    return db_file
