"""What SQLite and PostgreSQL say differently about triggers, in one place."""

from __future__ import annotations

from sqlalchemy import Connection, text


def drop_trigger(conn: Connection, name: str, table: str) -> None:
    """Drop trigger ``name`` on ``table`` if it exists (PostgreSQL names the table)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    elif conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
