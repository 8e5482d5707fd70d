"""Server-side login sessions and login-throttle counters (shared by every worker process)."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yanxiu.db.base import Base


class LoginSession(Base):
    """One logged-in browser. The cookie carries a random id; only its SHA-256 is stored, so
    a copy of the database opens no session. Logout deletes the row (revoked for every worker,
    across restarts). Times are epoch seconds on the web layer's clock (tests move it)."""

    __tablename__ = "login_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[float] = mapped_column(Float)
    ip: Mapped[str] = mapped_column(String(64), default="")
    # the user's password version at login: a changed or reset password ends the session
    password_version: Mapped[int] = mapped_column(Integer, default=0)


class LoginThrottleCounter(Base):
    """Failed logins of one key ("user:<name>" or "ipuser:<ip>|<name>", "anon:<ip>") in the
    current fixed window, the lock-out it triggered, and attempts refused during the lock
    (counted here rather than written to the audit log one by one)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
