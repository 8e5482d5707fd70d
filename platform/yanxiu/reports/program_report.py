"""A programme's report: registered, attended, completed and hours credited, per session and
per school, with the roster; as a page and as CSV (via :func:`yanxiu.spreadsheet.csv_writer`).

- *Attended*: present or late at one offline session at least.
- *Completed*: present or late at every offline session and every online module finished.
- *Hours credited*: what the ledger holds for the programme's sessions (attendance credits,
  voided ones excluded) — the ledger, not the attendance table, is the record of hours.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from yanxiu.accounts.models import User
from yanxiu.accounts.scope import Scope
from yanxiu.audit.service import record_audit
from yanxiu.catalog.models import Enrolment, EnrolmentStatus
from yanxiu.credits.models import CreditRecord, CreditSource, CreditVoid
from yanxiu.programs.editor import STATUS_LABELS
from yanxiu.programs.enrolment import program_capacity
from yanxiu.programs.models import (
    AttendanceStatus,
    JoinedBy,
    Program,
    program_modules,
    program_participants,
)
from yanxiu.programs.queries import attendance_by_session
from yanxiu.reports.trainer_workspace import visible_program
from yanxiu.spreadsheet import BOM, csv_writer

ATTENDED = (AttendanceStatus.PRESENT.value, AttendanceStatus.LATE.value)
MARK_LABELS = {"present": "出勤", "late": "迟到", "absent": "缺勤"}


@dataclass
class Line:
    """One participant."""

    teacher: User
    joined_by: str
    marks: dict[int, str]  # session id -> status value
    modules_done: int
    hours: float
    completed: bool

    @property
    def attended(self) -> int:
        return sum(1 for v in self.marks.values() if v in ATTENDED)


@dataclass
class Tally:
    """Counts for a session, a school or the whole programme."""

    name: str
    registered: int = 0
    attended: int = 0
    absent: int = 0
    completed: int = 0
    hours: float = 0.0
    capacity: int | None = None
    key: int | None = None  # session or school id

    @property
    def rate(self) -> float | None:
        return self.attended / self.registered if self.registered else None


@dataclass
class ProgramReport:
    program: Program
    status_label: str
    capacity: int | None
    modules: int
    total: Tally
    sessions: list[Tally] = field(default_factory=list)
    schools: list[Tally] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


def _credited(
    session: Session, session_ids: list[int], teacher_ids: list[int]
) -> dict[tuple[int, int], float]:
    """(session id, teacher id) -> hours the ledger counts for that attendance."""
    if not session_ids or not teacher_ids:
        return {}
    wanted = set(session_ids)
    out: dict[tuple[int, int], float] = defaultdict(float)
    voided = select(CreditVoid.record_id)
    for key, teacher_id, hours in session.execute(
        select(CreditRecord.idempotency_key, CreditRecord.teacher_id, CreditRecord.hours).where(
            CreditRecord.source == CreditSource.OFFLINE,
            CreditRecord.teacher_id.in_(teacher_ids),
            CreditRecord.idempotency_key.like("attendance:%"),
            CreditRecord.id.not_in(voided),
        )
    ):
        parts = key.split("#")[0].split(":")  # attendance:<session>:<teacher>[#n]
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) in wanted:
            out[(int(parts[1]), int(teacher_id))] += float(hours)
    return out


def program_report(session: Session, *, scope: Scope, program_id: int) -> ProgramReport:
    """The report of a programme the trainer may open."""
    program = visible_program(session, scope, program_id)
    members = dict(
        session.execute(
            select(program_participants.c.teacher_id, program_participants.c.joined_by).where(
                program_participants.c.program_id == program.id
            )
        ).all()
    )
    teachers = list(
        session.scalars(
            select(User).where(User.id.in_(list(members))).options(joinedload(User.school))
        ).unique()
    )
    sessions = list(program.sessions)
    marks = attendance_by_session(session, [s.id for s in sessions])
    credited = _credited(session, [s.id for s in sessions], list(members))
    course_ids = list(
        session.scalars(
            select(program_modules.c.course_id).where(program_modules.c.program_id == program.id)
        )
    )
    done: dict[int, int] = defaultdict(int)
    if course_ids and members:
        for tid in session.scalars(
            select(Enrolment.teacher_id).where(
                Enrolment.course_id.in_(course_ids),
                Enrolment.teacher_id.in_(list(members)),
                Enrolment.status == EnrolmentStatus.COMPLETED,
            )
        ):
            done[int(tid)] += 1
    lines = []
    for t in teachers:
        own = {sid: rows[t.id].status.value for sid, rows in marks.items() if t.id in rows}
        every_session = all(own.get(s.id) in ATTENDED for s in sessions)
        complete = every_session and done[t.id] >= len(course_ids) and bool(sessions or course_ids)
        hours = sum(h for (sid, tid), h in credited.items() if tid == t.id)
        joined = members.get(t.id) or JoinedBy.ASSIGNED.value
        lines.append(Line(t, str(joined), own, done[t.id], hours, complete))
    lines.sort(
        key=lambda ln: (ln.teacher.school.name if ln.teacher.school else "", ln.teacher.username)
    )

    total = Tally("合计", registered=len(lines), capacity=program_capacity(session, program.id))
    per_school: dict[int | None, Tally] = {}
    for ln in lines:
        school = ln.teacher.school
        key = school.id if school else None
        tally = per_school.setdefault(key, Tally(school.name if school else "（无学校）", key=key))
        tally.registered += 1
        for group in (total, tally):
            group.attended += ln.attended > 0
            group.completed += ln.completed
            group.hours += ln.hours
    per_session = []
    for s in sessions:
        rows = marks.get(s.id, {})
        per_session.append(
            Tally(
                s.title,
                registered=len(lines),
                attended=sum(1 for a in rows.values() if a.status.value in ATTENDED),
                absent=sum(1 for a in rows.values() if a.status == AttendanceStatus.ABSENT),
                hours=sum(h for (sid, _), h in credited.items() if sid == s.id),
                capacity=s.capacity,
                key=s.id,
            )  # fmt: skip
        )
    return ProgramReport(
        program=program, status_label=STATUS_LABELS[program.status], capacity=total.capacity,
        modules=len(course_ids), total=total, sessions=per_session,
        schools=sorted(per_school.values(), key=lambda t: t.name), lines=lines,
    )  # fmt: skip


@dataclass(frozen=True)
class ReportCsv:
    filename: str
    ascii_name: str
    body: str


def report_csv(session: Session, *, scope: Scope, program_id: int, actor_id: int) -> ReportCsv:
    """The roster with attendance per session, modules, hours and completion, then the
    per-session and per-school tallies; UTF-8 with a BOM for Excel. The export is audited
    (it carries names)."""
    report = program_report(session, scope=scope, program_id=program_id)
    p = report.program
    buf = io.StringIO()
    buf.write(BOM)
    w = csv_writer(buf)
    w.writerow(["项目", p.code, p.title])
    w.writerow(["时间", f"{p.starts_on:%Y-%m-%d}", f"{p.ends_on:%Y-%m-%d}"])
    w.writerow([])
    head = ["用户名", "姓名", "学校", "加入方式"]
    head += [f"第{i}场 {t.name}" for i, t in enumerate(report.sessions, 1)]
    head += ["线上模块完成数", "已计学时", "是否结业"]
    w.writerow(head)
    for ln in report.lines:
        w.writerow(
            [ln.teacher.username, ln.teacher.display_name,
             ln.teacher.school.name if ln.teacher.school else "",
             "自主报名" if ln.joined_by == JoinedBy.SELF.value else "培训者分配",
             *(MARK_LABELS.get(ln.marks.get(s.key or 0, ""), "未记录") for s in report.sessions),
             f"{ln.modules_done}/{report.modules}", f"{ln.hours:g}", "是" if ln.completed else "否"]
        )  # fmt: skip
    w.writerow([])
    w.writerow(["线下活动", "名额", "报名", "出勤", "缺勤", "已计学时"])
    for t in report.sessions:
        cap = "" if t.capacity is None else t.capacity
        w.writerow([t.name, cap, t.registered, t.attended, t.absent, f"{t.hours:g}"])
    w.writerow([])
    w.writerow(["学校", "报名", "出勤（至少一场）", "结业", "已计学时"])
    for t in [*report.schools, report.total]:
        w.writerow([t.name, t.registered, t.attended, t.completed, f"{t.hours:g}"])
    record_audit(
        session, actor_id=actor_id, action="program.report_export", entity="program",
        entity_id=p.id, detail={"rows": len(report.lines)},
    )  # fmt: skip
    return ReportCsv(f"{p.code}-{p.title}-项目报告.csv", f"{p.code}-report.csv", buf.getvalue())
