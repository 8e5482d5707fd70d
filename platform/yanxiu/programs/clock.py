"""Session times as people plan them.

Offline sessions are planned in Beijing wall-clock time and stored as that wall-clock value
(the column is timezone-aware, labelled UTC: SQLite hands it back naive, PostgreSQL aware), the
way the demo and the trainer's forms write them and every programme page prints them. So a
stored time is compared with *now as a Beijing wall clock*, never converted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

LOCAL = timezone(timedelta(hours=8), "北京时间")


def stored_wall(moment: datetime) -> datetime:
    """A stored session time as a naive wall-clock value."""
    return (
        moment.replace(tzinfo=None)
        if moment.tzinfo is None
        else moment.astimezone(UTC).replace(tzinfo=None)
    )


def local_wall(now: datetime) -> datetime:
    """``now`` as a naive Beijing wall-clock value (a naive ``now`` already is one)."""
    return now if now.tzinfo is None else now.astimezone(LOCAL).replace(tzinfo=None)


def instant(now: datetime) -> datetime:
    """``now`` as an aware UTC instant (a naive ``now`` is read as Beijing wall-clock time)."""
    return (now.replace(tzinfo=LOCAL) if now.tzinfo is None else now).astimezone(UTC)


def store_wall(wall: datetime) -> datetime:
    """A planned (naive, Beijing wall-clock) time as it is stored."""
    return wall.replace(tzinfo=UTC)


def wall_now() -> datetime:
    return datetime.now(LOCAL).replace(tzinfo=None)
