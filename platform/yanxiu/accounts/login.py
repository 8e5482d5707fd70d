"""Checking a password at login, with every attempt audited (who, from where, why refused).

Unknown usernames and deactivated accounts cost as much as a real check (a real argon2 hash of
a random password is verified), so timing does not tell which usernames exist.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import User
from yanxiu.accounts.security import hash_password, verify_password
from yanxiu.audit.service import record_audit


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(24))


def authenticate(session: Session, *, username: str, password: str, ip: str) -> User | None:
    """The active user with this username and password, or None; the attempt is audited."""
    user = session.scalar(select(User).where(User.username == username)) if username else None
    if user is None or not user.is_active:
        verify_password(password, _dummy_hash())  # same cost as a real check
        ok = False
    else:
        ok = verify_password(password, user.password_hash)
    if ok:
        assert user is not None
        record_audit(session, actor_id=user.id, action="auth.login", entity="user",
                     entity_id=user.id, detail={"ip": ip})  # fmt: skip
        return user
    reason = (
        "unknown_user" if user is None else ("inactive" if not user.is_active else "bad_password")
    )
    record_audit(session, actor_id=user.id if user else None, action="auth.login_failed",
                 entity="user", entity_id=user.id if user else (username[:64] or "-"),
                 detail={"username": username, "ip": ip, "reason": reason})  # fmt: skip
    return None


def record_throttled(session: Session, *, username: str, ip: str) -> None:
    """Audit a login refused before any password check (too many failures)."""
    record_audit(session, actor_id=None, action="auth.login_failed", entity="user",
                 entity_id=username[:64] or "-",
                 detail={"username": username, "ip": ip, "reason": "throttled"})  # fmt: skip


def record_logout(session: Session, *, user_id: int, ip: str) -> None:
    record_audit(session, actor_id=user_id, action="auth.logout", entity="user",
                 entity_id=user_id, detail={"ip": ip})  # fmt: skip
