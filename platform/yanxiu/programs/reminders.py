"""Reminders of offline sessions: the day before, each participant is told where and when.

There is no scheduler yet: reminders are made when the teacher next opens a page (the inbox
count asks for them), idempotently — one reminder per teacher and session, however often it is
asked for. A job queue can call :func:`remind_sessions_tomorrow` on a timer instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.notifications.models import NotificationKind
from yanxiu.notifications.service import notify
from yanxiu.programs.models import OfflineSession, Program, program_participants

# Sessions are planned in local (Beijing) time; "tomorrow" is the local calendar day.
LOCAL = timezone(timedelta(hours=8), "北京时间")


def _local(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite: naive UTC
    return aware.astimezone(LOCAL)


def remind_sessions_tomorrow(session: Session, teacher_id: int, now: datetime) -> int:
    """Remind ``teacher_id`` of their offline sessions that take place tomorrow; how many
    reminders were due (already sent ones count, nothing is sent twice)."""
    tomorrow = _local(now).date() + timedelta(days=1)
    rows = session.execute(
        select(OfflineSession, Program.title)
        .join(Program, Program.id == OfflineSession.program_id)
        .join(program_participants, program_participants.c.program_id == Program.id)
        .where(
            program_participants.c.teacher_id == teacher_id,
            Program.starts_on <= tomorrow,
            Program.ends_on >= tomorrow,
        )
    ).all()
    due = [(s, title) for s, title in rows if _local(s.starts_at).date() == tomorrow]
    for offline, program_title in due:
        start = _local(offline.starts_at)
        notify(
            session, user_id=teacher_id, kind=NotificationKind.SESSION_TOMORROW,
            title=f"明天 {start:%H:%M}：{offline.title}",
            body=f"{program_title} · 地点：{offline.location} · {offline.hours:g} 学时。到场后请输入培训者出示的签到码。",
            link="/checkin", event_key=f"session:{offline.id}:tomorrow",
        )  # fmt: skip
    return len(due)
