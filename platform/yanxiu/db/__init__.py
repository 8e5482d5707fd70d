"""Persistence: engine and sessions, the table metadata, Alembic migrations."""

from yanxiu.db.base import Base
from yanxiu.db.engine import make_engine, make_session_factory, session_scope

__all__ = ["Base", "make_engine", "make_session_factory", "session_scope"]
