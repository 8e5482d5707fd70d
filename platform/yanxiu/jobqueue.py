"""The job queue: huey carries job ids between processes, the ``jobs`` table keeps their state.

- Storage: :class:`huey.SqliteHuey` in ``<data_dir>/job-queue.db`` by default (nothing to run
  beside the server), :class:`huey.RedisHuey` when ``YANXIU_REDIS_URL`` is set (several
  servers, or ``yanxiu worker`` processes on other cores).
- Consumers: ``yanxiu serve`` runs one consumer thread inside the server unless
  ``YANXIU_JOBS_CONSUMER=separate`` (then ``yanxiu worker`` runs huey's own consumer).
- Once: huey hands a message to one consumer, and the job is claimed by a conditional UPDATE
  (queued → running) before it runs, so a message delivered twice, or a job id enqueued twice,
  still runs the job once.
- Progress, result, error and the structured detail are written to the job's row as it runs:
  every worker's pages show the same job, before and after a restart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import traceback
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from yanxiu.config import Settings
from yanxiu.db import session_scope
from yanxiu.db.base import Base, str_enum
from yanxiu.jobs import HANDLERS, Job, JobStatus

log = logging.getLogger(__name__)
QUEUE_NAME = "yanxiu-jobs"
KEEP_LISTED = 200  # the jobs pages list this many, newest first


class JobRecord(Base):
    """One background job: what to run (handler and JSON parameters), who started it, and how
    far it has got. Times are epoch seconds."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    handler: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus), index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)

    def snapshot(self) -> Job:
        return Job(id=self.id, kind=self.kind, title=self.title, owner_id=self.owner_id,
                   status=self.status, total=self.total, done=self.done, message=self.message,
                   result=self.result, error=self.error, detail=self.detail,
                   created=self.created_at, finished=self.finished_at)  # fmt: skip


def queue_name(settings: Settings) -> str:
    """One queue per database: job ids are that database's, so two sites sharing a Redis
    server (or two test runs) never take each other's jobs."""
    digest = hashlib.sha256(settings.database_url.encode("utf-8")).hexdigest()[:12]
    return f"{QUEUE_NAME}-{digest}"


def make_huey(settings: Settings) -> Huey:
    """The queue's storage: Redis when configured, else a SQLite file under ``data_dir``."""
    if settings.redis_url:
        return RedisHuey(queue_name(settings), url=settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(queue_name(settings), filename=str(settings.data_dir / "job-queue.db"))


class DbProgress:
    """A running job's progress, written to its row by a flusher thread at most every
    ``interval`` seconds: the job never waits for it. (A job that holds a long write
    transaction, like a roster import, would otherwise wait on SQLite for its own lock.)
    Progress is best-effort; the final state is written by :meth:`finish`, after the job."""

    def __init__(self, factory: sessionmaker[Session], job_id: int, interval: float = 0.5) -> None:
        self.factory, self.job_id, self.interval = factory, job_id, interval
        self._values: dict[str, Any] = {"total": 0, "done": 0, "message": ""}
        self._dirty = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                         name=f"job-{job_id}-progress")  # fmt: skip
        self._flusher.start()

    def _change(self, **values: Any) -> None:
        with self._lock:
            self._values.update(values)
            self._dirty = True

    def set_total(self, total: int) -> None:
        self._change(total=max(0, int(total)))

    def advance(self, steps: int = 1, message: str | None = None) -> None:
        with self._lock:
            self._values["done"] += steps
            if message is not None:
                self._values["message"] = message
            self._dirty = True

    def note(self, message: str) -> None:
        self._change(message=message)

    def set_detail(self, detail: dict[str, Any]) -> None:
        self._change(detail=detail)

    def _write(self, values: dict[str, Any]) -> None:
        with session_scope(self.factory) as db:
            db.execute(update(JobRecord).where(JobRecord.id == self.job_id).values(**values))

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                values, self._dirty = (dict(self._values) if self._dirty else None), False
            if values is None:
                continue
            try:
                self._write(values)
            except Exception:  # locked by the job's own transaction: try again next time
                with self._lock:
                    self._dirty = True

    def finish(self, **final: Any) -> None:
        """Stop flushing and write the progress with the job's final state (must succeed)."""
        self._stop.set()
        self._flusher.join()
        with self._lock:
            values = {**self._values, **final}
        self._write(values)


