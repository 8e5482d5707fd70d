"""Background jobs with visible progress: index builds, batch scoring, catalog imports.

A job is a plain function ``work(progress) -> str`` (the returned text is its result summary).
It runs on a worker thread so the request that started it answers at once; pages poll
``/jobs/{id}`` for progress. One worker by default: the servers have few cores and these jobs
are CPU-bound. Jobs live in memory for the life of the process; what they *do* (ledger
entries, imported rows, stored diagnoses) is committed to the database by the job itself, so a
restart loses only the progress display, never work that finished.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


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
    created: float = field(default_factory=time.time)
    finished: float | None = None

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


class Progress:
    """Handed to a job's function: report how far it has got."""

    def __init__(self, job: Job, lock: threading.Lock) -> None:
        self._job, self._lock = job, lock

    def set_total(self, total: int) -> None:
        with self._lock:
            self._job.total = max(0, int(total))

    def advance(self, steps: int = 1, message: str | None = None) -> None:
        with self._lock:
            self._job.done += steps
            if message is not None:
                self._job.message = message

    def note(self, message: str) -> None:
        with self._lock:
            self._job.message = message


JobFunction = Callable[[Progress], str]


class JobRegistry:
    """Submits jobs to a small worker pool and remembers them (newest first)."""

    def __init__(self, workers: int = 1, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yanxiu-job")
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, kind: str, title: str, work: JobFunction, *, owner_id: int | None) -> Job:
        with self._lock:
            job = Job(id=next(self._ids), kind=kind, title=title, owner_id=owner_id)
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[: max(0, len(self._jobs) - self._keep)]:
                if not self._jobs[old].active:
                    del self._jobs[old]
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: JobFunction) -> None:
        with self._lock:
            job.status = JobStatus.RUNNING
        try:
            result = work(Progress(job, self._lock))
        except Exception as exc:  # the job failed; the page says why, the log has the trace
            log.error("job %s (%s) failed:\n%s", job.id, job.kind, traceback.format_exc())
            with self._lock:
                job.status, job.error, job.finished = JobStatus.FAILED, str(exc), time.time()
            return
        with self._lock:
            job.status, job.result, job.finished = JobStatus.DONE, result or "", time.time()

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self, owner_id: int | None = None) -> list[Job]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if owner_id is None or j.owner_id == owner_id]
        return sorted(jobs, key=lambda j: j.id, reverse=True)

    def wait(self, job_id: int, timeout: float = 30.0) -> Job:
        """Block until the job finishes (tests and the CLI)."""
        deadline = time.time() + timeout
        while True:
            job = self.get(job_id)
            if job is None or not job.active or time.time() > deadline:
                if job is None:
                    raise KeyError(job_id)
                return job
            time.sleep(0.02)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
