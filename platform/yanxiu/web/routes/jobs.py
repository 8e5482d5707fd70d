"""后台任务（索引构建、批量评分、导入）及其进度。

``/jobs`` lists jobs (a trainer sees their own, an admin everyone's); ``/jobs/{id}`` shows one
job with a progress bar. Asked by htmx, ``/jobs/{id}`` answers only the progress fragment,
which polls itself every second (``hx-trigger="every 1s"``) until the job is finished and
then shows the result or the error. Only the job's owner, or an admin whose region contains
the owner, may look at a job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import or_, select

from yanxiu.accounts.models import Role, School, User
from yanxiu.db import session_scope
from yanxiu.jobs import Job, JobRegistry
from yanxiu.web.auth import AuthUser, current_user, region_subtree, require_role
from yanxiu.web.pages import BEIJING, is_htmx, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

JOB_KINDS = {"index": "索引构建", "score": "批量评分", "import": "目录导入"}
STATUS_BADGES = {"queued": "info", "running": "warn", "done": "ok", "failed": "bad"}


def job_details(app: FastAPI) -> dict[int, Any]:
    """Structured results of jobs (e.g. an import's bad rows), by job id, kept in app state.

    A job's own record holds only text; a route that submits a job may park a richer object
    here (filled in by the job as it runs) for the job page to render.
    """
    details: dict[int, Any] | None = getattr(app.state, "job_details", None)
    if details is None:
        details = app.state.job_details = {}
    elif len(details) > 100:  # forget details of jobs the registry no longer remembers
        jobs = getattr(app.state, "jobs", None)
        for job_id in [j for j in details if jobs is None or jobs.get(j) is None]:
            details.pop(job_id, None)
    return details


def registry(request: Request) -> JobRegistry:
    return request.app.state.jobs


def owners_in_scope(request: Request, user: AuthUser) -> set[int] | None:
    """Whose jobs ``user`` may see besides their own: for an admin, the users of their region
    and the regions below it (None: an admin without a region, i.e. province-wide); else none."""
    if user.role != Role.ADMIN:
        return {user.id}
    if user.region_id is None:
        return None
    with session_scope(request.app.state.session_factory) as session:
        regions = region_subtree(session, user.region_id)
        rows = session.execute(
            select(User.id)
            .outerjoin(School, School.id == User.school_id)
            .where(or_(User.region_id.in_(regions), School.county_id.in_(regions)))
        )
        return {user.id, *(int(uid) for (uid,) in rows)}


def visible_job(request: Request, user: AuthUser, job_id: int) -> Job:
    """The job, if ``user`` owns it or is an admin over its owner (else 403; unknown id: 404)."""
    job = registry(request).get(job_id)
    if job is None:
        raise HTTPException(
            404, detail="没有这个后台任务（服务重启后，已结束任务的进度记录不再保留）。"
        )
    scope = owners_in_scope(request, user)
    if job.owner_id != user.id and scope is not None and job.owner_id not in scope:
        raise HTTPException(403, detail="无权访问：只能查看自己发起或本辖区用户发起的后台任务。")
    return job


def _time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def job_context(request: Request, job: Job) -> dict[str, Any]:
    return {
        "job": job,
        "kind_label": JOB_KINDS.get(job.kind, job.kind),
        "badge": STATUS_BADGES.get(job.status.value, "info"),
        "percent": round(job.fraction * 100),
        "created": _time(job.created),
        "finished": _time(job.finished),
        "detail": job_details(request.app).get(job.id),
    }


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request, user: AuthUser = Depends(require_role(Role.TRAINER, Role.ADMIN))
) -> HTMLResponse:
    scope = owners_in_scope(request, user)
    jobs = [j for j in registry(request).list() if scope is None or j.owner_id in scope]
    rows = [job_context(request, j) for j in jobs]
    return render(request, "jobs/list.html", {"rows": rows, "everyone": user.role == Role.ADMIN})


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: int, user: AuthUser = Depends(current_user)) -> HTMLResponse:
    job = visible_job(request, user, job_id)
    context = job_context(request, job)
    if is_htmx(request):
        return render(request, "jobs/_progress.html", context)
    return render(request, "jobs/job.html", context)


def job_dict(request: Request, job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.id, "kind": job.kind, "title": job.title, "status": job.status.value,
        "status_label": job.status_label, "total": job.total, "done": job.done,
        "fraction": round(job.fraction, 4), "message": job.message, "result": job.result,
        "error": job.error, "owner_id": job.owner_id,
        "created": datetime.fromtimestamp(job.created).isoformat(timespec="seconds"),
        "finished": datetime.fromtimestamp(job.finished).isoformat(timespec="seconds") if job.finished else None,
    }  # fmt: skip
    detail = job_details(request.app).get(job.id)
    if detail is not None and hasattr(detail, "problems"):
        out["detail"] = {
            "state": detail.state, "created": detail.created, "updated": detail.updated,
            "unchanged": detail.unchanged, "index_refreshed": detail.index_refreshed,
            "index_note": detail.index_note,
            "problems": [{"row": p.row, "row_number": p.row_number, "item": p.item,
                          "message": p.message, "original": p.original} for p in detail.problems],
        }  # fmt: skip
    return out


@api.get("/jobs/{job_id}", tags=["jobs"])
def job_api(
    request: Request, job_id: int, user: AuthUser = Depends(current_user)
) -> dict[str, Any]:
    """One background job: status (queued / running / done / failed), progress and result.

    Only the user who started the job, or an admin, may read it. For catalog imports,
    ``detail`` lists every rejected row (row number, resource id, problem) or the counts.
    """
    return job_dict(request, visible_job(request, user, job_id))
