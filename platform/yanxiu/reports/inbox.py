"""The person's inbox as pages show it: reminders due are made first, then the page is read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.notifications.service import InboxPage, inbox, unread_count
from yanxiu.programs.reminders import remind_sessions_tomorrow


def _due(session: Session, user_id: int, role: Role, now: datetime) -> None:
    """Make the reminders due, committed at once in a transaction of their own.

    Not in the caller's: a page that made them there would still hold them uncommitted while
    its navigation (another session) asks for the same reminders, and the two would wait on
    each other (SQLite's write lock, PostgreSQL's unique key) until one failed."""
    if role == Role.TEACHER:
        with Session(bind=session.get_bind()) as own:
            remind_sessions_tomorrow(own, user_id, now)
            own.commit()


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
