"""Login throttling shared by every worker: counters in the database, or in Redis when
``YANXIU_REDIS_URL`` is set.

Failures are counted per username and per (IP, username), never per IP alone: a whole school
behind one NAT address shares an IP, and one teacher's forgotten password must not lock out
her colleagues. Five failures of one (IP, username) lock that pair; twenty of one username,
from anywhere, lock the username (a guess spread over many addresses). Attempts refused during
a lock-out, and failures on usernames that do not exist, are counted here; the audit log gets
one row per window for them, not one per attempt (an attacker cannot flood it).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from yanxiu.accounts.auth_models import LoginThrottleCounter
from yanxiu.db import session_scope

MAX_FAILURES_PER_IP_USERNAME = 5
MAX_FAILURES_PER_USERNAME = 20
WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60


class CounterStore(Protocol):
    """Fixed-window counters with a lock-out time, atomic across processes."""

    def hit(self, key: str, now: float, window: float) -> int:
        """Count one event of ``key``; the count in the current window (a new window starts
        ``window`` seconds after the last one began)."""

    def lock(self, key: str, until: float) -> None: ...

    def locked_until(self, key: str) -> float: ...

    def refuse(self, key: str) -> int:
        """Count an attempt refused during the lock; returns how many so far (1: the first)."""

    def clear(self, key: str) -> None: ...


class DatabaseCounters:
    """Counters in the ``login_throttles`` table (SQLite or PostgreSQL)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def hit(self, key: str, now: float, window: float) -> int:
        table = LoginThrottleCounter
        for _ in range(3):
            with session_scope(self.factory) as db:
                expired = table.window_start <= now - window
                changed = db.execute(
                    update(table).where(table.key == key).values(
                        failures=_case(expired, 1, table.failures + 1),
                        window_start=_case(expired, now, table.window_start),
                    )
                ).rowcount  # type: ignore[attr-defined]  # fmt: skip
                if changed:
                    return int(db.scalar(select(table.failures).where(table.key == key)) or 0)
            try:
                with session_scope(self.factory) as db:
                    db.add(table(key=key, window_start=now, failures=1))
                return 1
            except IntegrityError:  # a concurrent first failure: count again on its row
                continue
        return 1  # pragma: no cover - three lost races in a row

    def _set(self, key: str, **values: Any) -> None:
        with session_scope(self.factory) as db:
            table = LoginThrottleCounter
            if not db.execute(update(table).where(table.key == key).values(**values)).rowcount:  # type: ignore[attr-defined]
                db.add(table(key=key, window_start=0.0, failures=0, **values))

    def lock(self, key: str, until: float) -> None:
        with suppress(IntegrityError):  # locked concurrently: the same lock
            self._set(key, locked_until=until, refused=0)

    def locked_until(self, key: str) -> float:
        with session_scope(self.factory) as db:
            table = LoginThrottleCounter
            return float(db.scalar(select(table.locked_until).where(table.key == key)) or 0.0)

    def refuse(self, key: str) -> int:
        with session_scope(self.factory) as db:
            table = LoginThrottleCounter
            db.execute(update(table).where(table.key == key).values(refused=table.refused + 1))
            return int(db.scalar(select(table.refused).where(table.key == key)) or 0)

    def clear(self, key: str) -> None:
        with session_scope(self.factory) as db:
            table = LoginThrottleCounter
            db.execute(
                update(table)
                .where(table.key == key)
                .values(failures=0, locked_until=0.0, refused=0)
            )


