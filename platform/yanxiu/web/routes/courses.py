"""课程目录：实时搜索（htmx）、课程页（报名、进度、完成→学时台账、退选、评价）及其 JSON API。

Reading the catalog is open to every logged-in role; enrolling, recording progress,
completing and rating are for teachers (403 for others). Actions follow POST → redirect →
GET with a flash message; a refused action writes nothing. The catalog and its search are
:mod:`yanxiu.learning.browse`, a course and what a teacher does with it
:mod:`yanxiu.learning.course`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.errors import Conflict, Invalid
from yanxiu.learning.browse import (
    CatalogFilters,
    CatalogQuery,
    browse,
    catalog_results,
    filter_options,
)
from yanxiu.learning.completion import complete_from_page, complete_teacher_course, study_page
from yanxiu.learning.course import (
    CourseView,
    Notice,
    drop_from_page,
    enrol_from_page,
    enrol_teacher,
    rate_from_page,
    viewed_course,
)
from yanxiu.web.deps import CurrentUser, ServicesDep, SessionDep, TeacherUser
from yanxiu.web.pages import flash, is_htmx, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


# -- catalog and search ----------------------------------------------------------------------


@router.get("/courses", response_class=HTMLResponse)
def catalog(
    request: Request, asked: Annotated[CatalogQuery, Query()], me: CurrentUser, db: SessionDep,
    services: ServicesDep,
) -> Response:  # fmt: skip
    results = catalog_results(
        db, asked, search=services.search, search_error=services.search_error, user_id=me.id
    )
    return render_view(request, "courses/catalog.html", results, me=me, options=filter_options())


@router.get("/courses/search", response_class=HTMLResponse)
def catalog_search(
    request: Request, asked: Annotated[CatalogQuery, Query()], me: CurrentUser, db: SessionDep,
    services: ServicesDep,
) -> Response:  # fmt: skip
    """The results list (htmx partial): search hits for ``q``, else a page of the catalog."""
    results = catalog_results(
        db, asked, search=services.search, search_error=services.search_error, user_id=me.id
    )
    response = render_view(request, "courses/_results.html", results)
    if is_htmx(request):  # the address bar follows the search, so reload and back keep it
        where = results.address_query
        response.headers["HX-Replace-Url"] = f"/courses?{where}" if where else "/courses"
    return response


# -- one course and the teacher's actions ----------------------------------------------------


@router.get("/courses/{code}", response_class=HTMLResponse)
def course(
    request: Request, code: str, me: CurrentUser, db: SessionDep, services: ServicesDep
) -> Response:
    page = study_page(db, services.policy, code, me)
    return render_view(request, "courses/course.html", page.page, me=me, study=page)


def _act(request: Request, code: str, action: Callable[[], list[Notice]]) -> RedirectResponse:
    """Run a course page action, flash what it did (or why it was refused), go back."""
    try:
        notices = action()
    except (Conflict, Invalid) as refused:  # an unknown course stays a 404 page
        notices = [Notice(refused.message, "error")]
    for notice in notices:
        flash(request, notice.text, notice.kind)
    return RedirectResponse(f"/courses/{code}", status_code=303)


@router.post("/courses/{code}/enrol")
def enrol_form(request: Request, code: str, me: TeacherUser, db: SessionDep) -> Response:
    return _act(request, code, lambda: enrol_from_page(db, teacher_id=me.id, code=code))


@router.post("/courses/{code}/complete")
def complete_form(
    request: Request, code: str, me: TeacherUser, db: SessionDep, services: ServicesDep
) -> Response:
    return _act(
        request, code,
        lambda: complete_from_page(db, policy=services.policy, teacher_id=me.id, code=code),
    )  # fmt: skip


@router.post("/courses/{code}/drop")
def drop_form(request: Request, code: str, me: TeacherUser, db: SessionDep) -> Response:
    return _act(request, code, lambda: drop_from_page(db, teacher_id=me.id, code=code))


@router.post("/courses/{code}/rate")
def rate_form(
    request: Request, code: str, me: TeacherUser, db: SessionDep,
    rating: Annotated[str, Form(max_length=4)] = "",
) -> Response:  # fmt: skip
    return _act(
        request, code, lambda: rate_from_page(db, teacher_id=me.id, code=code, typed=rating)
    )


# -- JSON API --------------------------------------------------------------------------------


class PrerequisiteOut(BaseModel):
    code: str
    title: str
    status: str = Field(description="For a teacher: mastered, in_progress or not_started")


class CourseRef(BaseModel):
    code: str
    title: str


class EnrolmentOut(BaseModel):
    status: str = Field(description="enrolled, completed or dropped")
    progress: float = Field(description="0–1")
    rating: int | None
    enrolled_at: str
    completed_at: str | None
    credited_hours: float | None = Field(description="Hours in the ledger for completing it")


class CourseOut(BaseModel):
    code: str
    title: str
    summary: str
    outline: list[str]
    category: str
    stages: list[str]
    subjects: list[str]
    hours: float
    format: str = Field(description="online, offline or hybrid")
    provider: str
    status: str
    prerequisites: list[PrerequisiteOut]
    unlocks: list[CourseRef] = Field(description="Published courses that need this one")
    enrolment: EnrolmentOut | None = Field(None, description="The teacher's own, if any")

    @classmethod
    def of(cls, view: CourseView) -> CourseOut:
        c, e = view.course, view.enrolment
        enrolment = None
        if e is not None:
            enrolment = EnrolmentOut(
                status=e.status.value, progress=round(e.progress, 4), rating=e.rating,
                enrolled_at=e.enrolled_at.isoformat(),
                completed_at=e.completed_at.isoformat() if e.completed_at else None,
                credited_hours=view.credited_hours,
            )  # fmt: skip
        return cls(
            code=c.code, title=c.title, summary=c.summary, outline=list(c.outline),
            category=c.category, stages=list(c.stages), subjects=list(c.subjects),
            hours=c.hours, format=c.format.value, provider=c.provider, status=c.status.value,
            prerequisites=[PrerequisiteOut(code=p.code, title=p.title, status=p.status)
                           for p in view.prerequisites],
            unlocks=[CourseRef(code=code, title=title) for code, title in view.unlocks],
            enrolment=enrolment,
        )  # fmt: skip


class CourseCardOut(BaseModel):
    code: str
    title: str
    category: str
    stages: list[str]
    subjects: list[str]
    format: str
    hours: float


class CoursePageOut(BaseModel):
    page: int
    pages: int
    total: int
    results: list[CourseCardOut]


class EnrolOut(BaseModel):
    course: str
    outcome: str = Field(description="enrolled, reopened, already or completed")
    status: str
    missing_prerequisites: list[str] = Field(description="Codes; advised, not enforced")


class CompleteOut(BaseModel):
    course: str
    credited: bool = Field(description="False when the course had already been credited")
    record_id: int
    hours: float
    category: str
    review_state: str


@api.get("/courses", tags=["catalog"])
def api_courses(
    filters: Annotated[CatalogFilters, Query()], _: CurrentUser, db: SessionDep
) -> CoursePageOut:
    """Browse the published catalog (20 per page, by code) under optional filters."""
    found = browse(db, filters=filters.chosen(), page=filters.page)
    return CoursePageOut(
        page=found.page, pages=found.pages, total=found.total,
        results=[CourseCardOut(code=c.code, title=c.title, category=c.category,
                               stages=list(c.stages), subjects=list(c.subjects), format=c.format,
                               hours=c.hours) for c in found.items],
    )  # fmt: skip


@api.get("/courses/{code}", tags=["catalog"])
def api_course(code: str, me: CurrentUser, db: SessionDep) -> CourseOut:
    """One course: description, hours, category, prerequisites and what it unlocks.

    For a teacher, each prerequisite carries their status (``mastered``, ``in_progress``,
    ``not_started``) and ``enrolment`` their own enrolment, if any."""
    return CourseOut.of(viewed_course(db, code, me))


@api.post("/courses/{code}/enrol", tags=["catalog"])
def api_enrol(code: str, me: TeacherUser, db: SessionDep) -> EnrolOut:
    """Enrol the logged-in teacher (needs the ``X-CSRF-Token`` header).

    ``outcome`` is ``enrolled``, ``reopened`` (after a drop), ``already`` or ``completed``;
    ``missing_prerequisites`` lists prerequisites not yet completed (advised, not enforced)."""
    result = enrol_teacher(db, teacher_id=me.id, code=code)
    return EnrolOut(
        course=code, outcome=result.outcome, status=result.enrolment.status.value,
        missing_prerequisites=[p.code for p in result.missing_prerequisites],
    )  # fmt: skip


@api.post("/courses/{code}/complete", tags=["catalog"])
def api_complete(code: str, me: TeacherUser, db: SessionDep, services: ServicesDep) -> CompleteOut:
    """Complete an enrolled course and credit its hours to the ledger, once.

    ``credited`` is false when the course had already been completed (no second credit).
    409, with a Chinese ``detail`` listing what is missing, unless the policy's evidence is
    there: every unit studied and the quiz passed (online), attendance (offline: check in
    at the session; completing it here is always refused). Needs the ``X-CSRF-Token`` header."""
    done = complete_teacher_course(db, policy=services.policy, teacher_id=me.id, code=code)
    return CompleteOut(
        course=done.course, credited=done.credited, record_id=done.record.id,
        hours=done.record.hours, category=done.record.category,
        review_state=done.record.initial_review_state.value,
    )  # fmt: skip
