"""Offline-session check-in by code (签到码).

The trainer shows a six-digit code during the session; a teacher of the programme types it in
and their attendance is recorded (and the session's hours credited to the ledger, once)
through :func:`yanxiu.programs.service.record_attendance`.

Codes are derived, not stored: ``HMAC-SHA256(secret key, "checkin:<session id>[:<version>]")``
reduced to six digits, so the trainer's page and the check-in agree without coordination and a
code cannot be guessed from the session id without the server's secret. The trainer can
regenerate a code (:func:`regenerate_code` bumps the session's ``code_version``): the old one
stops working at once. A code works only for teachers of the session's programme and only
inside the session's window, from :data:`OPENS_BEFORE` before the start to the end
(:func:`checkin_window`); tries are limited per teacher and per session
(:mod:`yanxiu.programs.attempts`), and only codes of sessions open *now* are ever compared,
so nothing about a future session's code can be learnt early.

:func:`check_in` refuses with :class:`CheckinError` (a Chinese message; HTTP 400) or
:class:`~yanxiu.errors.TooManyAttempts` (429) and then writes nothing but the counted try.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yanxiu.accounts.scope import Scope
from yanxiu.audit.service import record_audit
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import DomainError
from yanxiu.programs import attempts
from yanxiu.programs.clock import instant, local_wall, stored_wall
from yanxiu.programs.editor import editable_session
from yanxiu.programs.models import (
    Attendance,
    AttendanceStatus,
    OfflineSession,
    Program,
    program_participants,
)
from yanxiu.programs.service import record_attendance

CODE_DIGITS = 6
OPENS_BEFORE = timedelta(minutes=30)  # the code works from 30 minutes before the start …
LATE_AFTER = timedelta(minutes=30)  # … and a check-in later than this after the start is late
_CODE = re.compile(r"^\d{6}$")


class CheckinError(DomainError):
    """A check-in that cannot be accepted; the message (Chinese) says why.

    None of the narrower kinds: the request is well formed, but the code as typed is wrong,
    not open now, or already answered by the trainer (HTTP 400)."""


def checkin_code(secret: str, offline_session_id: int, version: int = 0) -> str:
    """The six-digit check-in code of an offline session at a code version."""
    message = f"checkin:{offline_session_id}" + (f":{version}" if version else "")
    digest = hmac.new(secret.encode("utf-8"), message.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big") % 10**CODE_DIGITS
    return f"{number:0{CODE_DIGITS}d}"


def session_code(secret: str, offline_session: OfflineSession) -> str:
    """The code that works now for ``offline_session`` (its current version)."""
    return checkin_code(secret, offline_session.id, offline_session.code_version or 0)


def regenerate_code(session: Session, *, scope: Scope, session_id: int) -> OfflineSession:
    """A new code for a session the trainer may edit; the old one stops working at once.

    One atomic increment, so two trainers pressing the button at once get two new versions,
    never a lost update."""
    offline_session = editable_session(session, scope, session_id)
    session.execute(
        update(OfflineSession)
        .where(OfflineSession.id == offline_session.id)
        .values(code_version=OfflineSession.code_version + 1)
    )
    session.refresh(offline_session, ["code_version"])
    record_audit(
        session, actor_id=scope.user_id, action="checkin.code_regenerated",
        entity="offline_session", entity_id=offline_session.id,
        detail={"version": offline_session.code_version},
    )  # fmt: skip
    return offline_session


def normalise_code(code: str) -> str:
    """Digits only: "123 456", "１２３４５６" and "123-456" all read as 123456."""
    digits = (unicodedata.decimal(ch, None) for ch in code)
    return "".join(str(d) for d in digits if d is not None)


def checkin_window(offline_session: OfflineSession) -> tuple[datetime, datetime]:
    """When the session's code is accepted (naive Beijing wall clock): opens before the start,
    closes at the end."""
    return (
        stored_wall(offline_session.starts_at) - OPENS_BEFORE,
        stored_wall(offline_session.ends_at),
    )


def is_open(offline_session: OfflineSession, now: datetime) -> bool:
    opens, closes = checkin_window(offline_session)
    return opens <= local_wall(now) <= closes


def teacher_sessions(session: Session, teacher_id: int) -> list[OfflineSession]:
    """Offline sessions of every programme the teacher takes part in, by start time."""
    return list(
        session.scalars(
            select(OfflineSession)
            .join(Program, Program.id == OfflineSession.program_id)
            .join(program_participants, program_participants.c.program_id == Program.id)
            .where(program_participants.c.teacher_id == teacher_id)
            .order_by(OfflineSession.starts_at, OfflineSession.id)
        )
    )


@dataclass(frozen=True)
class CheckinResult:
    offline_session: OfflineSession
    attendance: Attendance
    newly_recorded: bool  # False: the teacher had already been recorded for this session

    @property
    def credited_hours(self) -> float:
        if self.attendance.status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
            return float(self.offline_session.hours)
        return 0.0

    @property
    def message(self) -> str:
        """What the teacher is told."""
        title = self.offline_session.title
        if not self.newly_recorded:
            return f"您已签到过「{title}」，学时不重复计入。"
        late = "（迟到）" if self.attendance.status == AttendanceStatus.LATE else ""
        return f"签到成功{late}：「{title}」，已计入学时 {self.credited_hours:g}。"


def _not_open_message(sessions: list[OfflineSession], now: datetime) -> str:
    """Why no code works now, naming the teacher's nearest session (the code is not looked at)."""
    wall = local_wall(now)
    later = [s for s in sessions if checkin_window(s)[0] > wall]
    earlier = [s for s in sessions if checkin_window(s)[1] < wall]
    if earlier and (not later or wall - checkin_window(earlier[-1])[1] < timedelta(days=1)):
        s = earlier[-1]
        return (
            f"当前没有可签到的线下活动：「{s.title}」的签到已于 "
            f"{checkin_window(s)[1]:%m月%d日 %H:%M} 结束，签到码已过期；如确有出勤，请联系培训者补录。"
        )
    if later:
        s = later[0]
        return (
            f"当前没有可签到的线下活动：「{s.title}」的签到将于 "
            f"{checkin_window(s)[0]:%m月%d日 %H:%M} 开始（活动开始前 30 分钟）。"
        )
    return "当前没有可签到的线下活动：签到码只在活动开始前 30 分钟至活动结束之间有效。"


