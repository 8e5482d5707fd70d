"""Session times: stored as UTC instants, planned and shown in Beijing time.

A trainer types "2026-12-07 14:30" meaning Beijing time; it is stored as the UTC instant
(:func:`store_wall`), printed back in Beijing time (the ``local_time`` Jinja global), and
compared with now in Beijing wall-clock terms (:func:`stored_wall`, :func:`local_wall`). SQLite
hands stored values back naive (they are UTC), PostgreSQL aware.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

LOCAL = timezone(timedelta(hours=8), "北京时间")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def stored_wall(moment: datetime) -> datetime:
    """A stored session time as a naive Beijing wall-clock value."""
    return _aware(moment).astimezone(LOCAL).replace(tzinfo=None)


def local_wall(now: datetime) -> datetime:
    """``now`` as a naive Beijing wall-clock value (a naive ``now`` already is one)."""
    return now if now.tzinfo is None else now.astimezone(LOCAL).replace(tzinfo=None)


def instant(now: datetime) -> datetime:
    """``now`` as an aware UTC instant (a naive ``now`` is read as Beijing wall-clock time)."""
    return (now.replace(tzinfo=LOCAL) if now.tzinfo is None else now).astimezone(UTC)


def store_wall(wall: datetime) -> datetime:
    """A planned (naive, Beijing wall-clock) time as it is stored: the UTC instant."""
    return wall.replace(tzinfo=LOCAL).astimezone(UTC)


def wall_now() -> datetime:
    return datetime.now(LOCAL).replace(tzinfo=None)
