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
- Crashes: a running job writes ``heartbeat_at`` with its progress and at least every
  :data:`HEARTBEAT_SECONDS`. A job whose heartbeat is older than :data:`STALE_AFTER_SECONDS`
  lost its worker (killed, out of memory, power cut): every consumer looks for such jobs when it
  starts and every :data:`RECOVER_EVERY_SECONDS`, and fails them with a message people read,
  or queues them again when their kind is re-runnable (idempotent). Each start of a job counts
  an attempt, and a run writes only while the attempt is still its own, so a re-run never
  shares its row with a zombie.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import threading
import time
import traceback
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from yanxiu.config import Settings
from yanxiu.db import session_scope
from yanxiu.db.base import Base, str_enum
from yanxiu.jobs import HANDLERS, RERUNNABLE, Job, JobStatus

log = logging.getLogger(__name__)
QUEUE_NAME = "yanxiu-jobs"
KEEP_LISTED = 200  # the jobs pages list this many, newest first
HEARTBEAT_SECONDS = 10.0  # a running job shows it is alive at least this often
# A running job silent for this long has lost its worker. Generous: on SQLite a job holding a
# long write transaction cannot write its heartbeat until it commits.
STALE_AFTER_SECONDS = 300.0
RECOVER_EVERY_SECONDS = 60.0  # how often a consumer looks for such jobs
MAX_ATTEMPTS = 3  # a re-runnable job is started at most this many times
CRASH_FAILED = (
    "任务中断：执行它的后台进程意外退出（超过 {minutes} 分钟没有心跳），任务未完成。"
    "请确认数据后重新提交。"
)
CRASH_REQUEUED = "执行它的后台进程意外退出，任务已重新排队（将第 {attempt} 次运行）。"


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
    heartbeat_at: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def snapshot(self) -> Job:
        return Job(id=self.id, kind=self.kind, title=self.title, owner_id=self.owner_id,
                   status=self.status, total=self.total, done=self.done, message=self.message,
                   result=self.result, error=self.error, detail=self.detail,
                   created=self.created_at, finished=self.finished_at,
                   heartbeat=self.heartbeat_at, attempts=self.attempts or 0)  # fmt: skip


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
    Progress is best-effort; the final state is written by :meth:`finish`, after the job.

    Every write carries the heartbeat, and the flusher writes one at least every
    ``heartbeat`` seconds even when the job reports nothing. Writes apply only while the
    row's ``attempts`` is still ``attempt`` (a re-run after a crash owns the row)."""

    def __init__(
        self, factory: sessionmaker[Session], job_id: int, interval: float = 0.5, *,
        attempt: int | None = None, heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:  # fmt: skip
        self.factory, self.job_id, self.interval = factory, job_id, interval
        self.attempt, self.heartbeat = attempt, heartbeat
        self._last_write = time.monotonic()
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
        mine = JobRecord.id == self.job_id
        if self.attempt is not None:
            mine = mine & (JobRecord.attempts == self.attempt)
        with session_scope(self.factory) as db:
            db.execute(update(JobRecord).where(mine).values(**values, heartbeat_at=time.time()))
        self._last_write = time.monotonic()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.interval):
            beat = time.monotonic() - self._last_write >= self.heartbeat
            with self._lock:
                dirty = self._dirty or beat
                values, self._dirty = (dict(self._values) if dirty else None), False
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

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], *,
        stale_after: float = STALE_AFTER_SECONDS, heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:  # fmt: skip
        self.factory = factory
        self.huey = make_huey(settings)
        self.context: Any = None
        self.stale_after, self.heartbeat = stale_after, heartbeat
        self._run = self.huey.task(name="yanxiu.run_job")(self.execute)
        self._consumer: InProcessConsumer | None = None
        self._recovery: Recovery | None = None
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
        now = time.time()
        with session_scope(self.factory) as db:
            claimed = db.execute(
                update(JobRecord)
                .where(JobRecord.id == job_id, JobRecord.status == JobStatus.QUEUED)
                .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now,
                        attempts=func.coalesce(JobRecord.attempts, 0) + 1)
            ).rowcount  # type: ignore[attr-defined]  # fmt: skip
            row = db.get(JobRecord, job_id) if claimed else None
            if row is not None:
                db.refresh(row)
            handler, params = (row.handler, dict(row.params or {})) if row else ("", {})
            attempt = row.attempts if row else 0
        if not claimed:
            return  # already run (or running) elsewhere: a job runs once
        progress = DbProgress(self.factory, job_id, attempt=attempt, heartbeat=self.heartbeat)
        try:
            result = HANDLERS[handler](self.context, progress, params)
        except Exception as exc:  # the job failed; the page says why, the log has the trace
            log.error("job %s (%s) failed:\n%s", job_id, handler, traceback.format_exc())
            progress.finish(status=JobStatus.FAILED, error=str(exc) or type(exc).__name__,
                            finished_at=time.time())  # fmt: skip
            return
        progress.finish(status=JobStatus.DONE, result=result or "", finished_at=time.time())

    # -- jobs whose worker died

    def recover_stale(self, now: float | None = None) -> builtins.list[Job]:
        """Fail, or queue again (re-runnable kinds, up to :data:`MAX_ATTEMPTS` starts), every
        running job whose heartbeat is older than ``stale_after``; returns them as they are
        now. Safe to run in every consumer at once: each change is a conditional UPDATE."""
        now = time.time() if now is None else now
        cutoff = now - self.stale_after
        last_sign = func.coalesce(
            JobRecord.heartbeat_at, JobRecord.started_at, JobRecord.created_at
        )
        with session_scope(self.factory) as db:
            stale = db.execute(
                select(JobRecord.id, JobRecord.handler, JobRecord.attempts)
                .where(JobRecord.status == JobStatus.RUNNING, last_sign < cutoff)
            ).all()  # fmt: skip
        recovered: list[int] = []
        requeue: list[int] = []
        for job_id, handler, attempts in stale:
            attempts = int(attempts or 0)
            again = handler in RERUNNABLE and attempts < MAX_ATTEMPTS
            if again:
                values: dict[str, Any] = {
                    "status": JobStatus.QUEUED,
                    "message": CRASH_REQUEUED.format(attempt=attempts + 1),
                }
            else:
                minutes = max(1, round(self.stale_after / 60))
                values = {"status": JobStatus.FAILED, "finished_at": now,
                          "error": CRASH_FAILED.format(minutes=minutes)}  # fmt: skip
            with session_scope(self.factory) as db:
                changed = db.execute(
                    update(JobRecord)
                    .where(JobRecord.id == job_id, JobRecord.status == JobStatus.RUNNING,
                           JobRecord.attempts == attempts, last_sign < cutoff)
                    .values(**values)
                ).rowcount  # type: ignore[attr-defined]  # fmt: skip
            if changed:
                recovered.append(job_id)
                if again:
                    requeue.append(job_id)
                log.warning("job %s (%s) lost its worker: %s", job_id, handler,
                            "queued again" if again else "failed")  # fmt: skip
        for job_id in requeue:
            self._run(job_id)
        return [job for job_id in recovered if (job := self.get(job_id)) is not None]

    def start_recovery(self, every: float = RECOVER_EVERY_SECONDS) -> None:
        """Recover stale jobs now and every ``every`` seconds, on a thread (every consumer
        runs one: the in-process consumer and ``yanxiu worker``)."""
        with self._lock:
            if self._recovery is None:
                self._recovery = Recovery(self, every)
                self._recovery.start()

    def stop_recovery(self) -> None:
        with self._lock:
            recovery, self._recovery = self._recovery, None
        if recovery is not None:
            recovery.stop()

    def start_consumer(self) -> None:
        """Run jobs on a thread of this process (``yanxiu serve`` without a separate worker);
        each start needs a :meth:`stop_consumer` (several test clients share one app)."""
        with self._lock:
            self._users += 1
            first = self._consumer is None
            if first:
                self._consumer = InProcessConsumer(self.huey)
                self._consumer.start()
        if first:
            self.start_recovery()

    def stop_consumer(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            consumer, self._consumer = (
                (self._consumer, None) if not self._users else (None, self._consumer)
            )
        if consumer is not None:
            self.stop_recovery()
            consumer.stop()


class Recovery(threading.Thread):
    """Looks for jobs whose worker died, at start and then every ``every`` seconds."""

    def __init__(self, queue: JobQueue, every: float) -> None:
        super().__init__(name="yanxiu-jobs-recovery", daemon=True)
        self.queue, self.every = queue, every
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            try:
                self.queue.recover_stale()
            except Exception:  # the database unreachable for a moment: try next time
                log.exception("job queue: cannot look for stale jobs")
            if self._stop_event.wait(self.every):
                return

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self.join(timeout)


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
