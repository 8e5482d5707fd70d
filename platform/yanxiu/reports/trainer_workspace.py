"""What a trainer sees: their programmes, offline sessions with attendance, the AI–trainer
agreement panel and the cohort weakness heat map.

A trainer sees the programmes they run and those of a region their
:class:`~yanxiu.accounts.scope.Scope` covers, and the teachers that scope covers. Every view is
a dataclass the trainer pages render as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from yanxiu.accounts.models import Region, RegionLevel, School, User
from yanxiu.accounts.scope import Scope
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import NotAllowed, NotFound
from yanxiu.programs.checkin import checkin_window, session_code
from yanxiu.programs.models import OfflineSession, Program
from yanxiu.programs.queries import (
    ModuleStat,
    ProgramSummary,
    RosterLine,
    SessionStat,
    module_stats,
    participant_ids,
    roster,
    scoped_programs,
    summarise_programs,
    upcoming_sessions,
)
from yanxiu.programs.service import session_day
from yanxiu.reports.cohort import (
    HeatMap,
    Member,
    build_heatmap,
    diagnosis_flags,
    diagnosis_notes,
    hours_flags,
    hours_notes,
)
from yanxiu.reports.compliance import scoped_compliance
from yanxiu.reports.review_agreement import (
    FEW,
    AgreementRow,
    CalibrationStatus,
    agreement_chart,
    agreement_rows,
    calibration_status,
    pending_reviews,
    scoped_review_pairs,
)

NOT_YOURS = "无权访问：该培训项目不在您负责的项目或区域内。"


def visible_program(session: Session, scope: Scope, program_id: int) -> Program:
    """A programme the trainer may open (NotFound / NotAllowed otherwise)."""
    program = session.get(Program, program_id)
    if program is None:
        raise NotFound("没有这个培训项目。")
    if not scope.can_read(session, program):
        raise NotAllowed(NOT_YOURS)
    return program


def visible_session(session: Session, scope: Scope, session_id: int) -> OfflineSession:
    """An offline session of a programme the trainer may open."""
    offline = session.get(OfflineSession, session_id)
    if offline is None:
        raise NotFound("没有这场线下活动。")
    visible_program(session, scope, offline.program_id)
    return offline


# ------------------------------------------------------------------------------ home


@dataclass(frozen=True)
class UpcomingSession:
    session: OfflineSession
    program_title: str
    code: str  # the six-digit check-in code


@dataclass(frozen=True)
class TrainerHome:
    summaries: list[ProgramSummary]
    queue: int  # diagnoses waiting for review in scope
    overall: AgreementRow
    few: int
    upcoming: list[UpcomingSession]
    teachers: int


def trainer_home(session: Session, *, scope: Scope, secret: str, now: datetime) -> TrainerHome:
    programs = scoped_programs(session, scope)
    titles = {p.id: p.title for p in programs}
    _, overall = agreement_rows(scoped_review_pairs(session, scope.teacher_ids(session)))
    return TrainerHome(
        summaries=summarise_programs(session, programs, now=now),
        queue=pending_reviews(session, scope),
        overall=overall,
        few=FEW,
        upcoming=[
            UpcomingSession(s, titles.get(s.program_id, ""), session_code(secret, s))
            for s in upcoming_sessions(programs, now=now)
        ],
        teachers=len(scope.teacher_ids(session)),
    )


# -------------------------------------------------------------------------- programmes


@dataclass(frozen=True)
class ProgramList:
    summaries: list[ProgramSummary]
    trainers: dict[int, str]  # trainer id -> name


def program_list(session: Session, *, scope: Scope, now: datetime) -> ProgramList:
    summaries = summarise_programs(session, scoped_programs(session, scope), now=now)
    ids = {s.program.trainer_id for s in summaries}
    names = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return ProgramList(summaries, {int(i): str(n) for i, n in names})


@dataclass(frozen=True)
class ProgramView:
    program: Program
    summary: ProgramSummary
    trainer: User | None
    region: Region | None
    modules: list[ModuleStat]
    codes: dict[int, str]  # offline session id -> check-in code
    roster: list[RosterLine]


def program_view(
    session: Session, *, scope: Scope, program_id: int, secret: str, now: datetime
) -> ProgramView:
    program = visible_program(session, scope, program_id)
    (summary,) = summarise_programs(session, [program], now=now)
    lines = roster(session, program)
    return ProgramView(
        program=program, summary=summary, trainer=session.get(User, program.trainer_id),
        region=session.get(Region, program.region_id) if program.region_id else None,
        modules=module_stats(session, program, [line.teacher.id for line in lines]),
        codes={s.id: session_code(secret, s) for s in program.sessions}, roster=lines,
    )  # fmt: skip


@dataclass(frozen=True)
class SessionView:
    program: Program
    s: OfflineSession
    stat: SessionStat
    roster: list[RosterLine]
    code: str
    open: bool  # the day has come: attendance can be recorded
    day: date
    window: tuple[datetime, datetime]  # when the check-in code works (Beijing wall clock)


def session_view(
    session: Session, *, scope: Scope, session_id: int, secret: str, now: datetime, today: date
) -> SessionView:
    offline = visible_session(session, scope, session_id)
    program = offline.program
    (summary,) = summarise_programs(session, [program], now=now)
    stat = next(s for s in summary.sessions if s.offline_session.id == offline.id)
    return SessionView(
        program=program, s=offline, stat=stat, roster=roster(session, program),
        code=session_code(secret, offline), open=session_day(offline) <= today,
        window=checkin_window(offline),
        day=session_day(offline),
    )  # fmt: skip


# ------------------------------------------------------------------- agreement panel


@dataclass(frozen=True)
class AgreementView:
    rows: list[AgreementRow]
    overall: AgreementRow
    few: int
    calibration: CalibrationStatus
    chart: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        cal = self.calibration
        return {
            "rows": [r.as_dict() for r in self.rows],
            "overall": self.overall.as_dict(),
            "calibration": {
                "present": cal.present, "created": cal.created.isoformat() if cal.created else None,
                "reviewed_scores": cal.reviewed_scores, "dimensions": list(cal.dimensions),
                "before_qwk": cal.before_qwk, "after_qwk": cal.after_qwk, "problem": cal.problem,
            },
        }  # fmt: skip


def agreement_view(session: Session, *, scope: Scope, models_dir: Path) -> AgreementView:
    """AI–trainer agreement per rubric dimension over reviewed diagnoses in scope."""
    rows, overall = agreement_rows(scoped_review_pairs(session, scope.teacher_ids(session)))
    return AgreementView(
        rows=rows, overall=overall, few=FEW, calibration=calibration_status(models_dir),
        chart=agreement_chart(rows),
    )  # fmt: skip


# ---------------------------------------------------------------------------- heat map

Lens = Literal["auto", "diagnosis", "hours"]
RowsBy = Literal["school", "program"]


@dataclass(frozen=True)
class HeatmapView:
    heat: HeatMap
    lens: str  # the lens shown ("diagnosis" or "hours")
    asked_lens: str
    rows_by: str
    programs: list[Program]
    program_id: int | None
    counties: list[Region]
    county_id: int | None
    has_diagnoses: bool
    top: list[tuple[str, float, int, int]]  # (column, share, weak, assessed)


def heatmap_view(
    session: Session,
    *,
    scope: Scope,
    policy: CreditPolicy,
    today: date,
    lens: Lens = "auto",
    rows_by: RowsBy = "school",
    program_id: int | None = None,
    county_id: int | None = None,
) -> HeatmapView:
    """Which groups of teachers in scope share which weakness, by school or by programme."""
    programs = scoped_programs(session, scope)
    members_of = participant_ids(session, [p.id for p in programs])
    teacher_ids = scope.teacher_ids(session)
    chosen = [p for p in programs if program_id is None or p.id == program_id]
    if program_id is not None:
        if not chosen:
            visible_program(session, scope, program_id)  # NotFound or NotAllowed
        teacher_ids &= set(members_of.get(program_id, []))
    counties = list(
        session.scalars(
            select(Region)
            .where(Region.id.in_(list(scope.regions)), Region.level == RegionLevel.COUNTY)
            .order_by(Region.code)
        )
    )
    teachers = list(
        session.scalars(
            select(User)
            .where(User.id.in_(list(teacher_ids)))
            .options(joinedload(User.school).joinedload(School.county))
        ).unique()
    )
    if county_id is not None:
        if county_id not in {c.id for c in counties}:
            raise NotAllowed("无权访问：该区县不在您的负责范围内。")
        teachers = [t for t in teachers if t.school and t.school.county_id == county_id]
    ids = {t.id for t in teachers}

    diag_columns, diag = diagnosis_flags(session, ids)
    use = lens if lens != "auto" else ("diagnosis" if diag else "hours")
    if use == "diagnosis":
        columns, flags, notes = diag_columns, diag, diagnosis_notes(diag_columns)
    else:
        rows = scoped_compliance(session, policy=policy, today=today, scope=scope, teacher_ids=ids)
        columns, flags = hours_flags([r.report for r in rows], policy=policy, today=today)
        notes = hours_notes(policy)
    heat = build_heatmap(use, columns, _members(teachers, chosen, members_of, rows_by), flags)
    heat.notes = notes
    return HeatmapView(
        heat=heat, lens=use, asked_lens=lens, rows_by=rows_by, programs=programs,
        program_id=program_id, counties=counties, county_id=county_id,
        has_diagnoses=bool(diag), top=_top(heat),
    )  # fmt: skip


def _members(
    teachers: list[User], programs: list[Program], members_of: dict[int, list[int]], rows: str
) -> list[Member]:
    if rows == "program":
        present = {t.id for t in teachers}
        return [
            Member(tid, p.code, p.title)
            for p in programs
            for tid in sorted(members_of.get(p.id, []))
            if tid in present
        ]
    ordered = sorted(
        (t for t in teachers if t.school is not None),
        key=lambda t: (t.school.county.code if t.school else "", t.school.name if t.school else ""),
    )
    return [Member(t.id, t.school.code, t.school.name) for t in ordered if t.school is not None]


def _top(heat: HeatMap, k: int = 3) -> list[tuple[str, float, int, int]]:
    """The columns with the highest overall share (enough teachers assessed)."""
    ranked = [
        (col, cell.share or 0.0, cell.weak, cell.assessed)
        for col, cell in zip(heat.columns, heat.total.cells, strict=True)
        if cell.assessed >= 3
    ]
    return sorted(ranked, key=lambda x: -x[1])[:k]
