"""Trainers plan hybrid programmes: details, audience, online modules, offline sessions, status.

A trainer edits a programme they run or one of a region their
:class:`~yanxiu.accounts.scope.Scope` covers (the rule of ``Scope.can_read``), and can place a
new one only in such a region. Every change is checked (a Chinese message per field, as
:class:`~yanxiu.errors.Invalid`) and audited. Every edit first bumps the programme's
``version`` (:func:`lock_program`): on PostgreSQL that UPDATE locks the row, on SQLite the
database, so registrations and capacity changes of one programme happen one after another.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, Role, School
from yanxiu.accounts.scope import Scope, region_subtree
from yanxiu.audit.service import record_audit
from yanxiu.catalog.models import Course, CourseStatus
from yanxiu.catalog.schema import CATEGORIES, STAGES, SUBJECTS
from yanxiu.errors import Conflict, Invalid, NotAllowed, NotFound
from yanxiu.programs.clock import store_wall, stored_wall
from yanxiu.programs.models import (
    Attendance,
    OfflineSession,
    Program,
    ProgramStatus,
    program_modules,
    program_participants,
)

NOT_YOURS = "无权访问：该培训项目不在您负责的项目或区域内。"
STATUS_LABELS = {
    ProgramStatus.DRAFT: "草稿",
    ProgramStatus.PUBLISHED: "报名中",
    ProgramStatus.CLOSED: "已截止报名",
}
MAX_SESSION_HOURS = 12.0


def _clean(text: str, *, name: str, label: str, low: int, high: int, errors: dict) -> str:
    """Stripped text of ``low``..``high`` characters, without control or bidi-override
    characters (they reorder what a reader sees)."""
    value = (text or "").strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\r\t" for ch in value):
        errors[name] = f"{label}含有不可见的控制字符，请删除后重试"
    elif not low <= len(value) <= high:
        errors[name] = f"{label}应为 {low}–{high} 个字符"
    return value


@dataclass
class ProgramForm:
    """What the trainer typed on the programme form (strings as sent; parsed by the service)."""

    title: str = ""
    description: str = ""
    category: str = ""
    starts_on: str = ""
    ends_on: str = ""
    region_id: str = ""
    stages: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    school_ids: list[str] = field(default_factory=list)
    module_codes: list[str] = field(default_factory=list)


@dataclass
class SessionForm:
    """An offline session as typed: times are Beijing wall clock ("2026-12-07T14:30")."""

    title: str = ""
    location: str = ""
    starts_at: str = ""
    ends_at: str = ""
    hours: str = ""
    capacity: str = ""
    category: str = ""


def _date(value: str, name: str, label: str, errors: dict) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = f"{label}应为日期，如 2026-09-01"
        return None


def _wall(value: str, name: str, label: str, errors: dict) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        errors[name] = f"{label}应为日期和时间，如 2026-09-01 08:30"
        return None
    return moment.replace(tzinfo=None, second=0, microsecond=0)


def editable_program(session: Session, scope: Scope, program_id: int) -> Program:
    """A programme this trainer may edit (NotFound / NotAllowed otherwise)."""
    program = session.get(Program, program_id)
    if program is None:
        raise NotFound("没有这个培训项目。")
    if scope.role != Role.TRAINER or not scope.can_read(session, program):
        raise NotAllowed(NOT_YOURS)
    return program


def editable_session(session: Session, scope: Scope, session_id: int) -> OfflineSession:
    offline = session.get(OfflineSession, session_id)
    if offline is None:
        raise NotFound("没有这场线下活动。")
    editable_program(session, scope, offline.program_id)
    return offline


def lock_program(session: Session, program_id: int) -> None:
    """Serialise writers of one programme (a row lock on PostgreSQL, the write lock on SQLite)."""
    session.execute(
        update(Program).where(Program.id == program_id).values(version=Program.version + 1)
    )


@dataclass(frozen=True)
class ParsedProgram:
    title: str
    description: str
    category: str
    starts_on: date
    ends_on: date
    region_id: int
    stages: list[str]
    subjects: list[str]
    school_ids: list[int]
    course_ids: list[int]


def parse_program(session: Session, scope: Scope, form: ProgramForm) -> ParsedProgram:
    errors: dict[str, str] = {}
    title = _clean(form.title, name="title", label="项目名称", low=4, high=200, errors=errors)
    description = _clean(
        form.description, name="description", label="项目简介", low=0, high=4000, errors=errors
    )
    if form.category not in CATEGORIES:
        errors["category"] = "请选择培训类别"
    starts_on = _date(form.starts_on, "starts_on", "开始日期", errors)
    ends_on = _date(form.ends_on, "ends_on", "结束日期", errors)
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = "结束日期不能早于开始日期"
    region_id = int(form.region_id) if form.region_id.strip().isdigit() else None
    if region_id is None or not scope.covers_region(region_id):
        errors["region_id"] = "请选择您负责范围内的区域"
    stages = [s for s in dict.fromkeys(form.stages) if s]
    subjects = [s for s in dict.fromkeys(form.subjects) if s]
    if any(s not in STAGES for s in stages):
        errors["stages"] = "学段只能从列表中选择"
    if any(s not in SUBJECTS for s in subjects):
        errors["subjects"] = "学科只能从列表中选择"
    school_ids = sorted({int(s) for s in form.school_ids if s.strip().isdigit()})
    if school_ids and region_id is not None:
        inside = region_subtree(session, region_id)
        found = set(
            session.scalars(
                select(School.id).where(School.id.in_(school_ids), School.county_id.in_(inside))
            )
        )
        if found != set(school_ids):
            errors["school_ids"] = "所选学校须在项目区域之内"
    codes = [c.strip() for c in dict.fromkeys(form.module_codes) if c.strip()]
    courses = dict(
        session.execute(
            select(Course.code, Course.id).where(
                Course.code.in_(codes), Course.status == CourseStatus.PUBLISHED
            )
        ).all()
    )
    if len(courses) != len(codes):
        errors["module_codes"] = "线上模块只能从课程目录中已发布的课程里选择"
    if errors:
        raise Invalid("项目信息有误，请按提示修改后重新提交。", fields=errors)
    assert starts_on and ends_on and region_id is not None
    return ParsedProgram(
        title, description, form.category, starts_on, ends_on, region_id, stages, subjects,
        school_ids, [int(courses[c]) for c in codes],
    )  # fmt: skip


def _apply(session: Session, program: Program, parsed: ParsedProgram) -> None:
    program.title, program.description = parsed.title, parsed.description
    program.category, program.region_id = parsed.category, parsed.region_id
    program.starts_on, program.ends_on = parsed.starts_on, parsed.ends_on
    program.audience_stages, program.audience_subjects = parsed.stages, parsed.subjects
    program.audience_school_ids = parsed.school_ids
    session.execute(delete(program_modules).where(program_modules.c.program_id == program.id))
    if parsed.course_ids:
        session.execute(
            insert(program_modules),
            [{"program_id": program.id, "course_id": c} for c in parsed.course_ids],
        )


def create_program(session: Session, *, scope: Scope, form: ProgramForm) -> Program:
    """A new programme (a draft) run by the trainer whose scope this is."""
    if scope.role != Role.TRAINER:
        raise NotAllowed("只有培训者可以创建培训项目。")
    parsed = parse_program(session, scope, form)
    program = Program(
        code=f"PX-{parsed.starts_on.year}-{secrets.token_hex(3).upper()}", title=parsed.title,
        category=parsed.category, trainer_id=scope.user_id, region_id=parsed.region_id,
        starts_on=parsed.starts_on, ends_on=parsed.ends_on, status=ProgramStatus.DRAFT,
    )  # fmt: skip
    session.add(program)
    session.flush()
    _apply(session, program, parsed)
    record_audit(
        session, actor_id=scope.user_id, action="program.create", entity="program",
        entity_id=program.id, detail={"title": program.title, "region_id": program.region_id},
    )  # fmt: skip
    return program


def update_program(
    session: Session, *, scope: Scope, program_id: int, form: ProgramForm
) -> Program:
    program = editable_program(session, scope, program_id)
    parsed = parse_program(session, scope, form)
    lock_program(session, program.id)
    _apply(session, program, parsed)
    session.flush()
    record_audit(
        session, actor_id=scope.user_id, action="program.update", entity="program",
        entity_id=program.id, detail={"title": program.title},
    )  # fmt: skip
    return program


def set_status(session: Session, *, scope: Scope, program_id: int, status: str) -> Program:
    """Publish (teachers of the audience may register), close registration, or reopen."""
    program = editable_program(session, scope, program_id)
    try:
        wanted = ProgramStatus(status)
    except ValueError as exc:
        raise Invalid("未知的项目状态。", fields={"status": "请选择发布或截止报名"}) from exc
    if (
        wanted == ProgramStatus.PUBLISHED
        and not program.sessions
        and not _module_count(session, program.id)
    ):
        raise Invalid("项目还没有线上模块或线下活动，不能发布。")
    lock_program(session, program.id)
    before = program.status
    program.status = wanted
    session.flush()
    record_audit(
        session, actor_id=scope.user_id, action="program.status", entity="program",
        entity_id=program.id, detail={"before": before.value, "status": wanted.value},
    )  # fmt: skip
    return program


def _module_count(session: Session, program_id: int) -> int:
    return int(
        session.scalar(select(func.count()).where(program_modules.c.program_id == program_id)) or 0
    )


def registered_count(session: Session, program_id: int) -> int:
    return int(
        session.scalar(select(func.count()).where(program_participants.c.program_id == program_id))
        or 0
    )


@dataclass(frozen=True)
class ParsedSession:
    title: str
    location: str
    starts_at: datetime
    ends_at: datetime
    hours: float
    capacity: int | None
    category: str


def parse_session(form: SessionForm, program: Program) -> ParsedSession:
    errors: dict[str, str] = {}
    title = _clean(form.title, name="title", label="活动名称", low=2, high=200, errors=errors)
    location = _clean(form.location, name="location", label="地点", low=2, high=200, errors=errors)
    starts = _wall(form.starts_at, "starts_at", "开始时间", errors)
    ends = _wall(form.ends_at, "ends_at", "结束时间", errors)
    if starts and ends and ends <= starts:
        errors["ends_at"] = "结束时间应晚于开始时间"
    if starts and not program.starts_on <= starts.date() <= program.ends_on:
        errors["starts_at"] = (
            f"活动应在项目时间内（{program.starts_on:%Y-%m-%d} 至 {program.ends_on:%Y-%m-%d}）"
        )
    try:
        hours = float(form.hours)
        if not 0 < hours <= MAX_SESSION_HOURS:
            raise ValueError
    except ValueError:
        errors["hours"] = f"学时应为 0–{MAX_SESSION_HOURS:g} 之间的数字，如 3 或 1.5"
        hours = 0.0
    capacity: int | None = None
    if form.capacity.strip():
        if form.capacity.strip().isdigit() and 1 <= int(form.capacity) <= 10_000:
            capacity = int(form.capacity)
        else:
            errors["capacity"] = "名额应为 1–10000 的整数；不限名额请留空"
    category = form.category or program.category
    if category not in CATEGORIES:
        errors["category"] = "请选择学时类别"
    if errors:
        raise Invalid("活动信息有误，请按提示修改后重新提交。", fields=errors)
    assert starts and ends
    return ParsedSession(title, location, starts, ends, hours, capacity, category)


def _check_capacity(session: Session, program_id: int, capacity: int | None) -> None:
    taken = registered_count(session, program_id)
    if capacity is not None and capacity < taken:
        raise Invalid(
            f"名额不能少于已报名的 {taken} 人。",
            fields={"capacity": f"已有 {taken} 人报名，名额至少为 {taken}"},
        )


def add_session(
    session: Session, *, scope: Scope, program_id: int, form: SessionForm
) -> OfflineSession:
    program = editable_program(session, scope, program_id)
    parsed = parse_session(form, program)
    lock_program(session, program.id)
    _check_capacity(session, program.id, parsed.capacity)
    offline = OfflineSession(
        program_id=program.id, title=parsed.title, location=parsed.location,
        starts_at=store_wall(parsed.starts_at), ends_at=store_wall(parsed.ends_at),
        hours=parsed.hours, capacity=parsed.capacity, category=parsed.category,
    )  # fmt: skip
    session.add(offline)
    session.flush()
    session.expire(program, ["sessions"])
    record_audit(
        session, actor_id=scope.user_id, action="program.session_add", entity="offline_session",
        entity_id=offline.id, detail={"program_id": program.id, "title": offline.title},
    )  # fmt: skip
    return offline


def update_session(
    session: Session, *, scope: Scope, session_id: int, form: SessionForm
) -> OfflineSession:
    offline = editable_session(session, scope, session_id)
    parsed = parse_session(form, offline.program)
    lock_program(session, offline.program_id)
    _check_capacity(session, offline.program_id, parsed.capacity)
    if _has_attendance(session, offline.id) and parsed.hours != offline.hours:
        raise Conflict("本场活动已有考勤并已计入学时，不能再修改学时；如有误请联系管理员。")
    offline.title, offline.location = parsed.title, parsed.location
    offline.starts_at, offline.ends_at = store_wall(parsed.starts_at), store_wall(parsed.ends_at)
    offline.hours, offline.capacity, offline.category = (
        parsed.hours,
        parsed.capacity,
        parsed.category,
    )
    session.flush()
    record_audit(
        session, actor_id=scope.user_id, action="program.session_update",
        entity="offline_session", entity_id=offline.id, detail={"title": offline.title},
    )  # fmt: skip
    return offline


def _has_attendance(session: Session, session_id: int) -> bool:
    return (
        session.scalar(select(Attendance.id).where(Attendance.session_id == session_id).limit(1))
        is not None
    )


def delete_session(session: Session, *, scope: Scope, session_id: int) -> int:
    """Remove a session nobody has attended yet; returns its programme's id."""
    offline = editable_session(session, scope, session_id)
    lock_program(session, offline.program_id)
    if _has_attendance(session, offline.id):
        raise Conflict("本场活动已有考勤记录，不能删除。")
    program_id = offline.program_id
    record_audit(
        session, actor_id=scope.user_id, action="program.session_delete",
        entity="offline_session", entity_id=offline.id, detail={"title": offline.title},
    )  # fmt: skip
    program = offline.program
    session.delete(offline)
    session.flush()
    session.expire(program, ["sessions"])
    return program_id


