"""What a trainer sees of hybrid programmes: scope, summaries, module progress, rosters.

Read-only queries over programmes, their offline sessions, attendance and the online modules
(catalog courses) attached to them. A trainer sees the programmes they run plus every programme of
a region their :class:`~yanxiu.accounts.scope.Scope` covers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from yanxiu.accounts.models import User
from yanxiu.accounts.scope import Scope
from yanxiu.catalog.models import Course, Enrolment, EnrolmentStatus
from yanxiu.programs.models import (
    Attendance,
    AttendanceStatus,
    OfflineSession,
    Program,
    program_modules,
    program_participants,
)


def scoped_programs(session: Session, scope: Scope) -> list[Program]:
    """Programmes the user runs or that belong to a region of their scope, newest first
    (the rule of :meth:`Scope.can_read` for a programme)."""
    return list(
        session.scalars(
            select(Program)
            .where(
                or_(Program.trainer_id == scope.user_id, Program.region_id.in_(list(scope.regions)))
            )
            .options(joinedload(Program.sessions))
            .order_by(Program.starts_on.desc(), Program.id)
        ).unique()
    )


def participant_ids(session: Session, program_ids: Collection[int]) -> dict[int, list[int]]:
    """Programme id -> teacher ids taking part."""
    out: dict[int, list[int]] = defaultdict(list)
    if program_ids:
        for pid, tid in session.execute(
            select(program_participants.c.program_id, program_participants.c.teacher_id).where(
                program_participants.c.program_id.in_(list(program_ids))
            )
        ):
            out[pid].append(tid)
    return out


def attendance_by_session(
    session: Session, session_ids: Collection[int]
) -> dict[int, dict[int, Attendance]]:
    """Offline-session id -> {teacher id: attendance row}."""
    out: dict[int, dict[int, Attendance]] = defaultdict(dict)
    if session_ids:
        for row in session.scalars(
            select(Attendance).where(Attendance.session_id.in_(list(session_ids)))
        ):
            out[row.session_id][row.teacher_id] = row
    return out


@dataclass
class SessionStat:
    """An offline session with its attendance counts."""

    offline_session: OfflineSession
    counts: Counter[str] = field(default_factory=Counter)  # status value -> teachers
    participants: int = 0

    @property
    def recorded(self) -> int:
        return sum(self.counts.values())

    @property
    def attended(self) -> int:
        return (
            self.counts[AttendanceStatus.PRESENT.value] + self.counts[AttendanceStatus.LATE.value]
        )

    @property
    def unrecorded(self) -> int:
        return max(0, self.participants - self.recorded)

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.recorded if self.recorded else None


@dataclass
class ProgramSummary:
    program: Program
    participants: int
    sessions: list[SessionStat]
    next_session: OfflineSession | None

    @property
    def held_sessions(self) -> int:
        return sum(1 for s in self.sessions if s.recorded)

    @property
    def attendance_rate(self) -> float | None:
        recorded = sum(s.recorded for s in self.sessions)
        return sum(s.attended for s in self.sessions) / recorded if recorded else None

    @property
    def offline_hours(self) -> float:
        return float(sum(s.offline_session.hours for s in self.sessions))


def _naive(moment: datetime) -> datetime:
    """UTC wall-clock time without tzinfo (SQLite returns naive UTC, PostgreSQL aware)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def summarise_programs(
    session: Session, programs: Sequence[Program], *, now: datetime
) -> list[ProgramSummary]:
    """Participants, per-session attendance and the next session of each programme."""
    members = participant_ids(session, [p.id for p in programs])
    marks = attendance_by_session(session, [s.id for p in programs for s in p.sessions])
    out = []
    for p in programs:
        stats = []
        for s in p.sessions:
            counts = Counter(a.status.value for a in marks.get(s.id, {}).values())
            stats.append(SessionStat(s, counts, len(members.get(p.id, []))))
        upcoming = [s for s in p.sessions if _naive(s.starts_at) >= _naive(now)]
        out.append(
            ProgramSummary(p, len(members.get(p.id, [])), stats, upcoming[0] if upcoming else None)
        )
    return out


def upcoming_sessions(
    programs: Sequence[Program], *, now: datetime, limit: int = 5
) -> list[OfflineSession]:
    """The next offline sessions across programmes, soonest first (today's included)."""
    today = now.date()
    found = [s for p in programs for s in p.sessions if s.starts_at.date() >= today]
    return sorted(found, key=lambda s: (_naive(s.starts_at), s.id))[:limit]


@dataclass(frozen=True)
class ModuleStat:
    """An online module of a programme and how far its participants got."""

    course: Course
    enrolled: int  # participants enrolled and not finished
    completed: int
    participants: int

    @property
    def completion_rate(self) -> float:
        return self.completed / self.participants if self.participants else 0.0


def module_stats(
    session: Session, program: Program, teacher_ids: Sequence[int]
) -> list[ModuleStat]:
    """Each online module with participants' enrolment and completion counts."""
    courses = list(
        session.scalars(
            select(Course)
            .join(program_modules, program_modules.c.course_id == Course.id)
            .where(program_modules.c.program_id == program.id)
            .order_by(Course.code)
        )
    )
    counts: dict[tuple[int, EnrolmentStatus], int] = {}
    if courses and teacher_ids:
        for course_id, status, n in session.execute(
            select(Enrolment.course_id, Enrolment.status, func.count())
            .where(
                Enrolment.course_id.in_([c.id for c in courses]),
                Enrolment.teacher_id.in_(list(teacher_ids)),
            )
            .group_by(Enrolment.course_id, Enrolment.status)
        ):
            counts[(course_id, EnrolmentStatus(status))] = n
    return [
        ModuleStat(
            c,
            counts.get((c.id, EnrolmentStatus.ENROLLED), 0),
            counts.get((c.id, EnrolmentStatus.COMPLETED), 0),
            len(teacher_ids),
        )
        for c in courses
    ]


@dataclass
class RosterLine:
    """A participant with their attendance per session (session id -> status value)."""

    teacher: User
    marks: dict[int, str]

    @property
    def attended(self) -> int:
        return sum(1 for v in self.marks.values() if v != AttendanceStatus.ABSENT.value)


def roster(session: Session, program: Program) -> list[RosterLine]:
    """The programme's participants (with school) and their attendance, by school and name."""
    ids = participant_ids(session, [program.id]).get(program.id, [])
    if not ids:
        return []
    teachers = list(
        session.scalars(
            select(User).where(User.id.in_(ids)).options(joinedload(User.school))
        ).unique()
    )
    marks = attendance_by_session(session, [s.id for s in program.sessions])
    lines = [
        RosterLine(t, {sid: rows[t.id].status.value for sid, rows in marks.items() if t.id in rows})
        for t in teachers
    ]
    return sorted(
        lines, key=lambda r: (r.teacher.school.name if r.teacher.school else "", r.teacher.username)
    )
