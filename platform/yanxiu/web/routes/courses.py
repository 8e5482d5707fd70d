"""课程目录：实时搜索（htmx）、课程页（报名、进度、完成→学时台账）、线下活动签到。

Reading the catalog is open to every logged-in role; enrolling, recording progress,
completing, rating and checking in are for teachers (403 for others). Actions follow
POST → redirect → GET with a flash message; a refused action writes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.credits.policy import CreditPolicy
from yanxiu.learning.browse import (
    ENROLMENT_LABELS,
    FORMAT_LABELS,
    STATUS_LABELS,
    CourseNotFound,
    CourseView,
    average_rating,
    browse,
    clean_filters,
    course_view,
    drop_teacher,
    enrol_teacher,
    filter_options,
    finish_course,
    get_course,
    rate_teacher_course,
    record_progress,
    search_catalog,
)
from yanxiu.learning.enrolments import EnrolmentError
from yanxiu.programs.checkin import CheckinError, CheckinResult, check_in, session_overview
from yanxiu.web.auth import AuthUser, current_user, require_role
from yanxiu.web.deps import get_db, get_services
from yanxiu.web.pages import flash, is_htmx, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

TEACHER = require_role(Role.TEACHER)
SEARCH_RESULTS = 20
MAX_QUERY = 100


def _policy(request: Request) -> CreditPolicy:
    return get_services(request).policy


def _secret(request: Request) -> str:
    return get_services(request).settings.secret_key.get_secret_value()


def _hours(value: float) -> str:
    return f"{value:g}"


# -- catalog and search ----------------------------------------------------------------------


def _results_context(
    request: Request, session: Session, q: str, filters: dict[str, str], page: int
) -> dict[str, Any]:
    q = q.strip()[:MAX_QUERY]
    query_string = urlencode({k: v for k, v in {"q": q, **filters}.items() if v})
    context: dict[str, Any] = {
        "q": q, "filters": filters, "query_string": query_string, "hits": None, "page": None,
        "format_labels": FORMAT_LABELS, "search_unavailable": "",
    }  # fmt: skip
    if q:
        service = get_services(request).search
        if service is None:
            context["search_unavailable"] = get_services(request).search_error or "-"
            context["page"] = browse(session, filters=filters, page=page)
        else:
            context["hits"] = search_catalog(service, q, filters=filters, k=SEARCH_RESULTS)
    else:
        context["page"] = browse(session, filters=filters, page=page)
    return context


def _filters(
    stage: str | None, subject: str | None, category: str | None, format: str | None
) -> dict[str, str]:
    return clean_filters(
        {"stage": stage, "subject": subject, "category": category, "format": format}
    )


@router.get("/courses", response_class=HTMLResponse)
def catalog(
    request: Request,
    q: str = "",
    stage: str | None = None,
    subject: str | None = None,
    category: str | None = None,
    format: str | None = None,
    page: int = Query(1, ge=1, le=10_000),
    me: AuthUser = Depends(current_user),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    filters = _filters(stage, subject, category, format)
    context = _results_context(request, session, q, filters, page)
    context |= {"me": me, "options": filter_options()}
    return render(request, "courses/catalog.html", context)


@router.get("/courses/search", response_class=HTMLResponse)
def catalog_search(
    request: Request,
    q: str = "",
    stage: str | None = None,
    subject: str | None = None,
    category: str | None = None,
    format: str | None = None,
    page: int = Query(1, ge=1, le=10_000),
    me: AuthUser = Depends(current_user),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    """The results list (htmx partial): search hits for ``q``, else a page of the catalog."""
    filters = _filters(stage, subject, category, format)
    context = _results_context(request, session, q, filters, page)
    response = render(request, "courses/_results.html", context)
    if is_htmx(request):  # the address bar follows the search, so reload and back keep it
        qs = context["query_string"]
        page_part = f"{'&' if qs else ''}page={page}" if page > 1 and not q.strip() else ""
        response.headers["HX-Replace-Url"] = "/courses" + (
            f"?{qs}{page_part}" if qs or page_part else ""
        )
    return response


# -- one course ------------------------------------------------------------------------------


def _load_course(session: Session, code: str, me: AuthUser) -> CourseView:
    try:
        course = get_course(session, code, include_drafts=me.role in (Role.ADMIN, Role.TRAINER))
    except CourseNotFound as exc:
        raise HTTPException(404, detail=f"课程 {code} 不存在或尚未发布") from exc
    return course_view(session, course, teacher_id=me.id if me.role == Role.TEACHER else None)


@router.get("/courses/{code}", response_class=HTMLResponse)
def course_page(
    request: Request,
    code: str,
    me: AuthUser = Depends(current_user),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    view = _load_course(session, code, me)
    mean, raters = average_rating(session, view.course.id)
    return render(
        request,
        "courses/course.html",
        {"me": me, "v": view, "c": view.course, "mean_rating": mean, "raters": raters,
         "status_labels": STATUS_LABELS, "enrolment_labels": ENROLMENT_LABELS,
         "is_teacher": me.role == Role.TEACHER},
    )  # fmt: skip


def _back(code: str) -> RedirectResponse:
    return RedirectResponse(f"/courses/{code}", status_code=303)


def _refuse(request: Request, session: Session, code: str, exc: Exception) -> RedirectResponse:
    session.rollback()  # nothing of a refused action is kept
    flash(request, str(exc), "error")
    return _back(code)


def _not_found(code: str, exc: Exception) -> HTTPException:
    return HTTPException(404, detail=f"课程 {code} 不存在或尚未发布")


@router.post("/courses/{code}/enrol")
def enrol_form(
    request: Request,
    code: str,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    try:
        result = enrol_teacher(session, teacher_id=me.id, code=code)
    except CourseNotFound as exc:
        raise _not_found(code, exc) from exc
    except EnrolmentError as exc:
        return _refuse(request, session, code, exc)
    messages = {
        "enrolled": "报名成功，开始学习吧。",
        "reopened": "已重新报名该课程，之前的学习进度已保留。",
        "already": "您已报名该课程。",
        "completed": "您已完成该课程，无需再次报名。",
    }
    flash(request, messages[result.outcome])
    if result.outcome in ("enrolled", "reopened") and result.missing_prerequisites:
        names = "、".join(f"「{p.title}」" for p in result.missing_prerequisites)
        flash(request, f"建议先完成先修课程：{names}。", "warn")
    return _back(code)


@router.post("/courses/{code}/progress")
def progress_form(
    request: Request,
    code: str,
    progress: str = Form("", max_length=10),
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    try:
        percent = int(progress.strip().rstrip("%"))
    except ValueError:
        flash(request, "学习进度须为 0 到 100 之间的整数", "error")
        return _back(code)
    try:
        enrolment = record_progress(session, teacher_id=me.id, code=code, percent=percent)
    except CourseNotFound as exc:
        raise _not_found(code, exc) from exc
    except EnrolmentError as exc:
        return _refuse(request, session, code, exc)
    kept = round(enrolment.progress * 100)  # progress never goes back
    if kept > percent:
        flash(request, f"学习进度只增不减，当前进度仍为 {kept}%。", "warn")
    else:
        hint = "，可以点击“完成课程”计入学时" if percent == 100 else ""
        flash(request, f"学习进度已更新为 {percent}%{hint}。")
    return _back(code)


@router.post("/courses/{code}/complete")
def complete_form(
    request: Request,
    code: str,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    try:
        _, record, created = finish_course(
            session, policy=_policy(request), teacher_id=me.id, code=code
        )
    except CourseNotFound as exc:
        raise _not_found(code, exc) from exc
    except EnrolmentError as exc:
        return _refuse(request, session, code, exc)
    if created:
        pending = (
            "（待审核通过后计入周期学时）" if record.initial_review_state != "approved" else ""
        )
        flash(request, f"恭喜完成课程！已计入学时 {_hours(record.hours)}{pending}。")
    else:
        flash(
            request, f"该课程此前已完成，学时 {_hours(record.hours)} 已计入，不重复计入。", "warn"
        )
    return _back(code)


@router.post("/courses/{code}/drop")
def drop_form(
    request: Request,
    code: str,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    try:
        drop_teacher(session, teacher_id=me.id, code=code)
    except CourseNotFound as exc:
        raise _not_found(code, exc) from exc
    except EnrolmentError as exc:
        return _refuse(request, session, code, exc)
    flash(request, "已退选该课程；需要时可重新报名，学习进度会保留。")
    return _back(code)


@router.post("/courses/{code}/rate")
def rate_form(
    request: Request,
    code: str,
    rating: str = Form("", max_length=4),
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    try:
        stars = int(rating)
    except ValueError:
        flash(request, "请选择 1 到 5 星的评分", "error")
        return _back(code)
    try:
        rate_teacher_course(session, teacher_id=me.id, code=code, rating=stars)
    except CourseNotFound as exc:
        raise _not_found(code, exc) from exc
    except EnrolmentError as exc:
        return _refuse(request, session, code, exc)
    flash(request, f"感谢评价！您给出了 {stars} 星。")
    return _back(code)


# -- offline check-in ------------------------------------------------------------------------


def _checkin_page(
    request: Request, session: Session, me: AuthUser, *, error: str = "", code: str = "",
    status_code: int = 200,
) -> Response:  # fmt: skip
    today = date.today()
    lines = session_overview(session, teacher_id=me.id, today=today)
    return render(
        request,
        "courses/checkin.html",
        {"me": me, "lines": lines, "today": today, "error": error, "code": code,
         "open_lines": [ln for ln in lines if ln.state == "open"],
         "upcoming": [ln for ln in lines if ln.state in ("open", "upcoming")],
         "past": [ln for ln in lines if ln.state not in ("open", "upcoming")]},
        status_code=status_code,
    )  # fmt: skip


def _checkin_message(result: CheckinResult) -> str:
    title = result.offline_session.title
    if not result.newly_recorded:
        return f"您已签到过「{title}」，学时不重复计入。"
    late = "（迟到）" if result.attendance.status == "late" else ""
    return f"签到成功{late}：「{title}」，已计入学时 {_hours(result.credited_hours)}。"


@router.get("/checkin", response_class=HTMLResponse)
def checkin_page(
    request: Request,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    return _checkin_page(request, session, me)


@router.post("/checkin", response_class=HTMLResponse)
def checkin_submit(
    request: Request,
    code: str = Form("", max_length=32),
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> Response:
    try:
        result = check_in(
            session, teacher_id=me.id, code=code, secret=_secret(request),
            policy=_policy(request), today=date.today(), now=datetime.now(),
        )  # fmt: skip
    except CheckinError as exc:
        session.rollback()
        return _checkin_page(request, session, me, error=str(exc), code=code, status_code=400)
    flash(request, _checkin_message(result), "ok" if result.newly_recorded else "warn")
    return RedirectResponse("/checkin", status_code=303)


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


class CheckinIn(BaseModel):
    code: str = Field(..., max_length=32, description="The six-digit code shown by the trainer")


class CheckinOut(BaseModel):
    session_id: int
    title: str
    starts_at: str
    status: str = Field(description="present or late")
    newly_recorded: bool
    credited_hours: float
    message: str


def _course_json(view: CourseView) -> dict[str, Any]:
    c = view.course
    data: dict[str, Any] = {
        "code": c.code, "title": c.title, "summary": c.summary, "outline": list(c.outline),
        "category": c.category, "stages": list(c.stages), "subjects": list(c.subjects),
        "hours": c.hours, "format": c.format.value, "provider": c.provider,
        "status": c.status.value,
        "prerequisites": [{"code": p.code, "title": p.title, "status": p.status} for p in view.prerequisites],
        "unlocks": [{"code": code, "title": title} for code, title in view.unlocks],
    }  # fmt: skip
    if view.enrolment is not None:
        e = view.enrolment
        data["enrolment"] = {
            "status": e.status.value, "progress": round(e.progress, 4), "rating": e.rating,
            "enrolled_at": e.enrolled_at.isoformat(),
            "completed_at": e.completed_at.isoformat() if e.completed_at else None,
            "credited_hours": view.credited_hours,
        }  # fmt: skip
    return data


@api.get("/courses", tags=["catalog"])
def api_courses(
    request: Request,
    stage: str | None = Query(None, description="学段, e.g. 小学"),
    subject: str | None = Query(None, description="学科, e.g. 数学"),
    category: str | None = Query(None, description="类别, e.g. 师德师风"),
    format: str | None = Query(None, description="online / offline / hybrid"),
    page: int = Query(1, ge=1, le=10_000),
    me: AuthUser = Depends(current_user),
    session: Session = Depends(get_db, scope="function"),
) -> CoursePageOut:
    """Browse the published catalog (20 per page, by code) under optional filters."""
    result = browse(session, filters=_filters(stage, subject, category, format), page=page)
    return CoursePageOut.model_validate(
        {
            "page": result.page, "pages": result.pages, "total": result.total,
            "results": [
                {"code": c.code, "title": c.title, "category": c.category, "stages": list(c.stages),
                 "subjects": list(c.subjects), "format": c.format, "hours": c.hours}
                for c in result.items
            ],
        }
    )  # fmt: skip


@api.get("/courses/{code}", tags=["catalog"])
def api_course(
    code: str,
    me: AuthUser = Depends(current_user),
    session: Session = Depends(get_db, scope="function"),
) -> CourseOut:
    """One course: description, hours, category, prerequisites and what it unlocks.

    For a teacher, each prerequisite carries their status (``mastered``, ``in_progress``,
    ``not_started``) and ``enrolment`` their own enrolment, if any."""
    return CourseOut.model_validate(_course_json(_load_course(session, code, me)))


@api.post("/courses/{code}/enrol", tags=["catalog"])
def api_enrol(
    code: str, me: AuthUser = Depends(TEACHER), session: Session = Depends(get_db, scope="function")
) -> EnrolOut:
    """Enrol the logged-in teacher (needs the ``X-CSRF-Token`` header).

    ``outcome`` is ``enrolled``, ``reopened`` (after a drop), ``already`` or ``completed``;
    ``missing_prerequisites`` lists prerequisites not yet completed (advised, not enforced)."""
    try:
        result = enrol_teacher(session, teacher_id=me.id, code=code)
    except CourseNotFound as exc:
        raise _not_found(code, exc) from exc
    except EnrolmentError as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    return EnrolOut.model_validate(
        {
            "course": code,
            "outcome": result.outcome,
            "status": result.enrolment.status.value,
            "missing_prerequisites": [p.code for p in result.missing_prerequisites],
        }
    )


@api.post("/courses/{code}/complete", tags=["catalog"])
def api_complete(
    request: Request,
    code: str,
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> CompleteOut:
    """Complete an enrolled course and credit its hours to the ledger, once.

    ``credited`` is false when the course had already been completed (no second credit).
    409 when the teacher is not enrolled. Needs the ``X-CSRF-Token`` header."""
    try:
        _, record, created = finish_course(
            session, policy=_policy(request), teacher_id=me.id, code=code
        )
    except CourseNotFound as exc:
        raise _not_found(code, exc) from exc
    except EnrolmentError as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    return CompleteOut.model_validate(
        {
            "course": code, "credited": created, "record_id": record.id, "hours": record.hours,
            "category": record.category, "review_state": record.initial_review_state.value,
        }
    )  # fmt: skip


@api.post("/checkin", tags=["programs"])
def api_checkin(
    request: Request,
    body: Annotated[CheckinIn, Body()],
    me: AuthUser = Depends(TEACHER),
    session: Session = Depends(get_db, scope="function"),
) -> CheckinOut:
    """Check in to an offline session with its code; the session's hours are credited once.

    400 with a Chinese message when the code is wrong, expired or not yet open."""
    try:
        result = check_in(
            session, teacher_id=me.id, code=body.code, secret=_secret(request),
            policy=_policy(request), today=date.today(), now=datetime.now(),
        )  # fmt: skip
    except CheckinError as exc:
        raise HTTPException(400, detail=str(exc)) from exc
    s = result.offline_session
    return CheckinOut.model_validate(
        {
            "session_id": s.id, "title": s.title, "starts_at": s.starts_at.isoformat(),
            "status": result.attendance.status.value, "newly_recorded": result.newly_recorded,
            "credited_hours": result.credited_hours if result.newly_recorded else 0.0,
            "message": _checkin_message(result),
        }
    )  # fmt: skip