class JobQueue:
    """Submit jobs, read their state, run them (``context``: the running process's services,
    handed to every handler)."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.huey = make_huey(settings)
        self.context: Any = None
        self._run = self.huey.task(name="yanxiu.run_job")(self.execute)
        self._consumer: InProcessConsumer | None = None
        self._users = 0
        self._lock = threading.Lock()

    # -- submitting and reading

    def submit(
        self, handler: str, title: str, *, owner_id: int | None,
        params: dict[str, Any] | None = None, kind: str | None = None,
    ) -> Job:  # fmt: skip
        """Record the job (queued) and put its id on the queue; returns it at once."""
        if handler not in HANDLERS:
            raise KeyError(f"no job handler named {handler!r}")
        with session_scope(self.factory) as db:
            row = JobRecord(kind=kind or handler, handler=handler, title=title, owner_id=owner_id,
                            params=dict(params or {}), status=JobStatus.QUEUED,
                            created_at=time.time())  # fmt: skip
            db.add(row)
            db.flush()
            job = row.snapshot()
        self._run(job.id)
        return job

    def get(self, job_id: int) -> Job | None:
        with session_scope(self.factory) as db:
            row = db.get(JobRecord, job_id)
            return row.snapshot() if row is not None else None

    def list(self, owner_id: int | None = None, kind: str | None = None) -> list[Job]:
        """The most recent jobs, newest first."""
        query = select(JobRecord).order_by(JobRecord.id.desc()).limit(KEEP_LISTED)
        if owner_id is not None:
            query = query.where(JobRecord.owner_id == owner_id)
        if kind is not None:
            query = query.where(JobRecord.kind == kind)
        with session_scope(self.factory) as db:
            return [row.snapshot() for row in db.scalars(query)]

    def wait(self, job_id: int, timeout: float = 30.0) -> Job:
        """Block until the job finishes or ``timeout`` passes (tests and the CLI)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if not job.active or time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    # -- running

    def execute(self, job_id: int) -> None:
        """Run one job if nobody has claimed it yet (the huey task; any process)."""
        with session_scope(self.factory) as db:
            claimed = db.execute(
                update(JobRecord)
                .where(JobRecord.id == job_id, JobRecord.status == JobStatus.QUEUED)
                .values(status=JobStatus.RUNNING, started_at=time.time())
            ).rowcount  # type: ignore[attr-defined]
            row = db.get(JobRecord, job_id) if claimed else None
            handler, params = (row.handler, dict(row.params or {})) if row else ("", {})
        if not claimed:
            return  # already run (or running) elsewhere: a job runs once
        progress = DbProgress(self.factory, job_id)
        try:
            result = HANDLERS[handler](self.context, progress, params)
        except Exception as exc:  # the job failed; the page says why, the log has the trace
            log.error("job %s (%s) failed:\n%s", job_id, handler, traceback.format_exc())
            progress.finish(status=JobStatus.FAILED, error=str(exc) or type(exc).__name__,
                            finished_at=time.time())  # fmt: skip
            return
        progress.finish(status=JobStatus.DONE, result=result or "", finished_at=time.time())

    def start_consumer(self) -> None:
        """Run jobs on a thread of this process (``yanxiu serve`` without a separate worker);
        each start needs a :meth:`stop_consumer` (several test clients share one app)."""
        with self._lock:
            self._users += 1
            if self._consumer is None:
                self._consumer = InProcessConsumer(self.huey)
                self._consumer.start()

    def stop_consumer(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            consumer, self._consumer = (
                (self._consumer, None) if not self._users else (None, self._consumer)
            )
        if consumer is not None:
            consumer.stop()


class InProcessConsumer(threading.Thread):
    """huey's dequeue-and-execute loop on one daemon thread (huey's Consumer installs signal
    handlers, which only the main thread may; ``yanxiu worker`` uses that one)."""

    def __init__(self, huey: Huey, *, idle_delay: float = 0.1, max_delay: float = 1.0) -> None:
        super().__init__(name="yanxiu-jobs", daemon=True)
        self.huey, self.idle_delay, self.max_delay = huey, idle_delay, max_delay
        self._stop_event = threading.Event()

    def run(self) -> None:
        delay = self.idle_delay
        while not self._stop_event.is_set():
            try:
                task = self.huey.dequeue()
            except Exception:  # storage unreachable for a moment: wait and retry
                log.exception("job queue: cannot read the queue")
                task = None
            if task is None:
                self._stop_event.wait(delay)
                delay = min(self.max_delay, delay * 1.5)
                continue
            delay = self.idle_delay
            try:
                self.huey.execute(task)
            except Exception:  # execute() already logged it; keep consuming
                log.exception("job queue: task %s failed", task)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self.join(timeout)
