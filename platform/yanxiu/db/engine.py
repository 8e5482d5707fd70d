"""Engine construction: SQLite (WAL, full sync, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(
    url: str, *, busy_timeout_ms: int = 10_000, echo: bool = False, pool_size: int = 16
) -> Engine:
    """Create an engine with the pragmas Yanxiu relies on.

    SQLite gets WAL (readers never block the writer), ``synchronous=FULL`` (a committed
    credit survives a power cut), enforced foreign keys and a busy timeout.

    PostgreSQL keeps ``pool_size`` connections open (as many as the process has request and
    job threads) and may open 4 more for a moment. SQLAlchemy's default, 5 kept and 10 more
    opened and closed on demand, had the server's 40 request threads connecting and
    disconnecting all the time under load: a new PostgreSQL backend process each time.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.close()

        @event.listens_for(engine, "savepoint")
        def _savepoint_inside_a_transaction(conn, _name):
            # pysqlite opens a transaction only before INSERT/UPDATE/DELETE. A SAVEPOINT sent
            # first would itself start one, and its RELEASE would COMMIT what follows it,
            # outside the session's rollback (a credit without its audit entry after a crash).
            # IMMEDIATE: a savepoint is taken only to write, so take the write lock now (waiting
            # out the busy timeout). A deferred BEGIN would read a snapshot first, and its first
            # write after another connection's commit fails at once with "database is locked"
            # (SQLite cannot upgrade a stale snapshot): twenty concurrent sheets answered 500.
            dbapi_conn = conn.connection.dbapi_connection
            if not dbapi_conn.in_transaction:
                dbapi_conn.execute("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=4)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``. Every feature's tables must be registered (import
    :mod:`yanxiu.tables`) before the ORM resolves foreign keys: :mod:`yanxiu.runtime` does."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
