"""后台任务（索引构建、批量评分、导入）及其进度。

``/jobs`` lists jobs (a trainer sees their own, an admin also those of everyone in scope);
``/jobs/{id}`` shows one job with a progress bar. Asked by htmx, ``/jobs/{id}`` answers only the
progress fragment, which polls itself every second until the job is finished. Who may look at a
job is :meth:`yanxiu.accounts.scope.Scope.can_oversee`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from yanxiu.accounts.models import Role
from yanxiu.jobs import Job
from yanxiu.services import Services
from yanxiu.web.deps import CurrentUser, ReviewerUser, ScopeDep, ServicesDep, SessionDep
from yanxiu.web.pages import BEIJING, is_htmx, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

JOB_KINDS = {"index": "索引构建", "score": "批量评分", "import": "目录导入", "roster": "名册导入"}
STATUS_BADGES = {"queued": "info", "running": "warn", "done": "ok", "failed": "bad"}


def _time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def job_context(services: Services, job: Job) -> dict[str, Any]:
    return {
        "job": job,
        "kind_label": JOB_KINDS.get(job.kind, job.kind),
        "badge": STATUS_BADGES.get(job.status.value, "info"),
        "percent": round(job.fraction * 100),
        "created": _time(job.created),
        "finished": _time(job.finished),
        "detail": services.job_detail(job),
    }


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request, me: ReviewerUser, scope: ScopeDep, services: ServicesDep, db: SessionDep
) -> HTMLResponse:
    rows = [job_context(services, j) for j in services.visible_jobs(db, scope)]
    return render(request, "jobs/list.html", {"rows": rows, "everyone": me.role == Role.ADMIN})


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request, job_id: int, _: CurrentUser, scope: ScopeDep, services: ServicesDep,
    db: SessionDep,
) -> HTMLResponse:  # fmt: skip
    context = job_context(services, services.visible_job(db, scope, job_id))
    if is_htmx(request):
        return render(request, "jobs/_progress.html", context)
    return render(request, "jobs/job.html", context)


def job_dict(services: Services, job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.id, "kind": job.kind, "title": job.title, "status": job.status.value,
        "status_label": job.status_label, "total": job.total, "done": job.done,
        "fraction": round(job.fraction, 4), "message": job.message, "result": job.result,
        "error": job.error, "owner_id": job.owner_id,
        "created": datetime.fromtimestamp(job.created).isoformat(timespec="seconds"),
        "finished": datetime.fromtimestamp(job.finished).isoformat(timespec="seconds") if job.finished else None,
    }  # fmt: skip
    if job.detail is not None:
        out["detail"] = job.detail
    return out


@api.get("/jobs/{job_id}", tags=["jobs"])
def job_api(
    job_id: int, _: CurrentUser, scope: ScopeDep, services: ServicesDep, db: SessionDep
) -> dict[str, Any]:
    """One background job: status (queued / running / done / failed), progress and result.

    Only the user who started the job, or an admin over them, may read it. For catalog
    imports, ``detail`` lists every rejected row (row number, resource id, problem) or the counts.
    """
    return job_dict(services, services.visible_job(db, scope, job_id))
