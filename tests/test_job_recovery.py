"""Jobs whose worker died: a running job heartbeats; one silent for too long is failed with a
message (or queued again when its kind is re-runnable) by any consumer, and a re-run owns its
row (a zombie's late writes change nothing)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from sqlalchemy import update

import tests.crash_job_worker  # noqa: F401  (registers test.crash)
from yanxiu.config import PROJECT_ROOT
from yanxiu.db import session_scope
from yanxiu.jobqueue import STALE_AFTER_SECONDS, DbProgress, JobQueue, JobRecord
from yanxiu.jobs import JobStatus, job_handler

RERUNS: list[int] = []


@job_handler("test.rerunnable", rerunnable=True)
def _rerunnable(context: Any, progress: Any, params: dict[str, Any]) -> str:
    RERUNS.append(int(params["n"]))
    return "重算完成"


@job_handler("test.once")
def _once(context: Any, progress: Any, params: dict[str, Any]) -> str:
    return "完成"


def _orphan(queue: JobQueue, handler: str, *, silent_for: float, params: dict[str, Any]) -> int:
    """A job left "running" by a worker that died ``silent_for`` seconds after its last beat."""
    job = queue.submit(handler, "任务", owner_id=None, params=params)
    queue.huey.flush()  # its message was consumed by the worker that died
    then = time.time() - silent_for
    with session_scope(queue.factory) as db:
        db.execute(update(JobRecord).where(JobRecord.id == job.id).values(
            status=JobStatus.RUNNING, started_at=then - 5, heartbeat_at=then, attempts=1))  # fmt: skip
    return job.id


def test_a_job_silent_too_long_fails_with_a_message_and_a_live_one_is_left(db, settings_for):
    queue = JobQueue(settings_for(db.url), db.factory)
    dead = _orphan(queue, "test.once", silent_for=STALE_AFTER_SECONDS + 30, params={})
    alive = _orphan(queue, "test.once", silent_for=5, params={})

    recovered = queue.recover_stale()

    assert [job.id for job in recovered] == [dead]
    failed = queue.get(dead)
    assert failed is not None and failed.status == JobStatus.FAILED
    assert "后台进程意外退出" in failed.error and failed.finished is not None
    assert queue.get(alive).status == JobStatus.RUNNING  # type: ignore[union-attr]
    assert queue.recover_stale() == []  # once is enough


def test_a_rerunnable_job_is_queued_again_and_runs_once(db, settings_for):
    RERUNS.clear()
    queues = [JobQueue(settings_for(db.url), db.factory) for _ in range(2)]
    job_id = _orphan(queues[0], "test.rerunnable", silent_for=STALE_AFTER_SECONDS + 30,
                     params={"n": 4})  # fmt: skip
    for queue in queues:  # two consumers start, both look for stale jobs
        queue.recover_stale()
    requeued = queues[0].get(job_id)
    assert requeued is not None and requeued.status == JobStatus.QUEUED
    assert "重新排队" in requeued.message
    for queue in queues:
        queue.start_consumer()
    try:
        done = queues[1].wait(job_id)
        threading.Event().wait(0.3)
    finally:
        for queue in queues:
            queue.stop_consumer()
    assert done.status == JobStatus.DONE and done.attempts == 2 and RERUNS == [4]


def test_a_running_job_heartbeats_without_progress_and_a_zombie_cannot_write(db, settings_for):
    queue = JobQueue(settings_for(db.url), db.factory)
    job_id = _orphan(queue, "test.once", silent_for=100, params={})
    progress = DbProgress(db.factory, job_id, interval=0.02, attempt=1, heartbeat=0.05)
    try:
        for _ in range(200):
            beat = queue.get(job_id).heartbeat  # type: ignore[union-attr]
            if beat is not None and beat > time.time() - 50:
                break
            threading.Event().wait(0.02)
        assert beat is not None and beat > time.time() - 50  # it beat, with nothing to report
    finally:
        with session_scope(db.factory) as s:  # a re-run after a crash took the row over
            s.execute(update(JobRecord).where(JobRecord.id == job_id).values(attempts=2))
        progress.finish(status=JobStatus.DONE, result="僵尸进程的结果")
    assert queue.get(job_id).status == JobStatus.RUNNING  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_a_job_that_is_recovered_and_runs_once(
    db, settings_for, tmp_path
):
    settings = settings_for(db.url)
    queue = JobQueue(settings, db.factory)
    runs, marker = tmp_path / "runs.txt", tmp_path / "marker"
    job = queue.submit("test.crash", "会崩溃的任务", owner_id=None,
                       params={"runs": str(runs), "marker": str(marker)})  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{PROJECT_ROOT / 'platform'}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.crash_job_worker", db.url, str(settings.data_dir)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # running, past its first step, heartbeating
            seen = queue.get(job.id)
            if seen is not None and seen.status == JobStatus.RUNNING and seen.done == 1:
                break
            threading.Event().wait(0.1)
        assert seen is not None and seen.status == JobStatus.RUNNING and seen.done == 1
    finally:
        worker.send_signal(signal.SIGKILL)  # no cleanup: like a power cut
        worker.wait(30)
    assert queue.get(job.id).status == JobStatus.RUNNING  # type: ignore[union-attr]  # stuck

    # A consumer starting later (the clock moved past the stale limit) recovers it...
    recovered = queue.recover_stale(now=time.time() + STALE_AFTER_SECONDS + 1)
    assert [j.id for j in recovered] == [job.id] and recovered[0].status == JobStatus.QUEUED
    others = [queue, JobQueue(settings, db.factory)]
    for consumer in others:  # ...and of two consumers exactly one runs it, to the end
        consumer.start_consumer()
    try:
        done = queue.wait(job.id, timeout=60)
        threading.Event().wait(0.3)
    finally:
        for consumer in others:
            consumer.stop_consumer()
    assert done.status == JobStatus.DONE and done.result == "两步完成" and done.attempts == 2
    assert runs.read_text(encoding="utf-8").split() == ["start", "start", "done"]
