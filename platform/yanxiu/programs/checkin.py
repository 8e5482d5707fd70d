"""Offline-session check-in by code (签到码).

The trainer shows a six-digit code on the session day; a teacher who belongs to the
programme types it in and their attendance is recorded (and the session's hours credited to
the ledger, once) through :func:`yanxiu.programs.service.record_attendance`.

Codes are derived, not stored: ``HMAC-SHA256(secret key, "checkin:<session id>")`` reduced to
six digits, so no table or migration is needed, the trainer's page and the check-in agree
without coordination, and a code cannot be guessed from the session id without the server's
secret. A code only works for teachers of the session's programme and inside the session's
check-in window (the day it takes place, until the end of the next day).

:func:`check_in` refuses with :class:`CheckinError` (a Chinese message; HTTP 400, the code as
typed does not work) and writes nothing then; :func:`checkin_page` is what the teacher's
check-in page lists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import DomainError
from yanxiu.programs.models import (
    Attendance,
    AttendanceStatus,
    OfflineSession,
    Program,
    program_participants,
)
from yanxiu.programs.service import record_attendance

CODE_DIGITS = 6
GRACE_DAYS = 1  # a code still works the day after the session (late entries, evening sessions)
LATE_AFTER = timedelta(minutes=30)  # checking in later than this after the start counts as late
_CODE = re.compile(r"^\d{6}$")


class CheckinError(DomainError):
    """A check-in that cannot be accepted; the message (Chinese) says why.

    None of the narrower kinds: the request is well formed, but the code as typed is wrong,
    not yet open, expired or already answered by the trainer (HTTP 400)."""


def checkin_code(secret: str, offline_session_id: int) -> str:
    """The six-digit check-in code of an offline session (stable for a given secret key)."""
    digest = hmac.new(
        secret.encode("utf-8"), f"checkin:{offline_session_id}".encode(), hashlib.sha256
    ).digest()
    number = int.from_bytes(digest[:8], "big") % 10**CODE_DIGITS
    return f"{number:0{CODE_DIGITS}d}"


def normalise_code(code: str) -> str:
    """Digits only: "123 456", "１２３４５６" and "123-456" all read as 123456."""
    digits = (unicodedata.decimal(ch, None) for ch in code)
    return "".join(str(d) for d in digits if d is not None)


def _wall_clock(moment: datetime) -> datetime:
    """A naive wall-clock datetime (SQLite returns naive values, PostgreSQL aware UTC ones)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def checkin_window(offline_session: OfflineSession) -> tuple[date, date]:
    """First and last day (inclusive) on which the session's code is accepted."""
    first = _wall_clock(offline_session.starts_at).date()
    last = max(first, _wall_clock(offline_session.ends_at).date()) + timedelta(days=GRACE_DAYS)
    return first, last


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


def check_in(
    session: Session,
    *,
    teacher_id: int,
    code: str,
    secret: str,
    policy: CreditPolicy,
    today: date,
    now: datetime | None = None,
) -> CheckinResult:
    """Check a teacher in with a session code; credits the session's hours once.

    Args:
        code: What the teacher typed (spaces and full-width digits are tolerated).
        secret: The app's secret key (the same one the trainer's page derives codes from).
        today: The date used for the check-in window.
        now: When given, a check-in more than 30 minutes after the start is recorded as late.

    Raises:
        CheckinError: The code is malformed, matches none of the teacher's sessions, or the
            session's window has not opened yet or has passed.
    """
    with session.begin_nested():  # a refused check-in leaves nothing written
        typed = normalise_code(code)
        if not _CODE.match(typed):
            raise CheckinError("签到码应为 6 位数字，请核对后重新输入")
        matches = [
            s for s in teacher_sessions(session, teacher_id)
            if hmac.compare_digest(checkin_code(secret, s.id), typed)
        ]  # fmt: skip
        if not matches:
            raise CheckinError(
                "签到码无效：它不属于您参加的培训项目中的任何一场线下活动，请向培训者核对"
            )
        done = {
            a.session_id: a
            for a in session.scalars(
                select(Attendance).where(
                    Attendance.teacher_id == teacher_id,
                    Attendance.session_id.in_([s.id for s in matches]),
                )
            )
        }
        for s in matches:  # already recorded (by code or by the trainer): say so, credit nothing
            if s.id in done:
                if done[s.id].status == AttendanceStatus.ABSENT:
                    raise CheckinError(
                        f"培训者已登记您未出席「{s.title}」；如您实际到场，请联系培训者更正出勤记录"
                    )
                return CheckinResult(s, done[s.id], False)
        open_now = [s for s in matches if checkin_window(s)[0] <= today <= checkin_window(s)[1]]
        if not open_now:
            target = matches[0]
            first, last = checkin_window(target)
            if today < first:
                raise CheckinError(
                    f"「{target.title}」将于 {first:%Y年%m月%d日} 举行，签到尚未开始"
                )
            raise CheckinError(
                f"「{target.title}」的签到已于 {last:%Y年%m月%d日} 结束，签到码已过期；"
                "如确有出勤，请联系培训者补录"
            )
        target = open_now[0]
        status = AttendanceStatus.PRESENT
        if now is not None and _wall_clock(now) > _wall_clock(target.starts_at) + LATE_AFTER:
            status = AttendanceStatus.LATE
        row = record_attendance(
            session, policy=policy, offline_session=target, teacher_id=teacher_id, status=status,
            recorded_by_id=teacher_id, method="code",
        )  # fmt: skip
        return CheckinResult(target, row, True)


@dataclass(frozen=True)
class SessionLine:
    """One of the teacher's offline sessions, as the check-in page lists it."""

    offline_session: OfflineSession
    program_title: str
    attendance: Attendance | None
    window: tuple[date, date]
    state: str  # "attended" | "absent" | "open" | "upcoming" | "missed"

    @property
    def label(self) -> str:
        if self.state == "attended" and self.attendance is not None:
            return "迟到签到" if self.attendance.status == AttendanceStatus.LATE else "已签到"
        return {"absent": "缺勤", "open": "可签到", "upcoming": "未开始", "missed": "未签到"}[
            self.state
        ]


def session_overview(session: Session, *, teacher_id: int, today: date) -> list[SessionLine]:
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
    lines = []
    for s in offline:
        first, last = checkin_window(s)
        row = attended.get(s.id)
        if row is not None:
            state = "absent" if row.status == AttendanceStatus.ABSENT else "attended"
        elif today < first:
            state = "upcoming"
        elif today <= last:
            state = "open"
        else:
            state = "missed"
        lines.append(SessionLine(s, titles.get(s.program_id, ""), row, (first, last), state))
    return lines


@dataclass(frozen=True)
class CheckinPage:
    """The teacher's check-in page: the code box and their offline sessions."""

    today: date
    lines: list[SessionLine]
    open_lines: list[SessionLine]  # sessions whose code works today
    upcoming: list[SessionLine]  # open today or still to come
    past: list[SessionLine]
    error: str = ""  # why the code just typed was refused
    code: str = ""  # that code, shown again


def checkin_page(session: Session, *, teacher_id: int, today: date) -> CheckinPage:
    lines = session_overview(session, teacher_id=teacher_id, today=today)
    return CheckinPage(
        today, lines,
        open_lines=[ln for ln in lines if ln.state == "open"],
        upcoming=[ln for ln in lines if ln.state in ("open", "upcoming")],
        past=[ln for ln in lines if ln.state not in ("open", "upcoming")],
    )  # fmt: skip
