"""The pages of programme planning and enrolment, as views the templates render.

Trainers: the programme form, the editor (details, audience, modules, sessions with their
check-in codes, publish/close), a session's form, cohort assignment with its preview. Teachers:
the programmes they take part in and those open to them, and one programme's page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import School
from yanxiu.accounts.scope import Scope, region_subtree
from yanxiu.catalog.models import Course
from yanxiu.programs.checkin import checkin_window, session_code
from yanxiu.programs.editor import (
    STATUS_LABELS,
    EditorOptions,
    ProgramForm,
    SessionForm,
    editable_program,
    editable_session,
    editor_options,
    program_form_of,
    registered_count,
    session_form_of,
)
from yanxiu.programs.enrolment import (
    CohortFilter,
    CohortPreview,
    Offer,
    preview_cohort,
    program_capacity,
    teacher_offers,
    teacher_program,
)
from yanxiu.programs.models import OfflineSession, Program, program_modules


@dataclass(frozen=True)
class ProgramFormView:
    """The new-programme form (or the details part of the editor), as typed, with errors."""

    form: ProgramForm
    options: EditorOptions
    errors: dict[str, str] = field(default_factory=dict)


def new_program_view(
    session: Session, *, scope: Scope, form: ProgramForm | None = None, errors: dict | None = None
) -> ProgramFormView:
    options = editor_options(session, scope)
    if form is None:
        today = date.today()
        form = ProgramForm(
            starts_on=today.isoformat(), ends_on=date(today.year + (today.month > 6), 6, 30).isoformat(),
            region_id=str(min(scope.regions)) if len(scope.regions) == 1 else "",
        )  # fmt: skip
        if options.regions and not form.region_id:
            form.region_id = str(options.regions[0].id)
    return ProgramFormView(form, options, dict(errors or {}))


@dataclass(frozen=True)
class SessionLine:
    offline_session: OfflineSession
    code: str
    window: tuple[datetime, datetime]


@dataclass(frozen=True)
class EditorView:
    program: Program
    status_label: str
    form: ProgramForm
    options: EditorOptions
    sessions: list[SessionLine]
    registered: int
    capacity: int | None
    modules: list[Course]
    errors: dict[str, str] = field(default_factory=dict)
    session_form: SessionForm = field(default_factory=SessionForm)
    session_errors: dict[str, str] = field(default_factory=dict)


def editor_view(
    session: Session,
    *,
    scope: Scope,
    program_id: int,
    secret: str,
    form: ProgramForm | None = None,
    errors: dict | None = None,
    session_form: SessionForm | None = None,
    session_errors: dict | None = None,
) -> EditorView:
    program = editable_program(session, scope, program_id)
    modules = list(
        session.scalars(
            select(Course)
            .join(program_modules, program_modules.c.course_id == Course.id)
            .where(program_modules.c.program_id == program.id)
            .order_by(Course.code)
        )
    )
    if session_form is None:
        day = program.starts_on if program.starts_on >= date.today() else date.today()
        session_form = SessionForm(
            starts_at=f"{day:%Y-%m-%d}T09:00", ends_at=f"{day:%Y-%m-%d}T12:00", hours="3",
            category=program.category,
        )  # fmt: skip
    return EditorView(
        program=program, status_label=STATUS_LABELS[program.status],
        form=form or program_form_of(session, program), options=editor_options(session, scope),
        sessions=[SessionLine(s, session_code(secret, s), checkin_window(s)) for s in program.sessions],
        registered=registered_count(session, program.id),
        capacity=program_capacity(session, program.id), modules=modules,
        errors=dict(errors or {}), session_form=session_form,
        session_errors=dict(session_errors or {}),
    )  # fmt: skip


@dataclass(frozen=True)
class SessionEditView:
    program: Program
    offline_session: OfflineSession
    form: SessionForm
    categories: tuple[str, ...]
    errors: dict[str, str] = field(default_factory=dict)


def session_edit_view(
    session: Session,
    *,
    scope: Scope,
    session_id: int,
    form: SessionForm | None = None,
    errors: dict | None = None,
) -> SessionEditView:
    offline = editable_session(session, scope, session_id)
    options = editor_options(session, scope)
    return SessionEditView(
        offline.program, offline, form or session_form_of(offline), options.categories,
        dict(errors or {}),
    )  # fmt: skip


@dataclass(frozen=True)
class AssignView:
    program: Program
    preview: CohortPreview
    schools: list[School]
    stages: tuple[str, ...]
    subjects: tuple[str, ...]
    error: str = ""


def assign_view(
    session: Session, *, scope: Scope, program_id: int, cohort: CohortFilter, error: str = ""
) -> AssignView:
    preview = preview_cohort(session, scope=scope, program_id=program_id, cohort=cohort)
    program = preview.program
    regions = region_subtree(session, program.region_id) if program.region_id else set()
    schools = list(
        session.scalars(
            select(School)
            .where(School.county_id.in_(list(regions & scope.regions)))
            .order_by(School.code)
        )
    )
    options = editor_options(session, scope)
    return AssignView(program, preview, schools, options.stages, options.subjects, error)


# ------------------------------------------------------------------------------ teachers


@dataclass(frozen=True)
class TeacherProgramsView:
    mine: list[Offer]
    open: list[Offer]


def teacher_programs_view(session: Session, *, teacher_id: int, today: date) -> TeacherProgramsView:
    mine, open_ = teacher_offers(session, teacher_id=teacher_id, today=today)
    return TeacherProgramsView(mine, open_)


@dataclass(frozen=True)
class TeacherProgramView:
    offer: Offer
    sessions: list[OfflineSession]
    modules: list[Course]
    today: date


def teacher_program_view(
    session: Session, *, teacher_id: int, program_id: int, today: date
) -> TeacherProgramView:
    offer = teacher_program(session, teacher_id=teacher_id, program_id=program_id)
    modules = list(
        session.scalars(
            select(Course)
            .join(program_modules, program_modules.c.course_id == Course.id)
            .where(program_modules.c.program_id == program_id)
            .order_by(Course.code)
        )
    )
    return TeacherProgramView(offer, list(offer.program.sessions), modules, today)
