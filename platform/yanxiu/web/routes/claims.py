"""学时申报：教师申报校本研修、教研活动和外出培训学时并上传证明材料；本辖区培训者、管理员审核。

- a teacher lists, files and (when asked to) edits and resubmits their claims;
- a trainer or admin whose scope covers the teacher reads the claim and its evidence and decides
  (approve credits the ledger once; a concurrent second decision is 409);
- evidence files are served only here, to the teacher and reviewers in scope.

The rules are :mod:`yanxiu.credits.claims`; the pages are assembled by
:mod:`yanxiu.credits.claim_views`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from yanxiu.credits import claim_views, claims
from yanxiu.credits.evidence import (
    MAX_EVIDENCE_BYTES,
    MAX_EVIDENCE_FILES,
    Upload,
    evidence_dir,
    stored_path,
)
from yanxiu.errors import Conflict, Invalid, NotAllowed
from yanxiu.services import Services
from yanxiu.web.deps import (
    CurrentUser,
    ReviewerUser,
    ScopeDep,
    ServicesDep,
    SessionDep,
    TeacherUser,
)
from yanxiu.web.errors import status_of
from yanxiu.web.pages import flash, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

# every file at its limit, plus the form's text fields
BODY_LIMIT = MAX_EVIDENCE_FILES * MAX_EVIDENCE_BYTES + 1024 * 1024


class ClaimFields(BaseModel):
    kind: str = Field("", max_length=20)
    category: str = Field("", max_length=32)
    hours: str = Field("", max_length=12)
    started_on: str = Field("", max_length=12)
    ended_on: str = Field("", max_length=12)
    organiser: str = Field("", max_length=240)
    title: str = Field("", max_length=400)
    description: str = Field("", max_length=4000)

    def draft(self) -> claims.ClaimDraft:
        return claims.ClaimDraft(**self.model_dump())


async def _uploads(files: list[UploadFile]) -> list[Upload]:
    """The files sent, each read no further than one byte past the limit (the service says
    which one is too large)."""
    out = []
    for f in files[: MAX_EVIDENCE_FILES + 1]:
        if f.filename:
            out.append(Upload(f.filename, await f.read(MAX_EVIDENCE_BYTES + 1)))
    return out


def _folder(services: Services) -> Path:
    return evidence_dir(services.settings.data_dir)


# ---------------------------------------------------------------- the teacher's pages


@router.get("/claims", response_class=HTMLResponse)
def my_claims(request: Request, me: TeacherUser, db: SessionDep) -> HTMLResponse:
    return render_view(request, "claims/index.html", claim_views.claim_list(db, me.id), me=me)


@router.get("/claims/new", response_class=HTMLResponse)
def new_claim(request: Request, me: TeacherUser, services: ServicesDep) -> HTMLResponse:
    form = claim_views.new_claim_form(services.policy)
    return render_view(request, "claims/new.html", None, form=form, me=me)


@router.post("/claims", response_class=HTMLResponse, max_body_size=BODY_LIMIT)
async def file_claim(
    request: Request,
    me: TeacherUser,
    db: SessionDep,
    services: ServicesDep,
    form: Annotated[ClaimFields, Form()],
    evidence: Annotated[list[UploadFile], File()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    draft = form.draft()
    try:
        claim = claims.submit_claim(db, services.policy, me, draft, await _uploads(evidence),
                                    evidence_dir=_folder(services), today=date.today())  # fmt: skip
    except Invalid as exc:  # the form again, as typed, with every problem beside its field
        errors = exc.fields or {"form": exc.message}
        again = claim_views.new_claim_form(services.policy, draft, errors)
        return render_view(request, "claims/new.html", None, form=again, me=me,
                           status_code=status_of(exc))  # fmt: skip
    flash(request, "学时申报已提交，本辖区培训者审核后计入学时台账。")
    return RedirectResponse(f"/claims/{claim.id}", status_code=303)


@router.post("/claims/{claim_id}/resubmit", response_class=HTMLResponse, max_body_size=BODY_LIMIT)
async def resubmit(
    request: Request,
    claim_id: int,
    me: TeacherUser,
    scope: ScopeDep,
    db: SessionDep,
    services: ServicesDep,
    form: Annotated[ClaimFields, Form()],
    evidence: Annotated[list[UploadFile], File()] = [],  # noqa: B006
) -> Response:
    draft = form.draft()
    try:
        claims.resubmit_claim(db, services.policy, me, claim_id, draft, await _uploads(evidence),
                              evidence_dir=_folder(services), today=date.today())  # fmt: skip
    except Invalid as exc:
        view = claim_views.claim_page(db, services.policy, scope, claim_id, draft=draft,
                                      errors=exc.fields, error=exc.message)  # fmt: skip
        return render_view(request, "claims/claim.html", view, me=me, status_code=status_of(exc))
    except Conflict as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, "修改后的申报已重新提交。")
    return RedirectResponse(f"/claims/{claim_id}", status_code=303)


# ---------------------------------------------------------------- a claim, for its readers


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim_detail(
    request: Request, claim_id: int, me: CurrentUser, scope: ScopeDep, db: SessionDep,
    services: ServicesDep,
) -> HTMLResponse:  # fmt: skip
    view = claim_views.claim_page(db, services.policy, scope, claim_id)
    return render_view(request, "claims/claim.html", view, me=me)


@router.get("/claims/{claim_id}/evidence/{evidence_id}")
def evidence_download(
    claim_id: int, evidence_id: int, _: CurrentUser, scope: ScopeDep, db: SessionDep,
    services: ServicesDep,
) -> Response:  # fmt: skip
    item = claims.evidence_file(db, scope, claim_id, evidence_id)
    return FileResponse(
        stored_path(_folder(services), item.stored_name), media_type=item.media_type,
        filename=item.original_name, content_disposition_type="attachment",
        headers={"Cache-Control": "private, no-store"},
    )  # fmt: skip


@router.post("/claims/{claim_id}/decision", response_class=HTMLResponse)
def decide(
    request: Request,
    claim_id: int,
    me: ReviewerUser,
    scope: ScopeDep,
    db: SessionDep,
    services: ServicesDep,
    action: str = Form("", max_length=16),
    reason: str = Form("", max_length=4000),
    revision: int | None = Form(None, ge=1, le=1_000_000),
) -> Response:
    try:
        done = claims.decide_claim(db, services.policy, scope, claim_id, action, reason,
                                   revision=revision)  # fmt: skip
    except NotAllowed:
        raise
    except (Invalid, Conflict) as exc:
        view = claim_views.claim_page(db, services.policy, scope, claim_id, error=exc.message)
        return render_view(request, "claims/claim.html", view, me=me, status_code=status_of(exc))
    flash(request, done.message)
    return RedirectResponse("/review/claims", status_code=303)


@router.get("/review/claims", response_class=HTMLResponse)
def claim_queue(
    request: Request, me: ReviewerUser, scope: ScopeDep, db: SessionDep
) -> HTMLResponse:
    return render_view(request, "claims/queue.html", claims.review_queue(db, scope), me=me,
                       badges=claim_views.STATE_BADGES)  # fmt: skip


# ---------------------------------------------------------------- JSON API


class DecisionIn(BaseModel):
    action: str = Field(..., max_length=16, description="approve | changes | reject")
    reason: str = Field("", max_length=2000, description="退回修改、不予认定时必填")
    revision: int | None = Field(None, ge=1, description="审核时看到的申报版本（可选）")


class DecisionOut(BaseModel):
    claim_id: int
    state: str
    state_label: str
    credit_record_id: int | None
    message: str


@api.post("/claims/{claim_id}/decision", tags=["claims"], response_model=DecisionOut)
def api_decide(
    claim_id: int, body: DecisionIn, _: ReviewerUser, scope: ScopeDep, db: SessionDep,
    services: ServicesDep,
) -> DecisionOut:  # fmt: skip
    """Approve, ask for changes or reject a submitted hour claim (a trainer or admin whose
    region covers the teacher). Approval credits the ledger once: a second or concurrent
    decision gets 409 naming who decided; 422 when a reason is missing; 403 outside the region."""
    done = claims.decide_claim(db, services.policy, scope, claim_id, body.action, body.reason,
                               revision=body.revision)  # fmt: skip
    return DecisionOut(claim_id=done.claim_id, state=done.state, state_label=done.state_label,
                       credit_record_id=done.credit_record_id, message=done.message)  # fmt: skip
