"""Checking a password at login, with every attempt audited (who, from where, why refused).

Unknown usernames and deactivated accounts cost as much as a real check (a real argon2 hash of
a random password is verified), so timing does not tell which usernames exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import User
from yanxiu.accounts.security import hash_password, verify_password
from yanxiu.audit.service import record_audit


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(24))


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    ip: str,
    audit_unknown: Callable[[], bool] = lambda: True,
) -> User | None:
    """The active user with this username and password, or None; the attempt is audited.

    A failure on a username that does not exist is audited only if ``audit_unknown()`` says
    so (the login throttle: the first from an address in its window; the rest are counted), so
    guessing names cannot flood the audit log.
    """
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
    if user is None and not audit_unknown():
        return None
    record_audit(session, actor_id=user.id if user else None, action="auth.login_failed",
                 entity="user", entity_id=user.id if user else (username[:64] or "-"),
                 detail={"username": username, "ip": ip, "reason": reason,
                         **({"aggregated": True} if user is None else {})})  # fmt: skip
    return None


def record_throttled(session: Session, *, username: str, ip: str) -> None:
    """Audit the first login refused during a lock-out, before any password check (the rest
    of the lock-out's refusals are counted by the throttle, not logged one by one)."""
    record_audit(session, actor_id=None, action="auth.login_failed", entity="user",
                 entity_id=username[:64] or "-",
                 detail={"username": username, "ip": ip, "reason": "throttled"})  # fmt: skip


def record_lockout(session: Session, *, username: str, ip: str) -> None:
    """Audit a lock-out: too many failed logins for a username or an (IP, username)."""
    record_audit(session, actor_id=None, action="auth.lockout", entity="user",
                 entity_id=username[:64] or "-", detail={"username": username, "ip": ip})  # fmt: skip


def record_logout(session: Session, *, user_id: int, ip: str) -> None:
    record_audit(session, actor_id=user_id, action="auth.logout", entity="user",
                 entity_id=user_id, detail={"ip": ip})  # fmt: skip
