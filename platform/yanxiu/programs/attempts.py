"""Limits on check-in codes tried: per teacher and per session, counted in the database.

A six-digit code could be guessed by trying them all, so every try is compared and written
down in a short transaction of its own, committed at once (a refused request rolls its own
transaction back; its tries must still count, and several workers must agree). That
transaction first locks the sessions tried (a row lock on PostgreSQL, the write lock on
SQLite), so tries of one session are compared one after another: twenty guesses sent at once
still get :data:`PER_TEACHER` comparisons, while twenty copies of a right code all succeed.

A try is compared only while, in the last :data:`WINDOW`, the teacher has made fewer than
:data:`PER_TEACHER` wrong tries on that session and all teachers together fewer than
:data:`PER_SESSION`; otherwise :class:`~yanxiu.errors.TooManyAttempts` (429), and the refused
try is not counted (the wait ends when the oldest counted one ages out).
"""

from __future__ import annotations

import hmac
import math
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, create_engine, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from yanxiu.errors import TooManyAttempts
from yanxiu.programs.models import CheckinAttempt, OfflineSession

WINDOW = timedelta(minutes=10)
PER_TEACHER = 5  # wrong tries of one teacher on one session within WINDOW
PER_SESSION = 200  # … of all teachers on one session (many accounts guessing together)


def _naive_utc(at: datetime) -> datetime:
    """SQLite hands times back naive (UTC), PostgreSQL aware."""
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


_SIDE: dict[str, Engine] = {}
_SIDE_LOCK = threading.Lock()


def _side_engine(session: Session) -> Engine:
    """An engine without a pool for the tries' own transactions.

    Not the request's pool: a request already holds one of its connections, and twenty
    requests each waiting for a second one would wait on each other until the pool times out.
    Without a pool, nothing is left open between tries (tests make a database per test)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    url = engine.url.render_as_string(hide_password=False)
    with _SIDE_LOCK:
        if url not in _SIDE:
            args = {"timeout": 10, "check_same_thread": False} if url.startswith("sqlite") else {}
            _SIDE[url] = create_engine(url, poolclass=NullPool, connect_args=args)
        return _SIDE[url]


def try_code(
    session: Session,
    *,
    teacher_id: int,
    session_ids: Sequence[int],
    typed: str,
    code_of: Callable[[int, int], str],
    at: datetime,
) -> list[int]:
    """Compare ``typed`` with the codes of ``session_ids`` (``code_of(id, code_version)``)
    within the limits; write the try down (committed) and return the ids it matched.

    ``at`` is an aware UTC instant. Raises :class:`TooManyAttempts` before comparing anything
    when a limit is reached."""
    if not session_ids:
        return []
    since = at - WINDOW
    with Session(bind=_side_engine(session), expire_on_commit=False) as own:
        for sid in sorted(session_ids):  # lock in one order: no deadlock between two tries
            own.execute(
                update(OfflineSession)
                .where(OfflineSession.id == sid)
                .values(code_version=OfflineSession.code_version)
            )
        for sid in session_ids:
            wrong = (
                CheckinAttempt.session_id == sid,
                CheckinAttempt.at >= since,
                CheckinAttempt.succeeded.is_(False),
            )
            mine = _count(own, *wrong, CheckinAttempt.teacher_id == teacher_id)
            everyone = _count(own, *wrong)
            if mine >= PER_TEACHER or everyone >= PER_SESSION:
                who = (CheckinAttempt.teacher_id == teacher_id,) if mine >= PER_TEACHER else ()
                oldest = own.scalar(select(func.min(CheckinAttempt.at)).where(*wrong, *who))
                own.rollback()
                raise TooManyAttempts(_wait_message(oldest, at, per_teacher=mine >= PER_TEACHER))
        versions = dict(
            own.execute(
                select(OfflineSession.id, OfflineSession.code_version).where(
                    OfflineSession.id.in_(list(session_ids))
                )
            ).all()
        )
        matched = [
            sid
            for sid in session_ids
            if hmac.compare_digest(code_of(sid, int(versions.get(sid) or 0)), typed)
        ]
        own.add_all(
            CheckinAttempt(session_id=sid, teacher_id=teacher_id, at=at, succeeded=sid in matched)
            for sid in session_ids
        )
        own.commit()
        return matched


def _count(own: Session, *where: object) -> int:
    return int(own.scalar(select(func.count(CheckinAttempt.id)).where(*where)) or 0)  # type: ignore[arg-type]


def _wait_message(oldest: datetime | None, at: datetime, *, per_teacher: bool) -> str:
    minutes = WINDOW.total_seconds() / 60
    if oldest is not None:
        left = (_naive_utc(oldest) + WINDOW - _naive_utc(at)).total_seconds() / 60
        minutes = max(1, math.ceil(left))
    if per_teacher:
        return (
            f"签到码输错次数过多（{WINDOW.seconds // 60} 分钟内最多 {PER_TEACHER} 次），"
            f"请约 {minutes:.0f} 分钟后再试，或请培训者在考勤表中为您登记。"
        )
    return (
        f"本场活动的签到尝试过于频繁，已暂停签到，请约 {minutes:.0f} 分钟后再试，"
        "或请培训者在考勤表中登记。"
    )