def check_in(
    session: Session,
    *,
    teacher_id: int,
    code: str,
    secret: str,
    policy: CreditPolicy,
    now: datetime,
) -> CheckinResult:
    """Check a teacher in with a session code; credits the session's hours once.

    Args:
        code: What the teacher typed (spaces and full-width digits are tolerated).
        secret: The app's secret key (the same one the trainer's page derives codes from).
        now: The moment of the check-in (aware, or naive Beijing wall-clock time).

    Raises:
        CheckinError: The code is malformed, no session of the teacher is open for check-in
            now, or the code matches none of those that are.
        TooManyAttempts: Too many wrong codes lately (per teacher or per session).
    """
    typed = normalise_code(code)
    if not _CODE.match(typed):
        raise CheckinError("签到码应为 6 位数字，请核对后重新输入")
    mine = teacher_sessions(session, teacher_id)
    open_now = [s for s in mine if is_open(s, now)]
    if not open_now:
        raise CheckinError(_not_open_message(mine, now))
    # compared within the limits, and counted, whatever happens to this request afterwards
    matched = attempts.try_code(
        session, teacher_id=teacher_id, session_ids=[s.id for s in open_now], typed=typed,
        code_of=lambda sid, version: checkin_code(secret, sid, version), at=instant(now),
    )  # fmt: skip
    if not matched:
        raise CheckinError(
            "签到码不正确：它不是您当前可签到的线下活动的签到码（培训者可能已更换签到码），请核对后重试"
        )
    target = next(s for s in open_now if s.id == matched[0])
    existing = session.scalar(
        select(Attendance).where(
            Attendance.teacher_id == teacher_id, Attendance.session_id == target.id
        )
    )
    if existing is not None:  # recorded by code or by the trainer: say so, credit nothing
        if existing.status == AttendanceStatus.ABSENT:
            raise CheckinError(
                f"培训者已登记您未出席「{target.title}」；如您实际到场，请联系培训者更正出勤记录"
            )
        return CheckinResult(target, existing, False)
    status = AttendanceStatus.PRESENT
    if local_wall(now) > stored_wall(target.starts_at) + LATE_AFTER:
        status = AttendanceStatus.LATE
    row, created = record_attendance(
        session, policy=policy, offline_session=target, teacher_id=teacher_id, status=status,
        recorded_by_id=teacher_id, method="code",
    )  # fmt: skip
    return CheckinResult(target, row, created)


@dataclass(frozen=True)
class SessionLine:
    """One of the teacher's offline sessions, as the check-in page lists it."""

    offline_session: OfflineSession
    program_title: str
    attendance: Attendance | None
    window: tuple[datetime, datetime]
    state: str  # "attended" | "absent" | "open" | "upcoming" | "missed"

    @property
    def label(self) -> str:
        if self.state == "attended" and self.attendance is not None:
            return "迟到签到" if self.attendance.status == AttendanceStatus.LATE else "已签到"
        return {"absent": "缺勤", "open": "可签到", "upcoming": "未开始", "missed": "未签到"}[
            self.state
        ]


def session_overview(session: Session, *, teacher_id: int, now: datetime) -> list[SessionLine]:
    """The teacher's offline sessions with their attendance and check-in state, by start."""
    offline = teacher_sessions(session, teacher_id)
    attended = {
        a.session_id: a
        for a in session.scalars(
            select(Attendance).where(
                Attendance.teacher_id == teacher_id,
                Attendance.session_id.in_([s.id for s in offline]),
            )
        )
    }
    titles = dict(
        session.execute(
            select(Program.id, Program.title).where(Program.id.in_({s.program_id for s in offline}))
        ).all()
    )
    wall = local_wall(now)
    lines = []
    for s in offline:
        opens, closes = checkin_window(s)
        row = attended.get(s.id)
        if row is not None:
            state = "absent" if row.status == AttendanceStatus.ABSENT else "attended"
        elif wall < opens:
            state = "upcoming"
        elif wall <= closes:
            state = "open"
        else:
            state = "missed"
        lines.append(SessionLine(s, titles.get(s.program_id, ""), row, (opens, closes), state))
    return lines


@dataclass(frozen=True)
class CheckinPage:
    """The teacher's check-in page: the code box and their offline sessions."""

    today: date
    lines: list[SessionLine]
    open_lines: list[SessionLine]  # sessions whose code works now
    upcoming: list[SessionLine]  # open now or still to come
    past: list[SessionLine]
    error: str = ""  # why the code just typed was refused
    code: str = ""  # that code, shown again


def checkin_page(session: Session, *, teacher_id: int, now: datetime) -> CheckinPage:
    lines = session_overview(session, teacher_id=teacher_id, now=now)
    return CheckinPage(
        local_wall(now).date(), lines,
        open_lines=[ln for ln in lines if ln.state == "open"],
        upcoming=[ln for ln in lines if ln.state in ("open", "upcoming")],
        past=[ln for ln in lines if ln.state not in ("open", "upcoming")],
    )  # fmt: skip
