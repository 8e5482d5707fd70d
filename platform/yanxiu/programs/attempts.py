"""Limits on check-in codes tried: per teacher and per session, counted in the database.

A six-digit code could be guessed by trying them all, so every try is written down before the
code is compared, in a transaction of its own that is committed at once (a refused request
rolls its own transaction back; its tries must still count, and several workers must agree).
A try is then allowed only if, counting it and every earlier one in the last
:data:`WINDOW`, the teacher has made no more than :data:`PER_TEACHER` unsuccessful tries on
that session, and all teachers together no more than :data:`PER_SESSION`. Counting up to one's
own row id makes concurrent tries queue up: twenty at once still get five.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from yanxiu.errors import TooManyAttempts
from yanxiu.programs.models import CheckinAttempt

WINDOW = timedelta(minutes=10)
PER_TEACHER = 5  # unsuccessful tries of one teacher on one session within WINDOW
PER_SESSION = 200  # … of all teachers on one session (many accounts guessing together)


def _naive_utc(at: datetime) -> datetime:
    """SQLite hands times back naive (UTC), PostgreSQL aware."""
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


def reserve(
    session: Session, *, teacher_id: int, session_ids: Sequence[int], at: datetime
) -> list[int]:
    """Write down one try of ``teacher_id`` on each of ``session_ids`` (committed at once) and
    return their ids; :class:`TooManyAttempts` (nothing kept) if a limit is reached.

    ``at`` is an aware UTC instant."""
    if not session_ids:
        return []
    since = at - WINDOW
    with Session(bind=session.get_bind(), expire_on_commit=False) as own:
        rows = [CheckinAttempt(session_id=sid, teacher_id=teacher_id, at=at) for sid in session_ids]
        own.add_all(rows)
        own.commit()
        ids = [r.id for r in rows]
        for row in rows:
            unsuccessful = (
                CheckinAttempt.session_id == row.session_id,
                CheckinAttempt.at >= since,
                CheckinAttempt.succeeded.is_(False),
                CheckinAttempt.id <= row.id,
            )
            mine = own.scalar(
                select(func.count(CheckinAttempt.id)).where(
                    *unsuccessful, CheckinAttempt.teacher_id == teacher_id
                )
            )
            everyone = own.scalar(select(func.count(CheckinAttempt.id)).where(*unsuccessful))
            over_teacher = (mine or 0) > PER_TEACHER
            if over_teacher or (everyone or 0) > PER_SESSION:
                who = (CheckinAttempt.teacher_id == teacher_id,) if over_teacher else ()
                oldest = own.scalar(select(func.min(CheckinAttempt.at)).where(*unsuccessful, *who))
                # a refused try does not count: the wait ends when the oldest counted try ages out
                own.execute(delete(CheckinAttempt).where(CheckinAttempt.id.in_(ids)))
                own.commit()
                raise TooManyAttempts(_wait_message(oldest, at, per_teacher=over_teacher))
        return ids


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


def mark_succeeded(session: Session, attempt_ids: Sequence[int]) -> None:
    """The tries that checked the teacher in (in the caller's transaction) stop counting."""
    if attempt_ids:
        session.execute(
            update(CheckinAttempt)
            .where(CheckinAttempt.id.in_(list(attempt_ids)))
            .values(succeeded=True)
        )
