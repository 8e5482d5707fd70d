"""Database-level guards that make the ledger tables append-only.

The service layer never updates or deletes ledger rows; these triggers make sure nothing else
(a hand-written SQL statement, a future bug) can either.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from yanxiu.db.triggers import drop_trigger

APPEND_ONLY_TABLES = (
    "credit_records",
    "credit_voids",
    "credit_reviews",
    "audit_log",
    "diagnosis_reviews",
)


def create_append_only_guards(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(
            text(
                """
            CREATE OR REPLACE FUNCTION yanxiu_refuse_change() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'append-only table %: void and replace instead', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
            )
        )
    for table in APPEND_ONLY_TABLES:
        for op in ("UPDATE", "DELETE"):
            name = f"{table}_no_{op.lower()}"
            if dialect == "sqlite":
                conn.execute(
                    text(
                        f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: "
                        f"void and replace instead'); END"
                    )
                )
            elif dialect == "postgresql":
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
                conn.execute(
                    text(
                        f"CREATE TRIGGER {name} BEFORE {op} ON {table} "
                        f"FOR EACH ROW EXECUTE FUNCTION yanxiu_refuse_change()"
                    )
                )


def drop_append_only_guards(conn: Connection) -> None:
    dialect = conn.dialect.name
    for table in APPEND_ONLY_TABLES:
        for op in ("update", "delete"):
            drop_trigger(conn, f"{table}_no_{op}", table)
    if dialect == "postgresql":
        conn.execute(text("DROP FUNCTION IF EXISTS yanxiu_refuse_change()"))
