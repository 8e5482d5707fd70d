"""工作室主持人：工作室控制台、发布案例、精准推送向导与推送分析。

Pages are assembled by :mod:`yanxiu.studios.console`, which checks that every studio, case and
push asked for is the host's own; whom a host may push to is :mod:`yanxiu.studios.push`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.catalog.schema import STAGES, SUBJECTS
from yanxiu.errors import Invalid
from yanxiu.practice.parse import MAX_BYTES
from yanxiu.studios import console, service
from yanxiu.studios import push as pushes
from yanxiu.studios.console import AudienceQuery, WizardFilters, int_or_none
from yanxiu.web.deps import HostUser, ServicesDep, SessionDep
from yanxiu.web.pages import flash, is_htmx, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

FORM_CHOICES: dict[str, Any] = {
    "stages": STAGES, "subjects": SUBJECTS, "kinds": service.KIND_LABELS,
    "group_labels": console.COMPETENCY_GROUPS,
}  # fmt: skip
WIZARD: dict[str, Any] = {
    "stages": STAGES, "subjects": SUBJECTS, "locations": service.LOCATION_LABELS,
    "kind_labels": service.KIND_LABELS, "formula": pushes.FORMULA_TEXT, "p": pushes,
}  # fmt: skip
# A studio chosen in a form or link: a number, or blank for the host's first studio.
StudioChoice = Annotated[str, Query(max_length=12)]


@router.get("/studio", response_class=HTMLResponse)
def console_page(
    request: Request, me: HostUser, db: SessionDep, studio_id: StudioChoice = ""
) -> Response:
    view = console.overview(db, me.id, int_or_none(studio_id))
    return render_view(request, "studio/console.html", view, kind_labels=service.KIND_LABELS)


# -- publishing a case


@router.get("/studio/cases/new", response_class=HTMLResponse)
def new_case_form(
    request: Request, me: HostUser, db: SessionDep, studio_id: StudioChoice = ""
) -> Response:
    view = console.case_form(db, me.id, int_or_none(studio_id))
    return render_view(request, "studio/case_new.html", view, **FORM_CHOICES)


class CaseFields(BaseModel):
    """The publish form's fields (the file, if any, comes beside them)."""

    studio_id: str = Field("", max_length=12)
    title: str = Field("", max_length=400)
    kind: str = Field("", max_length=16)
    stage: str = Field("", max_length=16)
    subject: str = Field("", max_length=16)
    grade: str = Field("", max_length=40)
    summary: str = Field("", max_length=2000)
    body: str = Field("", max_length=400_000)
    competencies: list[str] = Field(default_factory=list)

    def draft(self) -> service.CaseDraft:
        fields = self.model_dump(exclude={"studio_id", "competencies"})
        return service.CaseDraft(**fields, competencies=self.competencies[:50])


