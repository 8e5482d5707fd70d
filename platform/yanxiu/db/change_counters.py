"""Counters the database bumps itself whenever a watched table changes (triggers).

A reader that caches something derived from those tables keys the cache on the counter: any
INSERT, UPDATE or DELETE — through the ORM, a bulk statement or hand-written SQL — moves it,
so the cache can never outlive the data. ``people`` watches users, teacher profiles and
schools (who teaches where, in which cycle and tier): the compliance dashboards' groups.
``catalog`` watches the course resources the search index is built from: every server process
polls it and reloads its in-memory index when another process (an import job) changed them.
``synonyms`` watches the site's own search synonyms: the same poll rebuilds the query parser
(not the index) when an admin added or removed one in any process.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from yanxiu.db.base import Base
from yanxiu.db.triggers import drop_trigger

WATCHED = {
    "people": ("users", "teacher_profiles", "schools"),
    "catalog": ("courses", "course_prerequisites"),
    "synonyms": ("search_synonyms", "search_synonym_aliases"),
}


class ChangeCounter(Base):
    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


def version(session: Session, name: str) -> int | None:
    """The counter's value; ``None`` when the database has no such counter (then nothing may
    be cached on it)."""
    value = session.scalar(select(ChangeCounter.version).where(ChangeCounter.name == name))
    return None if value is None else int(value)


def create_change_triggers(conn: Connection, counters: tuple[str, ...] = ("people",)) -> None:
    """The counters' rows and the triggers that bump them (each migration adds its own)."""
    dialect = conn.dialect.name
    for counter in counters:
        tables = WATCHED[counter]
        conn.execute(
            text("INSERT INTO change_counters (name, version) VALUES (:n, 0)"), {"n": counter}
        )
        bump = f"UPDATE change_counters SET version = version + 1 WHERE name = '{counter}'"
        if dialect == "postgresql":
            conn.execute(text(
                f"CREATE OR REPLACE FUNCTION yanxiu_bump_{counter}() RETURNS trigger AS $$ "
                f"BEGIN {bump}; RETURN NULL; END; $$ LANGUAGE plpgsql"
            ))  # fmt: skip
        for table in tables:
            for op in ("INSERT", "UPDATE", "DELETE"):
                name = f"{table}_{op.lower()}_bumps_{counter}"
                if dialect == "sqlite":
                    conn.execute(text(f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {op} ON {table} "
                                      f"BEGIN {bump}; END"))  # fmt: skip
                elif dialect == "postgresql":  # once per statement: a bulk import bumps once
                    conn.execute(text(f"CREATE TRIGGER {name} AFTER {op} ON {table} "
                                      f"FOR EACH STATEMENT EXECUTE FUNCTION yanxiu_bump_{counter}()"))  # fmt: skip


def drop_change_triggers(conn: Connection, counters: tuple[str, ...] = ("people",)) -> None:
    dialect = conn.dialect.name
    for counter in counters:
        tables = WATCHED[counter]
        for table in tables:
            for op in ("insert", "update", "delete"):
                drop_trigger(conn, f"{table}_{op}_bumps_{counter}", table)
        if dialect == "postgresql":
            conn.execute(text(f"DROP FUNCTION IF EXISTS yanxiu_bump_{counter}()"))
        conn.execute(text("DELETE FROM change_counters WHERE name = :n"), {"n": counter})
