"""Background jobs with visible progress: index builds, batch scoring, catalog imports.

A job is a *kind* (a name registered with :func:`job_handler`) and JSON parameters, so any
process can run it: the web server's own consumer thread, or ``yanxiu worker`` processes
beside it. The queue is huey's (:mod:`yanxiu.jobqueue`: SQLite under ``var/`` by default,
Redis when ``YANXIU_REDIS_URL`` is set); the job's state, progress and result live in the
database's ``jobs`` table, so every worker and every page sees the same job, and a restart
loses nothing that was queued or finished. A job runs once however many workers run.

This module is the vocabulary only (no database, no queue): what a job looks like to pages,
what a handler receives, and the registry of handlers.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


STATUS_LABELS = {
    JobStatus.QUEUED: "排队中",
    JobStatus.RUNNING: "进行中",
    JobStatus.DONE: "已完成",
    JobStatus.FAILED: "失败",
}


@dataclass
class Job:
    """A job as pages and the API show it (a snapshot of its row)."""

    id: int
    kind: str  # e.g. "index", "score", "import"
    title: str  # shown to people, in Chinese
    owner_id: int | None
    status: JobStatus = JobStatus.QUEUED
    total: int = 0
    done: int = 0
    message: str = ""
    result: str = ""
    error: str = ""
    detail: dict[str, Any] | None = None  # structured outcome (an import's rejected rows)
    created: float = field(default_factory=time.time)
    finished: float | None = None
    heartbeat: float | None = None  # when the running job last showed it was alive
    attempts: int = 0  # how many times a worker has started it (more than 1: re-run after a crash)

    @property
    def fraction(self) -> float:
        if self.status == JobStatus.DONE:
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)


class Progress(Protocol):
    """Handed to a job's handler: report how far it has got (written where pages read it)."""

    def set_total(self, total: int) -> None: ...

    def advance(self, steps: int = 1, message: str | None = None) -> None: ...

    def note(self, message: str) -> None: ...

    def set_detail(self, detail: dict[str, Any]) -> None: ...


# handler(context, progress, params) -> the result summary people read. ``context`` is the
# running process's services (yanxiu.services.Services): the database, the search index…
JobHandler = Callable[[Any, Progress, dict[str, Any]], str]
HANDLERS: dict[str, JobHandler] = {}
# Kinds that may simply run again after a crash cut them short (running twice gives the same
# result as once): a recovered job of such a kind is queued again, any other kind fails.
RERUNNABLE: set[str] = set()


def job_handler(kind: str, *, rerunnable: bool = False) -> Callable[[JobHandler], JobHandler]:
    """Register the handler of a kind of job (the same name in every process). ``rerunnable``:
    the job is idempotent, so one whose worker died is queued again instead of failed."""

    def register(handler: JobHandler) -> JobHandler:
        HANDLERS[kind] = handler
        if rerunnable:
            RERUNNABLE.add(kind)
        else:
            RERUNNABLE.discard(kind)
        return handler

    return register
