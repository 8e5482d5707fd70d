"""Alembic environment: runs against the connection or URL handed over by yanxiu.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from yanxiu.db.engine import make_engine
from yanxiu.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Yanxiu migrations run online only: use `yanxiu init` or `yanxiu migrate`.")
run_migrations_online()