def _case(condition: Any, then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


# One atomic step in Redis: start a new window or count in the current one.
_HIT = """
local start = tonumber(redis.call('HGET', KEYS[1], 'start') or '-1e18')
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
if now - start >= window then
  redis.call('HSET', KEYS[1], 'start', ARGV[1], 'n', 1)
else
  redis.call('HINCRBY', KEYS[1], 'n', 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return tonumber(redis.call('HGET', KEYS[1], 'n'))
"""
REDIS_TTL_SECONDS = 24 * 3600  # counters are forgotten a day after their last use


class RedisCounters:
    """The same counters in Redis hashes (``yanxiu:throttle:<key>``)."""

    def __init__(self, client: Any, prefix: str = "yanxiu:throttle:") -> None:
        self.client = client
        self.prefix = prefix
        self._hit = client.register_script(_HIT)

    def _k(self, key: str) -> str:
        return self.prefix + key

    def hit(self, key: str, now: float, window: float) -> int:
        return int(
            self._hit(keys=[self._k(key)], args=[repr(now), repr(window), REDIS_TTL_SECONDS])
        )

    def lock(self, key: str, until: float) -> None:
        pipe = self.client.pipeline()
        pipe.hset(self._k(key), mapping={"until": repr(until), "refused": 0})
        pipe.expire(self._k(key), REDIS_TTL_SECONDS)
        pipe.execute()

    def locked_until(self, key: str) -> float:
        value = self.client.hget(self._k(key), "until")
        return float(value) if value is not None else 0.0

    def refuse(self, key: str) -> int:
        return int(self.client.hincrby(self._k(key), "refused", 1))

    def clear(self, key: str) -> None:
        self.client.delete(self._k(key))


def counter_store(
    factory: sessionmaker[Session], redis_url: str = "", namespace: str = ""
) -> CounterStore:
    """Redis counters when a Redis URL is configured, else the database's. ``namespace``
    separates the sites (databases) that share one Redis server."""
    if redis_url:
        import redis

        return RedisCounters(
            redis.Redis.from_url(redis_url), prefix=f"yanxiu:throttle:{namespace}:"
        )
    return DatabaseCounters(factory)


@dataclass(frozen=True)
class Verdict:
    """Whether a login attempt may go ahead; when refused, whether it is the first refusal of
    this lock-out (the one the audit log records)."""

    allowed: bool
    first_refusal: bool = False


class LoginThrottle:
    """The throttle policy over a :class:`CounterStore` (``clock`` gives epoch seconds)."""

    def __init__(
        self,
        store: CounterStore,
        clock: Callable[[], float],
        *,
        per_ip_username: int = MAX_FAILURES_PER_IP_USERNAME,
        per_username: int = MAX_FAILURES_PER_USERNAME,
        window: float = WINDOW_SECONDS,
        lock: float = LOCK_SECONDS,
    ) -> None:
        self.store, self.clock = store, clock
        self.limits = {"ipuser": per_ip_username, "user": per_username}
        self.window, self.lock_seconds = window, lock

    @staticmethod
    def _keys(username: str, ip: str) -> dict[str, str]:
        name = username.strip().casefold()[:64]
        return {"ipuser": f"ipuser:{ip}|{name}", "user": f"user:{name}"}

    def check(self, username: str, ip: str) -> Verdict:
        now = self.clock()
        for key in self._keys(username, ip).values():
            if self.store.locked_until(key) > now:
                return Verdict(False, first_refusal=self.store.refuse(key) == 1)
        return Verdict(True)

    def record_failure(self, username: str, ip: str) -> bool:
        """Count a failed attempt; True if it just locked the username or the (IP, username)."""
        now, locked = self.clock(), False
        for kind, key in self._keys(username, ip).items():
            if self.store.hit(key, now, self.window) >= self.limits[kind]:
                self.store.lock(key, now + self.lock_seconds)
                locked = True
        return locked

    def first_unknown_in_window(self, ip: str) -> bool:
        """Count a failure on a username that does not exist from ``ip``; True for the first
        of the window (audited; the rest are only counted)."""
        return self.store.hit(f"anon:{ip}", self.clock(), self.window) == 1

    def reset(self, username: str, ip: str) -> None:
        """A successful login clears its (IP, username) counter and the username's."""
        for key in self._keys(username, ip).values():
            self.store.clear(key)
