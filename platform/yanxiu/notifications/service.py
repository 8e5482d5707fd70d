"""Sending notifications and reading the inbox.

The server is offline, so the only channel today is the in-app inbox; :class:`Sender` is the
seam where an e-mail or SMS gateway a centre runs on its own network would plug in
(:data:`SENDERS`). Sending is idempotent: each message names the event it is about
(``event_key``), and a person is notified of one event once, however often or concurrently the
event is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.db.base import utcnow
from yanxiu.errors import NotFound
from yanxiu.notifications.models import Notification, NotificationKind

PER_PAGE = 20
KIND_LABELS = {
    NotificationKind.DIAGNOSIS_REVIEWED: "诊断审核",
    NotificationKind.CONTEST_ANSWERED: "申诉处理",
    NotificationKind.CONTEST_RECEIVED: "教师申诉",
    NotificationKind.PROGRAM_ASSIGNED: "培训项目",
    NotificationKind.SESSION_TOMORROW: "活动提醒",
    NotificationKind.CASE_PUSHED: "工作室推送",
    NotificationKind.CLAIM_SUBMITTED: "学时申报",
    NotificationKind.CLAIM_DECIDED: "学时审核",
}


@dataclass(frozen=True)
class Message:
    user_id: int
    kind: NotificationKind
    title: str
    body: str
    link: str
    event_key: str  # e.g. "diagnosis:12:review:40": one notification per person and event
    at: datetime | None = None  # when the event happened (default: now)


class Sender(Protocol):
    def send(self, session: Session, message: Message) -> None: ...


class InAppSender:
    """Writes the message to the person's inbox (in the caller's transaction)."""

    def send(self, session: Session, message: Message) -> None:
        exists = select(Notification.id).where(
            Notification.user_id == message.user_id, Notification.event_key == message.event_key
        )
        if session.scalar(exists) is not None:
            return
        try:
            with session.begin_nested():  # a concurrent twin may insert first: keep theirs
                session.add(
                    Notification(
                        user_id=message.user_id,
                        kind=message.kind,
                        title=message.title[:200],
                        body=message.body,
                        link=message.link[:300],
                        event_key=message.event_key[:120],
                        created_at=message.at or utcnow(),
                    )  # fmt: skip
                )
        except IntegrityError:
            pass


SENDERS: list[Sender] = [InAppSender()]


def notify(
    session: Session,
    *,
    user_id: int,
    kind: NotificationKind,
    title: str,
    event_key: str,
    body: str = "",
    link: str = "",
    at: datetime | None = None,
) -> None:
    """Tell ``user_id`` about an event, through every configured sender."""
    message = Message(user_id, kind, title, body, link, event_key, at)
    for sender in SENDERS:
        sender.send(session, message)


def unread_count(session: Session, user_id: int) -> int:
    query = select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class InboxPage:
    items: list[Notification]
    unread: int
    page: int
    pages: int
    total: int
    unread_only: bool

    def kind_label(self, item: Notification) -> str:
        return KIND_LABELS.get(item.kind, "通知")


def inbox(session: Session, user_id: int, *, page: int = 1, unread_only: bool = False) -> InboxPage:
    """A page of the person's notifications, newest first."""
    where = [Notification.user_id == user_id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = int(session.scalar(select(func.count(Notification.id)).where(*where)) or 0)
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    items = list(
        session.scalars(
            select(Notification)
            .where(*where)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    return InboxPage(items, unread_count(session, user_id), page, pages, total, unread_only)


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    """Mark one of the person's notifications read (another person's is NotFound)."""
    item = session.get(Notification, notification_id)
    if item is None or item.user_id != user_id:
        raise NotFound("没有这条通知。")
    if item.read_at is None:
        item.read_at = utcnow()
    return item


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark all of the person's notifications read; how many were unread."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
