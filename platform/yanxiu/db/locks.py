"""Row locks that hold on SQLite and PostgreSQL alike, for check-then-write transitions.

A "has this case already reached this teacher?" check followed by an insert lets twenty
concurrent requests all pass the check. Locking one row that every such request must touch
first (the case being pushed) makes them queue: the second reads after the first committed.

- PostgreSQL: ``SELECT … FOR UPDATE`` locks the row until the transaction ends; under READ
  COMMITTED every later statement sees what the previous holder committed.
- SQLite has no row locks, and a writer locks the whole database: a no-op ``UPDATE`` takes the
  write lock (waiting out the busy timeout), and because pysqlite begins the transaction right
  before it, the reads that follow see every earlier commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session


def lock_row(session: Session, model: type[Any], row_id: int) -> None:
    """Hold ``model`` row ``row_id`` until the session's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(model.id).where(model.id == row_id).with_for_update())
    else:
        # text, not update(): a column's onupdate (updated_at) must not change for a lock
        table = model.__table__.name
        session.execute(text(f"UPDATE {table} SET id = id WHERE id = :id"), {"id": int(row_id)})