def session_form_of(offline: OfflineSession) -> SessionForm:
    """The form pre-filled with a session as it is."""
    return SessionForm(
        title=offline.title, location=offline.location,
        starts_at=f"{stored_wall(offline.starts_at):%Y-%m-%dT%H:%M}",
        ends_at=f"{stored_wall(offline.ends_at):%Y-%m-%dT%H:%M}", hours=f"{offline.hours:g}",
        capacity="" if offline.capacity is None else str(offline.capacity),
        category=offline.category,
    )  # fmt: skip


def program_form_of(session: Session, program: Program) -> ProgramForm:
    codes = session.scalars(
        select(Course.code)
        .join(program_modules, program_modules.c.course_id == Course.id)
        .where(program_modules.c.program_id == program.id)
        .order_by(Course.code)
    )
    return ProgramForm(
        title=program.title, description=program.description, category=program.category,
        starts_on=program.starts_on.isoformat(), ends_on=program.ends_on.isoformat(),
        region_id=str(program.region_id or ""), stages=list(program.audience_stages or []),
        subjects=list(program.audience_subjects or []),
        school_ids=[str(s) for s in program.audience_school_ids or []], module_codes=list(codes),
    )  # fmt: skip


@dataclass(frozen=True)
class EditorOptions:
    """The choices the programme form offers a trainer."""

    regions: list[Region]
    schools: list[School]
    categories: tuple[str, ...] = CATEGORIES
    stages: tuple[str, ...] = STAGES
    subjects: tuple[str, ...] = SUBJECTS
    courses: list[Course] = field(default_factory=list)


def editor_options(session: Session, scope: Scope) -> EditorOptions:
    regions = list(
        session.scalars(
            select(Region).where(Region.id.in_(list(scope.regions))).order_by(Region.code)
        )
    )
    schools = list(
        session.scalars(
            select(School).where(School.county_id.in_(list(scope.regions))).order_by(School.code)
        )
    )
    courses = list(
        session.scalars(
            select(Course)
            .where(Course.status == CourseStatus.PUBLISHED)
            .order_by(Course.category, Course.code)
        )
    )
    return EditorOptions(regions=regions, schools=schools, courses=courses)
