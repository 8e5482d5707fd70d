"""名师工作室：浏览、加入、推送收件箱（教师）；工作室控制台、发布案例、推送向导与推送分析（主持人）。"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, User
from yanxiu.catalog.schema import STAGES, SUBJECTS
from yanxiu.errors import Invalid, NotAllowed, NotFound
from yanxiu.search.embed import Embedder, LexicalEmbedder
from yanxiu.search.embed_cache import EmbeddingCache
from yanxiu.studios import push as pushes
from yanxiu.studios import service, views
from yanxiu.studios.models import CaseResource, Push, Studio
from yanxiu.web.auth import AuthUser, require_role
from yanxiu.web.deps import SessionDep, TeacherUser, get_db, get_services
from yanxiu.web.pages import flash, is_htmx, local_time, render_view
from yanxiu.web.pages import render as render_page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

HOST = require_role(Role.HOST)
# Teachers read studios and the cases open to them; hosts read their own studios' cases.
StudioReader = Annotated[AuthUser, Depends(require_role(Role.TEACHER, Role.HOST))]


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored timestamp in Beijing time; "—" for none."""
    return local_time(value, fmt, missing="—")


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    return render_page(
        request, name, {"when": when, "pct": pct, **context}, status_code=status_code
    )


def page(
    request: Request, name: str, view: Any = None, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    """A studios page: the view's fields (if any), ``extra`` and the formatting helpers."""
    if view is None:
        return render(request, name, extra, status_code=status_code)
    return render_view(request, name, view, status_code=status_code, when=when, pct=pct, **extra)


# -- embeddings for the push wizard


@lru_cache(maxsize=1)
def _plain_lexical() -> LexicalEmbedder:
    return LexicalEmbedder()


def embedder_of(request: Request) -> Embedder:
    """The catalog search's embedder when search is up; else the model-free lexical one."""
    return get_services(request).embedder()


def cache_of(request: Request) -> EmbeddingCache | None:
    """The recommender's embedding cache, or one of our own under ``data_dir/embeddings``."""
    return get_services(request).embed_cache()


# -- pages


@router.get("/studios", response_class=HTMLResponse)
def studios_page(
    request: Request,
    me: StudioReader,
    db: SessionDep,
    stage: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    view = views.browse(db, me, stage=stage)
    return page(request, "studios/index.html", view, stages=STAGES,
                kind_labels=service.KIND_LABELS)  # fmt: skip


@router.get("/studios/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, me: TeacherUser, db: SessionDep) -> Response:
    return page(request, "studios/inbox.html", views.inbox(db, me.id))


@router.get("/studios/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, me: StudioReader, db: SessionDep) -> Response:
    # Opening a pushed case marks it read (for now: a GET that writes; see views.open_case).
    return page(request, "studios/case.html", views.open_case(db, me, case_id))


@router.post("/studios/cases/{case_id}/complete")
def complete_case(request: Request, case_id: int, me: TeacherUser, db: SessionDep) -> Response:
    changed = views.complete_case(db, me, case_id)
    flash(request, "已标记为学完，感谢认真研读！" if changed else "这个案例您已经标记过学完。")
    return RedirectResponse(f"/studios/cases/{case_id}", status_code=303)


@router.get("/studios/{studio_id}", response_class=HTMLResponse)
def studio_page(request: Request, studio_id: int, me: StudioReader, db: SessionDep) -> Response:
    return page(request, "studios/studio.html", views.studio_page(db, me, studio_id))


@router.post("/studios/{studio_id}/join")
def join(request: Request, studio_id: int, me: TeacherUser, db: SessionDep) -> Response:
    joined = service.join_studio(db, studio_id=studio_id, teacher_id=me.id)
    flash(
        request,
        "已加入工作室，可以阅读工作室的全部案例了。" if joined else "您已经是该工作室成员。",
    )
    return RedirectResponse(f"/studios/{studio_id}", status_code=303)


# -- host pages


def _host(session: Session, user: AuthUser) -> User:
    host = session.get(User, user.id)
    if host is None:  # pragma: no cover - the session middleware reloads the user
        raise NotAllowed("无权访问")
    return host


def _host_studio(session: Session, user: AuthUser, studio_id: int | None) -> Studio | None:
    return service.host_studio(session, user.id, studio_id)


def _host_case(session: Session, user: AuthUser, case_id: int) -> CaseResource:
    return service.host_case(session, user.id, case_id)


def _int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@router.get("/studio", response_class=HTMLResponse)
def console(
    request: Request,
    studio_id: str = Query("", max_length=12),
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> Response:
    studio = _host_studio(session, user, _int_or_none(studio_id))
    own = service.host_studios(session, user.id)
    if studio is None:
        return render(request, "studio/console.html", {"studio": None, "own": own})
    members = service.studio_members(session, studio.id)
    cases = service.studio_cases(session, studio.id)
    recent = pushes.recent_pushes(session, [studio.id], limit=10)
    delivered = sum(p.delivered for p in recent)
    return render(request, "studio/console.html", {
        "studio": studio, "own": own, "members": members, "cases": cases, "pushes": recent,
        "pushed_counts": service.case_push_counts(session, studio.id),
        "kind_labels": service.KIND_LABELS,
        "open_rate": sum(p.opened for p in recent) / delivered if delivered else None,
        "priority_members": sum(m.location == "rural" or m.is_weak for m in members),
    })  # fmt: skip


def _case_form(
    request: Request,
    session: Session,
    user: AuthUser,
    draft: service.CaseDraft,
    errors: dict[str, str],
    studio_id: int | None,
    status: int = 200,
) -> Response:
    own = service.host_studios(session, user.id)
    groups: dict[str, list[tuple[str, str]]] = {g: [] for g in COMPETENCY_GROUPS}
    for cid, name, group in service.competency_choices(session):
        groups.setdefault(group, []).append((cid, name))
    groups = {g: items for g, items in groups.items() if items}
    return render(request, "studio/case_new.html", {
        "draft": draft, "errors": errors, "own": own, "studio_id": studio_id,
        "stages": STAGES, "subjects": SUBJECTS, "kinds": service.KIND_LABELS, "groups": groups,
        "group_labels": COMPETENCY_GROUPS,
        "open_groups": {"practice"} | {g for g, items in groups.items()
                                      if any(cid in draft.competencies for cid, _ in items)},
    }, status_code=status)  # fmt: skip


COMPETENCY_GROUPS = {
    "practice": "课堂教学实践", "subject": "学科专业素养", "homeroom": "班主任工作",
    "psychology": "心理健康教育", "research": "教研能力", "it": "信息技术应用",
    "induction": "新教师入职", "ethics": "师德师风",
}  # fmt: skip


@router.get("/studio/cases/new", response_class=HTMLResponse)
def new_case_form(
    request: Request,
    studio_id: str = Query("", max_length=12),
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> Response:
    studio = _host_studio(session, user, _int_or_none(studio_id))
    if studio is None:
        raise NotAllowed("无权访问：您还没有主持的工作室，无法发布案例。")
    draft = service.CaseDraft(stage=studio.stage, subject=studio.subject)
    return _case_form(request, session, user, draft, {}, studio.id)


@router.post("/studio/cases")
async def publish_case(
    request: Request,
    studio_id: str = Form("", max_length=12),
    title: str = Form("", max_length=400),
    kind: str = Form("", max_length=16),
    stage: str = Form("", max_length=16),
    subject: str = Form("", max_length=16),
    grade: str = Form("", max_length=40),
    summary: str = Form("", max_length=2000),
    body: str = Form("", max_length=400_000),
    competencies: list[str] = Form(default=[]),
    file: UploadFile | None = File(None),
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> Response:
    studio = _host_studio(session, user, _int_or_none(studio_id))
    if studio is None:
        raise NotAllowed("无权访问：您还没有主持的工作室，无法发布案例。")
    draft = service.CaseDraft(title=title, kind=kind, stage=stage, subject=subject, grade=grade,
                              summary=summary, body=body, competencies=competencies[:50])  # fmt: skip
    errors: dict[str, str] = {}
    if file is not None and file.filename:
        data = await file.read(service.BODY_MAX * 4 + 1)
        try:
            draft.body = service.case_text_from_file(data, file.filename, kind)
        except Invalid as exc:
            errors.update(exc.fields)
    if not errors:
        try:
            case = service.publish_case(
                session, studio=studio, author=_host(session, user), draft=draft
            )
        except Invalid as exc:
            errors = exc.fields
        else:
            flash(request, f"案例“{case.title}”已发布，可以在推送向导中推送给需要的教师。")
            return RedirectResponse(f"/studio?studio_id={studio.id}", status_code=303)
    else:  # the file is unusable: still show every other field's problem at once
        others = service.validate_case_draft(session, draft)
        others.pop("body", None)
        errors = {**others, **errors}
    return _case_form(request, session, user, draft, errors, studio.id, status=422)


# -- push wizard


def _filters(
    case: CaseResource,
    *,
    touched: bool,
    stage: str | None,
    subject: str | None,
    county_id: str | None,
    location: list[str],
    weak_only: str | None,
    scope: str | None,
    size: str | None,
) -> pushes.AudienceFilters:
    """Filters from query parameters; the case's stage and subject until the host changes them."""
    size_value = _int_or_none(size) or pushes.DEFAULT_SIZE
    base = pushes.AudienceFilters.for_case(case)
    return pushes.AudienceFilters(
        stage=(stage or "") if touched or stage is not None else base.stage,
        subject=(subject or "") if touched or subject is not None else base.subject,
        county_id=_int_or_none(county_id), locations=tuple(location),
        weak_only=(weak_only or "").lower() in ("1", "true", "on", "yes"),
        scope="members" if scope == "members" else "region", size=size_value,
    ).clean()  # fmt: skip


def _preview(
    request: Request,
    session: Session,
    user: AuthUser,
    case: CaseResource,
    filters: pushes.AudienceFilters,
) -> pushes.AudiencePreview:
    studio = session.get(Studio, case.studio_id)
    assert studio is not None
    return pushes.rank_audience(
        session, studio=studio, case=case, host=_host(session, user), embedder=embedder_of(request),
        filters=filters, cache=cache_of(request),
    )  # fmt: skip


@router.get("/studio/push", response_class=HTMLResponse)
def push_wizard(
    request: Request,
    case_id: str = Query("", max_length=12),
    filtered: str = Query("", max_length=2),
    stage: str | None = Query(None, max_length=16),
    subject: str | None = Query(None, max_length=16),
    county_id: str | None = Query(None, max_length=12),
    location: list[str] = Query(default=[]),
    weak_only: str | None = Query(None, max_length=5),
    scope: str | None = Query(None, max_length=8),
    size: str | None = Query(None, max_length=4),
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> Response:
    own = service.host_studios(session, user.id)
    cases = [c for s in own for c in service.studio_cases(session, s.id)]
    chosen_id = _int_or_none(case_id)
    case = _host_case(session, user, chosen_id) if chosen_id else (cases[0] if cases else None)
    preview = filters = None
    if case is not None:
        filters = _filters(case, touched=filtered == "1", stage=stage, subject=subject,
                           county_id=county_id, location=location, weak_only=weak_only,
                           scope=scope, size=size)  # fmt: skip
        preview = _preview(request, session, user, case, filters)
    return render(request, "studio/push.html", {
        "own": own, "cases": cases, "case": case, "filters": filters, "preview": preview,
        "stages": STAGES, "subjects": SUBJECTS, "locations": service.LOCATION_LABELS,
        "counties": pushes.counties_in_reach(session, _host(session, user)),
        "kind_labels": service.KIND_LABELS, "formula": pushes.FORMULA_TEXT, "p": pushes,
    })  # fmt: skip


@router.get("/studio/push/audience", response_class=HTMLResponse)
def push_audience(
    request: Request,
    case_id: int = Query(...),
    reach_only: str = Query("", max_length=2),
    teacher_id: list[int] = Query(default=[]),
    stage: str | None = Query(None, max_length=16),
    subject: str | None = Query(None, max_length=16),
    county_id: str | None = Query(None, max_length=12),
    location: list[str] = Query(default=[]),
    weak_only: str | None = Query(None, max_length=5),
    scope: str | None = Query(None, max_length=8),
    size: str | None = Query(None, max_length=4),
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> Response:
    """The htmx partial: the ranked audience (or, with reach_only=1, the reach of a selection)."""
    case = _host_case(session, user, case_id)
    if reach_only == "1":
        studio = session.get(Studio, case.studio_id)
        assert studio is not None
        reach = pushes.reach_for_ids(session, studio, teacher_id[: pushes.MAX_SIZE])
        return render(
            request, "studio/_reach.html", {"reach": reach, "p": pushes, "selection": True}
        )
    if not is_htmx(request):  # a plain link or bookmark: the whole wizard with these filters
        query = request.url.query
        return RedirectResponse(f"/studio/push?{query}&filtered=1", status_code=303)
    filters = _filters(case, touched=True, stage=stage, subject=subject, county_id=county_id,
                       location=location, weak_only=weak_only, scope=scope, size=size)  # fmt: skip
    preview = _preview(request, session, user, case, filters)
    return render(request, "studio/_audience.html", {"case": case, "preview": preview, "p": pushes,
                                                    "formula": pushes.FORMULA_TEXT})  # fmt: skip


@router.post("/studio/push")
def push_create(
    request: Request,
    case_id: int = Form(...),
    teacher_id: list[int] = Form(default=[]),
    note: str = Form("", max_length=2000),
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> Response:
    case = _host_case(session, user, case_id)
    studio = session.get(Studio, case.studio_id)
    assert studio is not None
    try:
        result = pushes.create_push(session, studio=studio, case=case, host=_host(session, user),
                                    teacher_ids=teacher_id, note=note)  # fmt: skip
    except pushes.PushError as exc:
        flash(request, f"推送未发出：{exc.message}", "error")
        return RedirectResponse(f"/studio/push?case_id={case.id}", status_code=303)
    if result.created:
        extra = f"（{result.skipped} 位此前已收到，未重复推送）" if result.skipped else ""
        flash(request, f"已将“{case.title}”推送给 {result.delivered} 位教师{extra}。")
    else:
        flash(request, "所选教师都已收到过这个案例，没有重复推送。", "warn")
    return RedirectResponse(f"/studio/pushes/{result.push.id}", status_code=303)


def _host_push(session: Session, user: AuthUser, push_id: int) -> Push:
    push = session.get(Push, push_id)
    if push is None:
        raise NotFound("推送记录不存在。")
    studio = session.get(Studio, push.studio_id)
    if studio is None or studio.host_id != user.id:
        raise service.StudioAccessError("无权访问：您只能查看自己工作室的推送。")
    return push


def location_chart(stats: pushes.PushStats) -> dict[str, Any]:
    """Chart.js bar spec: delivered / opened / completed by school location."""
    order = ["rural", "town", "urban"]
    labels = [service.LOCATION_LABELS[k] for k in order]
    series = (("已送达", 0, "#9aa5b1"), ("已打开", 1, "#0b6e4f"), ("已学完", 2, "#f0b429"))
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": [
            {"label": name, "data": [stats.by_location[k][i] for k in order], "backgroundColor": color}
            for name, i, color in series
        ]},
        "options": {"plugins": {"legend": {"position": "bottom"}},
                    "scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0},
                                     "title": {"display": True, "text": "教师人数"}}}},
    }  # fmt: skip


@router.get("/studio/pushes/{push_id}", response_class=HTMLResponse)
def push_page(
    request: Request,
    push_id: int,
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> Response:
    push = _host_push(session, user, push_id)
    stats = pushes.push_stats(session, push.id)
    studio = session.get(Studio, push.studio_id)
    recipients = pushes.push_recipients(session, push.id)
    return render(request, "studio/push_detail.html", {
        "push": push, "case": push.case, "studio": studio, "stats": stats,
        "chart": location_chart(stats), "recipients": recipients,
        "locations": service.LOCATION_LABELS, "kind_labels": service.KIND_LABELS,
    })  # fmt: skip


# -- JSON API


class CaseRef(BaseModel):
    id: int
    title: str
    kind: str


class StudioOut(BaseModel):
    id: int
    code: str
    name: str
    stage: str
    subject: str
    description: str
    host: str
    host_school: str
    members: int
    cases: int
    joined: bool = Field(description="Whether the calling teacher is a member")
    recent_cases: list[CaseRef]


class StudiosOut(BaseModel):
    studios: list[StudioOut]


class InboxItemOut(BaseModel):
    delivery_id: int
    push_id: int
    case_id: int
    title: str
    kind: str = Field(description="transcript | lesson_plan | reflection")
    summary: str
    studio: str
    host: str
    note: str
    delivered_at: str
    opened_at: str | None
    completed_at: str | None
    unread: bool
    status: str = Field(description="未读 | 已读 | 已学完")


class InboxOut(BaseModel):
    unread: int = Field(description="Pushed cases not opened yet (the inbox badge)")
    items: list[InboxItemOut]


class MatchOut(BaseModel):
    competency: str
    name: str
    dimension: str
    severity: float
    relevance: float = Field(description="Relevance of this competency to the case, 0..1")


class CandidateOut(BaseModel):
    teacher_id: int
    username: str
    name: str
    school: str
    county: str
    location: str = Field(description="urban | town | rural")
    weak_school: bool
    member: bool
    stage: str
    subjects: list[str]
    tier: str
    need: float = Field(description="Weakness need 0..1")
    fit: float = Field(description="Profile fit 0..1 within the candidates")
    boost: float = Field(description="Rural / weak-school priority, bounded")
    score: float
    matches: list[MatchOut]
    reasons: list[str]


class ReachOut(BaseModel):
    teachers: int
    rural: int
    weak: int
    priority: int
    members: int
    schools: int
    counties: int
    rural_share: float
    weak_share: float
    priority_share: float


class AudienceOut(BaseModel):
    case_id: int
    filters: dict[str, Any]
    pool: int = Field(description="Teachers passing the filters (excluding earlier recipients)")
    already_received: int
    with_weaknesses: int
    embedder: str
    reach: ReachOut
    formula: str
    candidates: list[CandidateOut]


class PushIn(BaseModel):
    case_id: int
    teacher_ids: list[int] = Field(min_length=1, max_length=pushes.MAX_SIZE)
    note: str = Field("", max_length=pushes.MAX_NOTE)


class PushOut(BaseModel):
    push_id: int
    created: bool = Field(description="False when every teacher already had this case")
    delivered: int
    skipped: int
    url: str


@api.get("/studios", tags=["studios"], response_model=StudiosOut)
def api_studios(
    me: StudioReader,
    db: SessionDep,
    stage: Annotated[str, Query(max_length=16, description="学段 filter")] = "",
    subject: Annotated[
        str, Query(max_length=16, description="学科 filter (通用 studios always match)")
    ] = "",
) -> dict[str, Any]:
    """Famous-teacher studios with host, member and case counts and the latest cases."""
    teacher_id = me.id if me.role == Role.TEACHER else None
    cards = service.list_studios(db, teacher_id=teacher_id, stage=stage, subject=subject)
    return {"studios": [c.as_dict() for c in cards]}


@api.get("/studios/inbox", tags=["studios"], response_model=InboxOut)
def api_inbox(me: TeacherUser, db: SessionDep) -> dict[str, Any]:
    """Cases pushed to the calling teacher, newest first, with the unread count."""
    return views.inbox(db, me.id).as_dict()


@api.get("/studio/push/audience", tags=["studios"], response_model=AudienceOut)
def api_audience(
    request: Request,
    case_id: int = Query(..., description="A case of one of the host's studios"),
    stage: str | None = Query(
        None, max_length=16, description="Default: the case's stage; empty: any"
    ),
    subject: str | None = Query(
        None, max_length=16, description="Default: the case's subject; empty: any"
    ),
    county_id: int | None = Query(None),
    location: list[str] = Query(default=[], description="urban / town / rural, repeatable"),
    weak_only: bool = Query(False),
    scope: str = Query("region", pattern="^(region|members)$"),
    size: int = Query(pushes.DEFAULT_SIZE, ge=1, le=pushes.MAX_SIZE),
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> dict[str, Any]:
    """Suggested recipients ranked by need (reviewed weaknesses against the case), with a
    bounded priority for rural and weak schools, the reason for each and the reach preview."""
    case = _host_case(session, user, case_id)
    base = pushes.AudienceFilters.for_case(case)
    filters = pushes.AudienceFilters(
        stage=base.stage if stage is None else stage, subject=base.subject if subject is None else subject,
        county_id=county_id, locations=tuple(location), weak_only=weak_only,
        scope="members" if scope == "members" else "region", size=size,
    )  # fmt: skip
    return _preview(request, session, user, case, filters).as_dict()


@api.post("/studio/push", tags=["studios"], response_model=PushOut,
          responses={201: {"model": PushOut}})  # fmt: skip
def api_push(
    body: PushIn,
    session: Session = Depends(get_db, scope="function"),
    user: AuthUser = Depends(HOST),
) -> Response:
    """Push a case to the given teachers (all or nothing; needs the X-CSRF-Token header).

    Teachers who already received the case are skipped; 201 when a push was created, 200 when
    every teacher already had it (the earlier push is returned)."""
    case = _host_case(session, user, body.case_id)
    studio = session.get(Studio, case.studio_id)
    assert studio is not None
    result = pushes.create_push(session, studio=studio, case=case, host=_host(session, user),
                                teacher_ids=body.teacher_ids, note=body.note)  # PushError: 422  # fmt: skip
    out = PushOut(push_id=result.push.id, created=result.created, delivered=result.delivered,
                  skipped=result.skipped, url=f"/studio/pushes/{result.push.id}")  # fmt: skip
    return JSONResponse(out.model_dump(), status_code=201 if result.created else 200)
