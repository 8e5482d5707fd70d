"""审核队列与审核页：培训者、管理员审核本区域教师的 AI 诊断草稿（通过、修改后通过、退回），批量重新评分。

A trainer or admin reviews the records of the teachers in their scope
(:func:`yanxiu.practice.service.can_review`), sees the full AI draft there, and can re-score
the pending drafts in scope as a background job. Pages and answers are assembled by
:mod:`yanxiu.practice.workspace`; the job is :mod:`yanxiu.practice.rescore`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.jobs import Job
from yanxiu.practice.rescore import start_rescore
from yanxiu.practice.service import ReviewError
from yanxiu.practice.workspace import (
    ReviewForm,
    decide,
    decide_from_form,
    queue_page,
    queue_rows,
    review_page,
)
from yanxiu.services import Services
from yanxiu.web.deps import ReviewerUser, ScopeDep, ServicesDep, SessionDep
from yanxiu.web.errors import status_of
from yanxiu.web.pages import flash, render_view
from yanxiu.web.schemas.practice import JobStarted, QueueItem, QueueOut, ReviewIn, ReviewOut

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


async def review_form(request: Request) -> ReviewForm:
    """The review form's fields: its score fields are named by dimension (``score:提问质量``)
    and its suggestions repeat, so it is read whole rather than field by field."""
    form = await request.form()
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    await form.close()
    return ReviewForm.from_fields(fields)


ReviewFormDep = Annotated[ReviewForm, Depends(review_form)]


def _rescore(services: Services, reviewer_id: int) -> Job:
    return start_rescore(services.submit_job, reviewer_id=reviewer_id)


# ---------------------------------------------------------------- pages


@router.get("/review", response_class=HTMLResponse)
def review_index(request: Request, me: ReviewerUser, db: SessionDep) -> HTMLResponse:
    return render_view(request, "review/queue.html", queue_page(db, me), me=me)


@router.post("/review/rescore", response_class=HTMLResponse)
def review_rescore(me: ReviewerUser, services: ServicesDep) -> Response:
    return RedirectResponse(f"/jobs/{_rescore(services, me.id).id}", status_code=303)


@router.get("/review/{diagnosis_id}", response_class=HTMLResponse)
def review_diagnosis_page(
    request: Request, diagnosis_id: int, me: ReviewerUser, scope: ScopeDep, db: SessionDep
) -> HTMLResponse:
    return render_view(request, "review/review.html", review_page(db, scope, diagnosis_id), me=me)


@router.post("/review/{diagnosis_id}", response_class=HTMLResponse)
def review_submit(
    request: Request,
    diagnosis_id: int,
    form: ReviewFormDep,
    me: ReviewerUser,
    scope: ScopeDep,
    db: SessionDep,
    services: ServicesDep,
) -> Response:
    try:
        decided = decide_from_form(
            db, scope, me, diagnosis_id, form, find_resources=services.resource_finder(db)
        )
    except ReviewError as err:  # the form again, as submitted, with why it was refused
        view = review_page(db, scope, diagnosis_id, error=err.message, form=form)
        return render_view(request, "review/review.html", view, me=me, status_code=status_of(err))
    flash(request, decided.message)
    return RedirectResponse("/review", status_code=303)


# ---------------------------------------------------------------- JSON API


@api.get("/review/queue", tags=["practice"], response_model=QueueOut)
def api_queue(me: ReviewerUser, db: SessionDep) -> QueueOut:
    """Diagnoses waiting for this trainer or admin (their region): contested ones first (with
    the teacher's reason), then by urgency, the AI's confidence less 0.05 per day waited."""
    return QueueOut(items=[QueueItem.model_validate(row) for row in queue_rows(db, me)])


@api.post("/review/rescore", tags=["practice"], status_code=202, response_model=JobStarted)
def api_rescore(me: ReviewerUser, services: ServicesDep) -> JobStarted:
    """Re-score every pending draft in scope with the current model, as a background job."""
    job = _rescore(services, me.id)
    return JobStarted(job_id=job.id, url=f"/jobs/{job.id}")


@api.post("/review/{diagnosis_id}", tags=["practice"], response_model=ReviewOut)
def api_review(
    diagnosis_id: int,
    body: ReviewIn,
    me: ReviewerUser,
    scope: ScopeDep,
    db: SessionDep,
    services: ServicesDep,
) -> ReviewOut:
    """Accept, edit (scores 1–5, summary, suggestion texts) or reject a diagnosis in the queue.

    Each decision is an append-only review row and an audit entry; rejecting needs a comment.
    409 when the diagnosis is not waiting for review, 422 for invalid scores or texts.
    """
    decided = decide(
        db, scope, me, diagnosis_id, action=body.action, scores=body.scores, summary=body.summary,
        suggestions=body.suggestions, extra_suggestion=body.extra_suggestion, comment=body.comment,
        find_resources=services.resource_finder(db),
    )  # fmt: skip
    return ReviewOut.model_validate(decided)
