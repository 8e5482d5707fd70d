"""培训者：项目（线上模块与线下活动、考勤、学时入账）、AI 与培训者一致性面板、学员薄弱点热力图。

Views come from :mod:`yanxiu.reports.trainer_workspace`: a trainer sees the programmes they run
and those of a region their scope covers, and the teachers that scope covers; anything else
answers 403. The review queue itself lives at ``/review``; the home page only counts it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.programs.service import STATUS_LABELS, parse_sheet, record_sheet, session_day
from yanxiu.reports.trainer_workspace import (
    Lens,
    RowsBy,
    agreement_view,
    heatmap_view,
    program_list,
    program_view,
    session_view,
    trainer_home,
    visible_session,
)
from yanxiu.services import Services
from yanxiu.web.deps import ScopeDep, ServicesDep, SessionDep, TrainerUser
from yanxiu.web.pages import flash, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

MARKS: dict[str, Any] = {
    "labels": {s.value: label for s, label in STATUS_LABELS.items()},
    "badges": {"present": "ok", "late": "warn", "absent": "bad"},
}


def now_utc() -> datetime:
    return datetime.now(UTC)


def _secret(services: Services) -> str:
    return str(services.settings.secret_key.get_secret_value())


@router.get("/trainer", response_class=HTMLResponse)
def home(
    request: Request, _: TrainerUser, scope: ScopeDep, services: ServicesDep, db: SessionDep
) -> HTMLResponse:
    view = trainer_home(db, scope=scope, secret=_secret(services), now=now_utc())
    return render_view(request, "trainer/home.html", view, today=date.today())


@router.get("/trainer/programs", response_class=HTMLResponse)
def programs_page(
    request: Request, me: TrainerUser, scope: ScopeDep, db: SessionDep
) -> HTMLResponse:
    view = program_list(db, scope=scope, now=now_utc())
    return render_view(request, "trainer/programs.html", view, me=me.id, today=date.today())


@router.get("/trainer/programs/{program_id}", response_class=HTMLResponse)
def program_page(
    request: Request, program_id: int, _: TrainerUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep,
) -> HTMLResponse:  # fmt: skip
    view = program_view(
        db, scope=scope, program_id=program_id, secret=_secret(services), now=now_utc()
    )
    return render_view(request, "trainer/program.html", view, today=date.today(),
                       session_day=session_day, **MARKS)  # fmt: skip


@router.get("/trainer/sessions/{session_id}", response_class=HTMLResponse)
def session_page(
    request: Request, session_id: int, _: TrainerUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep,
) -> HTMLResponse:  # fmt: skip
    view = session_view(
        db, scope=scope, session_id=session_id, secret=_secret(services), now=now_utc(),
        today=date.today(),
    )  # fmt: skip
    return render_view(request, "trainer/session.html", view, **MARKS)


@router.post("/trainer/sessions/{session_id}/attendance")
def record_attendance_sheet(
    request: Request,
    session_id: int,
    me: TrainerUser,
    scope: ScopeDep,
    services: ServicesDep,
    db: SessionDep,
    teacher: list[int] = Form(default=[]),
    status: list[str] = Form(default=[]),
    rest_present: str = Form(""),
) -> Response:
    """The attendance sheet: ``teacher`` and ``status`` are parallel lists (one select per
    participant; an empty status leaves the teacher as they are). ``rest_present`` marks every
    participant still unrecorded as present."""
    offline = visible_session(db, scope, session_id)
    outcome = record_sheet(
        db, policy=services.policy, offline_session=offline, marks=parse_sheet(teacher, status),
        rest_present=bool(rest_present), recorded_by_id=me.id, today=date.today(),
    )  # fmt: skip
    if outcome.problems:
        flash(request, f"有 {len(outcome.problems)} 条未能记录：{outcome.problems[0]}", "error")
    if outcome.recorded or outcome.changed:
        flash(request, f"考勤已保存：新记录 {outcome.recorded} 人，更正 {outcome.changed} 人。"
              f"出勤和迟到的学员已计入 {offline.hours:g} 学时（每人每场只计一次）。")  # fmt: skip
    elif not outcome.problems:
        flash(request, "考勤没有变化。", "warn")
    return RedirectResponse(f"/trainer/sessions/{offline.id}", status_code=303)


@router.get("/trainer/agreement", response_class=HTMLResponse)
def agreement_page(
    request: Request, _: TrainerUser, scope: ScopeDep, services: ServicesDep, db: SessionDep
) -> HTMLResponse:
    view = agreement_view(db, scope=scope, models_dir=services.settings.models_dir)
    return render_view(request, "trainer/agreement.html", view)


@api.get("/trainer/agreement", tags=["trainer"])
def agreement_api(
    _: TrainerUser, scope: ScopeDep, services: ServicesDep, db: SessionDep
) -> dict[str, Any]:
    """AI–trainer agreement per rubric dimension over reviewed diagnoses in the trainer's scope.

    Each row: ``n`` reviewed scores, ``qwk`` (quadratic weighted kappa), ``exact`` and
    ``adjacent`` (within one point) agreement; ``overall`` pools all dimensions;
    ``calibration`` describes models/rubric/calibration.json if present.
    """
    return agreement_view(db, scope=scope, models_dir=services.settings.models_dir).as_dict()


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@router.get("/trainer/heatmap", response_class=HTMLResponse)
def heatmap_page(
    request: Request,
    _: TrainerUser,
    scope: ScopeDep,
    services: ServicesDep,
    db: SessionDep,
    lens: Lens = Query("auto"),
    rows: RowsBy = Query("school"),
    program: str = Query("", max_length=12),
    county: str = Query("", max_length=12),
) -> HTMLResponse:
    view = heatmap_view(
        db, scope=scope, policy=services.policy, today=date.today(), lens=lens, rows_by=rows,
        program_id=_int_or_none(program), county_id=_int_or_none(county),
    )  # fmt: skip
    return render_view(request, "trainer/heatmap.html", view)
