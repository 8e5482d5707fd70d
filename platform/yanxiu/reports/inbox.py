"""The person's inbox as pages show it: reminders due are made first, then the page is read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.notifications.service import InboxPage, inbox, unread_count
from yanxiu.programs.reminders import remind_sessions_tomorrow


def _due(session: Session, user_id: int, role: Role, now: datetime) -> None:
    if role == Role.TEACHER:
        remind_sessions_tomorrow(session, user_id, now)


def inbox_page(
    session: Session, *, user_id: int, role: Role, now: datetime, page: int = 1,
    unread_only: bool = False,
) -> InboxPage:  # fmt: skip
    _due(session, user_id, role, now)
    return inbox(session, user_id, page=page, unread_only=unread_only)


def unread(session: Session, *, user_id: int, role: Role, now: datetime) -> int:
    """The unread count shown beside 消息 in the navigation."""
    _due(session, user_id, role, now)
    return unread_count(session, user_id)
