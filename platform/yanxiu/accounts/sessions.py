"""Server-side login sessions: start at login, check on each request, end at logout.

The browser holds a random session id; the database holds its SHA-256, the user, and when the
session began and was last seen. A session ends when it is deleted (logout, or a user's
deactivation), idles out or reaches its maximum age, in every worker and across restarts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from yanxiu.accounts.auth_models import LoginSession
from yanxiu.accounts.models import Role, User

# The last-seen time is written at most this often (a write per request would serialise
# every page view on SQLite, and is a third of a request's database work on PostgreSQL); an
# idle timeout (an hour by default) is therefore exact to within this many seconds.
SEEN_RESOLUTION_SECONDS = 60.0


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    """The logged-in user of a live session (a detached snapshot)."""

    user_id: int
    username: str
    display_name: str
    role: Role
    region_id: int | None
    school_id: int | None
    must_change_password: bool
    password_version: int


def start_session(session: Session, *, user_id: int, now: float, ip: str = "") -> str:
    """A new session for ``user_id``; returns the id the cookie carries."""
    session_id = new_session_id()
    version = session.scalar(select(User.password_version).where(User.id == user_id)) or 0
    session.add(LoginSession(id_hash=_hash(session_id), user_id=user_id, started_at=now,
                             seen_at=now, ip=ip[:64], password_version=version))  # fmt: skip
    session.flush()
    return session_id


def check_session(
    session: Session, session_id: str, *, now: float, idle_seconds: float, max_seconds: float
) -> ActiveSession | None:
    """The user of a live session, or None (unknown, ended, idle too long, too old, the user
    deactivated, or their password changed or reset since: an ended session's row is
    deleted)."""
    key = _hash(session_id)
    row = session.execute(
        select(LoginSession, User).join(User, User.id == LoginSession.user_id)
        .where(LoginSession.id_hash == key)
    ).first()  # fmt: skip
    if row is None:
        return None
    login, user = row
    if (
        not user.is_active
        or (user.password_version or 0) != login.password_version
        or now - login.started_at > max_seconds
        or now - login.seen_at > idle_seconds
    ):
        session.execute(delete(LoginSession).where(LoginSession.id_hash == key))
        return None
    if now - login.seen_at >= SEEN_RESOLUTION_SECONDS:
        session.execute(update(LoginSession).where(LoginSession.id_hash == key).values(seen_at=now))
    return ActiveSession(user.id, user.username, user.display_name, user.role, user.region_id,
                         user.school_id, bool(user.must_change_password),
                         user.password_version or 0)  # fmt: skip


def end_session(session: Session, session_id: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.id_hash == _hash(session_id)))


def end_user_sessions(session: Session, user_id: int) -> int:
    """Log a user out everywhere (deactivation, password change); returns how many ended."""
    result = session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired(session: Session, *, now: float, idle_seconds: float, max_seconds: float) -> int:
    """Delete sessions nobody can use any more (run now and then; they are refused anyway)."""
    result = session.execute(
        delete(LoginSession).where(
            (LoginSession.seen_at < now - idle_seconds)
            | (LoginSession.started_at < now - max_seconds)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
