"""培训者：项目（线上模块与线下活动、考勤、学时入账）、AI 与培训者一致性面板、学员薄弱点热力图。

A trainer's scope is the programmes they run plus their region subtree: programmes of those
regions and the teachers who work there. Anything else answers 403. The review queue itself
lives at ``/review`` (practice area); the home page only counts what waits there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from yanxiu.accounts.models import Region, RegionLevel, Role, School, User
from yanxiu.accounts.scope import Scope
from yanxiu.programs.models import AttendanceStatus, OfflineSession, Program
from yanxiu.programs.queries import (
    module_stats,
    participant_ids,
    roster,
    scoped_programs,
    summarise_programs,
    upcoming_sessions,
)
from yanxiu.programs.service import STATUS_LABELS, AttendanceError, mark_attendance, session_day
from yanxiu.reports.cohort import (
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
    agreement_chart,
    agreement_rows,
    calibration_status,
    pending_reviews,
    scoped_review_pairs,
)
from yanxiu.web.auth import AuthUser, require_role
from yanxiu.web.deps import get_db, get_services
from yanxiu.web.pages import flash, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

TRAINER = require_role(Role.TRAINER)
NOT_YOURS = "无权访问：该培训项目不在您负责的项目或区域内。"
MARK_LABELS = {s.value: label for s, label in STATUS_LABELS.items()}
MARK_BADGES = {"present": "ok", "late": "warn", "absent": "bad"}


def scope_of(session: Session, user: AuthUser) -> Scope:
    return Scope.for_user(session, user)


def teachers_in_scope(session: Session, scope: Scope, programs: list[Program]) -> set[int]:
    """Teachers the trainer's scope covers."""
    return scope.teacher_ids(session)


def program_or_403(session: Session, scope: Scope, program_id: int) -> Program:
    program = session.get(Program, program_id)
    if program is None:
        raise HTTPException(404, detail="没有这个培训项目。")
    if not scope.can_read(session, program):
        raise HTTPException(403, detail=NOT_YOURS)
    return program


def code_for(request: Request, offline_session_id: int) -> str:
    """The session's six-digit check-in code (derived from the server's secret)."""
    from yanxiu.programs.checkin import checkin_code

    secret = get_services(request).settings.secret_key.get_secret_value()
    return checkin_code(secret, offline_session_id)


def now_utc() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ pages