@router.post("/studio/cases", max_body_size=2 * MAX_BYTES)  # a case file of up to 2 MB
async def publish_case(
    request: Request,
    me: HostUser,
    db: SessionDep,
    form: Annotated[CaseFields, Form()],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    draft, studio_id = form.draft(), int_or_none(form.studio_id)
    upload = None
    if file is not None and file.filename:  # read no more than a too-long body could need
        upload = (await file.read(service.BODY_MAX * 4 + 1), file.filename)
    try:
        case = console.publish(db, me.id, studio_id, draft, upload)
    except Invalid as exc:  # the form again, as typed, with every problem beside its field
        view = console.case_form(db, me.id, studio_id, draft, exc.fields)
        return render_view(request, "studio/case_new.html", view, status_code=422, **FORM_CHOICES)
    flash(request, f"案例“{case.title}”已发布，可以在推送向导中推送给需要的教师。")
    return RedirectResponse(f"/studio?studio_id={case.studio_id}", status_code=303)


# -- the push wizard


@router.get("/studio/push", response_class=HTMLResponse)
def push_wizard(
    request: Request,
    me: HostUser,
    db: SessionDep,
    services: ServicesDep,
    filters: Annotated[WizardFilters, Query()],
    case_id: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    view = console.wizard(db, me.id, int_or_none(case_id), filters,
                          embedder=services.embedder(), cache=services.embed_cache())  # fmt: skip
    return render_view(request, "studio/push.html", view, **WIZARD)


@router.get("/studio/push/audience", response_class=HTMLResponse)
def push_audience(
    request: Request,
    me: HostUser,
    db: SessionDep,
    services: ServicesDep,
    filters: Annotated[WizardFilters, Query()],
    case_id: Annotated[int, Query()],
    reach_only: Annotated[str, Query(max_length=2)] = "",
    teacher_id: list[int] = Query(default=[]),
) -> Response:
    """The htmx partial: the ranked audience (or, with reach_only=1, the reach of a selection)."""
    if reach_only == "1":
        reach = console.selection_reach(db, me.id, case_id, teacher_id)
        return render_view(request, "studio/_reach.html", reach=reach, p=pushes, selection=True)
    if not is_htmx(request):  # a plain link or bookmark: the whole wizard with these filters
        service.host_case(db, me.id, case_id)  # refused here, as the partial would be
        return RedirectResponse(f"/studio/push?{request.url.query}&filtered=1", status_code=303)
    filters.filtered = "1"  # the partial answers the filter form: no case defaults
    view = console.audience(db, me.id, case_id, filters, embedder=services.embedder(),
                            cache=services.embed_cache())  # fmt: skip
    return render_view(
        request, "studio/_audience.html", view, p=pushes, formula=pushes.FORMULA_TEXT
    )


class PushFields(BaseModel):
    """The wizard's last step: the case, the teachers left ticked and a note."""

    case_id: int
    teacher_id: list[int] = Field(default_factory=list)
    note: str = Field("", max_length=2000)


@router.post("/studio/push")
def push_create(
    request: Request, me: HostUser, db: SessionDep, form: Annotated[PushFields, Form()]
) -> Response:
    try:
        sent = console.send(db, me.id, form.case_id, form.teacher_id, form.note)
    except pushes.PushError as exc:
        flash(request, f"推送未发出：{exc.message}", "error")
        return RedirectResponse(f"/studio/push?case_id={form.case_id}", status_code=303)
    result = sent.result
    if result.created:
        extra = f"（{result.skipped} 位此前已收到，未重复推送）" if result.skipped else ""
        flash(request, f"已将“{sent.case.title}”推送给 {result.delivered} 位教师{extra}。")
    else:
        flash(request, "所选教师都已收到过这个案例，没有重复推送。", "warn")
    return RedirectResponse(f"/studio/pushes/{result.push.id}", status_code=303)


@router.get("/studio/pushes/{push_id}", response_class=HTMLResponse)
def push_page(request: Request, push_id: int, me: HostUser, db: SessionDep) -> Response:
    view = console.push_analytics(db, me.id, push_id)
    return render_view(request, "studio/push_detail.html", view, locations=service.LOCATION_LABELS,
                kind_labels=service.KIND_LABELS)  # fmt: skip


# -- JSON API


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


@api.get("/studio/push/audience", tags=["studios"], response_model=AudienceOut)
def api_audience(
    me: HostUser,
    db: SessionDep,
    services: ServicesDep,
    case_id: Annotated[int, Query(description="A case of one of the host's studios")],
    filters: Annotated[AudienceQuery, Query()],
) -> dict[str, Any]:
    """Suggested recipients ranked by need (reviewed weaknesses against the case), with a
    bounded priority for rural and weak schools, the reason for each and the reach preview."""
    ranked = console.audience(db, me.id, case_id, filters, embedder=services.embedder(),
                              cache=services.embed_cache())  # fmt: skip
    return ranked.preview.as_dict()


@api.post("/studio/push", tags=["studios"], response_model=PushOut,
          responses={201: {"model": PushOut}})  # fmt: skip
def api_push(body: PushIn, me: HostUser, db: SessionDep) -> Response:
    """Push a case to the given teachers (all or nothing; needs the X-CSRF-Token header).

    Teachers who already received the case are skipped; 201 when a push was created, 200 when
    every teacher already had it (the earlier push is returned)."""
    result = console.send(db, me.id, body.case_id, body.teacher_ids, body.note).result
    out = PushOut(push_id=result.push.id, created=result.created, delivered=result.delivered,
                  skipped=result.skipped, url=f"/studio/pushes/{result.push.id}")  # fmt: skip
    return JSONResponse(out.model_dump(), status_code=201 if result.created else 200)