@router.get("/trainer", response_class=HTMLResponse)
def home(
    request: Request,
    user: AuthUser = Depends(TRAINER),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:
    scope = scope_of(session, user)
    programs = scoped_programs(session, scope)
    summaries = summarise_programs(session, programs, now=now_utc())
    queue = pending_reviews(session, scope)
    teacher_ids = teachers_in_scope(session, scope, programs)
    _, overall = agreement_rows(scoped_review_pairs(session, teacher_ids))
    upcoming = upcoming_sessions(programs, now=now_utc())
    titles = {p.id: p.title for p in programs}
    return render(request, "trainer/home.html", {
        "summaries": summaries, "queue": queue, "overall": overall, "few": FEW,
        "upcoming": [(s, titles.get(s.program_id, ""), code_for(request, s.id)) for s in upcoming],
        "teachers": len(teacher_ids), "today": date.today(),
    })  # fmt: skip


@router.get("/trainer/programs", response_class=HTMLResponse)
def programs_page(
    request: Request,
    user: AuthUser = Depends(TRAINER),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:
    scope = scope_of(session, user)
    summaries = summarise_programs(session, scoped_programs(session, scope), now=now_utc())
    trainers = dict(
        session.execute(
            select(User.id, User.display_name).where(
                User.id.in_({s.program.trainer_id for s in summaries})
            )
        ).all()
    )
    return render(request, "trainer/programs.html", {
        "summaries": summaries, "trainers": trainers, "me": user.id, "today": date.today(),
    })  # fmt: skip


@router.get("/trainer/programs/{program_id}", response_class=HTMLResponse)
def program_page(
    request: Request, program_id: int, user: AuthUser = Depends(TRAINER),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:  # fmt: skip
    scope = scope_of(session, user)
    program = program_or_403(session, scope, program_id)
    (summary,) = summarise_programs(session, [program], now=now_utc())
    lines = roster(session, program)
    trainer = session.get(User, program.trainer_id)
    region = session.get(Region, program.region_id) if program.region_id else None
    return render(request, "trainer/program.html", {
        "program": program, "summary": summary, "trainer": trainer, "region": region,
        "modules": module_stats(session, program, [line.teacher.id for line in lines]),
        "codes": {s.id: code_for(request, s.id) for s in program.sessions},
        "roster": lines, "labels": MARK_LABELS, "badges": MARK_BADGES, "today": date.today(),
        "session_day": session_day,
    })  # fmt: skip


@router.get("/trainer/sessions/{session_id}", response_class=HTMLResponse)
def session_page(
    request: Request, session_id: int, user: AuthUser = Depends(TRAINER),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:  # fmt: skip
    offline = session.get(OfflineSession, session_id)
    if offline is None:
        raise HTTPException(404, detail="没有这场线下活动。")
    program = program_or_403(session, scope_of(session, user), offline.program_id)
    lines = roster(session, program)
    (summary,) = summarise_programs(session, [program], now=now_utc())
    stat = next(s for s in summary.sessions if s.offline_session.id == offline.id)
    return render(request, "trainer/session.html", {
        "program": program, "s": offline, "stat": stat, "roster": lines,
        "code": code_for(request, offline.id), "labels": MARK_LABELS, "badges": MARK_BADGES,
        "open": session_day(offline) <= date.today(), "day": session_day(offline),
    })  # fmt: skip


@router.post("/trainer/sessions/{session_id}/attendance")
def record_sheet(
    request: Request,
    session_id: int,
    teacher: list[int] = Form(default=[]),
    status: list[str] = Form(default=[]),
    rest_present: str = Form(""),
    user: AuthUser = Depends(TRAINER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    """The attendance sheet: ``teacher`` and ``status`` are parallel lists (one select per
    participant; an empty status leaves the teacher as they are). ``rest_present`` marks every
    participant still unrecorded as present."""
    offline = session.get(OfflineSession, session_id)
    if offline is None:
        raise HTTPException(404, detail="没有这场线下活动。")
    program = program_or_403(session, scope_of(session, user), offline.program_id)
    if len(teacher) != len(status):
        raise HTTPException(400, detail="考勤表格不完整，请刷新页面后重试。")
    wanted: dict[int, AttendanceStatus] = {}
    for tid, value in zip(teacher, status, strict=True):
        if value:
            try:
                wanted[tid] = AttendanceStatus(value)
            except ValueError as exc:
                raise HTTPException(400, detail=f"未知的考勤状态：{value}") from exc
    if rest_present:
        recorded = {
            line.teacher.id for line in roster(session, program) if offline.id in line.marks
        }
        for line in roster(session, program):
            if line.teacher.id not in recorded and line.teacher.id not in wanted:
                wanted[line.teacher.id] = AttendanceStatus.PRESENT
    counts = {"recorded": 0, "changed": 0, "unchanged": 0}
    problems = []
    for tid, value in wanted.items():
        try:
            outcome = mark_attendance(
                session, policy=get_services(request).policy, offline_session=offline, teacher_id=tid,
                status=value, recorded_by_id=user.id, today=date.today(),
            )  # fmt: skip
        except AttendanceError as exc:
            problems.append(str(exc))
            continue
        counts[outcome] += 1
    if problems:
        flash(request, f"有 {len(problems)} 条未能记录：{problems[0]}", "error")
    if counts["recorded"] or counts["changed"]:
        flash(
            request,
            f"考勤已保存：新记录 {counts['recorded']} 人，更正 {counts['changed']} 人。"
            f"出勤和迟到的学员已计入 {offline.hours:g} 学时（每人每场只计一次）。",
        )
    elif not problems:
        flash(request, "考勤没有变化。", "warn")
    return RedirectResponse(f"/trainer/sessions/{offline.id}", status_code=303)


# ------------------------------------------------------------------- agreement panel


def agreement_context(request: Request, session: Session, user: AuthUser) -> dict[str, Any]:
    scope = scope_of(session, user)
    teacher_ids = teachers_in_scope(session, scope, scoped_programs(session, scope))
    pairs = scoped_review_pairs(session, teacher_ids)
    rows, overall = agreement_rows(pairs)
    return {
        "rows": rows, "overall": overall, "few": FEW,
        "calibration": calibration_status(get_services(request).settings.models_dir),
        "chart": agreement_chart(rows),
    }  # fmt: skip


@router.get("/trainer/agreement", response_class=HTMLResponse)
def agreement_page(
    request: Request,
    user: AuthUser = Depends(TRAINER),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:
    return render(request, "trainer/agreement.html", agreement_context(request, session, user))


@api.get("/trainer/agreement", tags=["trainer"])
def agreement_api(
    request: Request,
    user: AuthUser = Depends(TRAINER),
    session: Session = Depends(get_db, scope="function"),
) -> dict[str, Any]:
    """AI–trainer agreement per rubric dimension over reviewed diagnoses in the trainer's scope.

    Each row: ``n`` reviewed scores, ``qwk`` (quadratic weighted kappa), ``exact`` and
    ``adjacent`` (within one point) agreement; ``overall`` pools all dimensions;
    ``calibration`` describes models/rubric/calibration.json if present.
    """
    ctx = agreement_context(request, session, user)
    cal = ctx["calibration"]
    return {
        "rows": [r.as_dict() for r in ctx["rows"]],
        "overall": ctx["overall"].as_dict(),
        "calibration": {
            "present": cal.present, "created": cal.created.isoformat() if cal.created else None,
            "reviewed_scores": cal.reviewed_scores, "dimensions": list(cal.dimensions),
            "before_qwk": cal.before_qwk, "after_qwk": cal.after_qwk, "problem": cal.problem,
        },
    }  # fmt: skip


# ----------------------------------------------------------------------------- heat map


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@router.get("/trainer/heatmap", response_class=HTMLResponse)
def heatmap_page(
    request: Request,
    lens: str = Query("auto", pattern="^(auto|diagnosis|hours)$"),
    rows: str = Query("school", pattern="^(school|program)$"),
    program: str = Query("", max_length=12),
    county: str = Query("", max_length=12),
    user: AuthUser = Depends(TRAINER),
    session: Session = Depends(get_db, scope="function"),
) -> HTMLResponse:
    scope = scope_of(session, user)
    programs = scoped_programs(session, scope)
    teacher_ids = teachers_in_scope(session, scope, programs)
    members_of = participant_ids(session, [p.id for p in programs])
    program_id, county_id = _int_or_none(program), _int_or_none(county)
    chosen = [p for p in programs if program_id is None or p.id == program_id]
    if program_id is not None:
        if not chosen:
            program_or_403(session, scope, program_id)  # 404 or 403
        teacher_ids &= set(members_of.get(program_id, []))
    counties = list(
        session.scalars(
            select(Region).where(Region.id.in_(list(scope.regions)), Region.level == RegionLevel.COUNTY)
            .order_by(Region.code)
        )
    )  # fmt: skip
    teachers = list(
        session.scalars(
            select(User)
            .where(User.id.in_(list(teacher_ids)))
            .options(joinedload(User.school).joinedload(School.county))
        ).unique()
    )
    if county_id is not None:
        if county_id not in {c.id for c in counties}:
            raise HTTPException(403, detail="无权访问：该区县不在您的负责范围内。")
        teachers = [t for t in teachers if t.school and t.school.county_id == county_id]
    ids = {t.id for t in teachers}

    diag_columns, diag = diagnosis_flags(session, ids)
    use = lens if lens != "auto" else ("diagnosis" if diag else "hours")
    if use == "diagnosis":
        columns, flags, notes = diag_columns, diag, diagnosis_notes(diag_columns)
    else:
        policy = get_services(request).policy
        reports = [
            r.report
            for r in scoped_compliance(
                session, policy=policy, today=date.today(), scope=scope, teacher_ids=ids
            )
        ]
        columns, flags = hours_flags(reports, policy=policy, today=date.today())
        notes = hours_notes(policy)
    heat = build_heatmap(use, columns, _members(teachers, chosen, members_of, rows), flags)
    heat.notes = notes
    return render(request, "trainer/heatmap.html", {
        "heat": heat, "lens": use, "asked_lens": lens, "rows_by": rows, "programs": programs,
        "program_id": program_id, "counties": counties, "county_id": county_id,
        "has_diagnoses": bool(diag), "top": _top(heat),
    })  # fmt: skip


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


def _top(heat: Any, k: int = 3) -> list[tuple[str, float, int, int]]:
    """The columns with the highest overall share (enough teachers assessed)."""
    ranked = [
        (col, cell.share or 0.0, cell.weak, cell.assessed)
        for col, cell in zip(heat.columns, heat.total.cells, strict=True)
        if cell.assessed >= 3
    ]
    return sorted(ranked, key=lambda x: -x[1])[:k]
