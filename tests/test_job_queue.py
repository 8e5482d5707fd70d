"""The job queue: progress and results in the database, failures kept, a job run once however
many consumers take it, queued jobs kept across a restart; SQLite queue and Redis queue."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from yanxiu.jobqueue import JobQueue
from yanxiu.jobs import JobStatus, job_handler

RELEASE = threading.Event()
RUNS: list[int] = []

REDIS_URL = os.environ.get("YANXIU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@job_handler("test.steps")
def _steps(context: Any, progress: Any, params: dict[str, Any]) -> str:
    progress.set_total(4)
    for i in range(4):
        progress.advance(1, f"第 {i + 1} 条")
        if i == 1:
            RELEASE.wait(10)
    return "完成 4 条"


@job_handler("test.boom")
def _boom(context: Any, progress: Any, params: dict[str, Any]) -> str:
    raise ValueError("第 3 行：学时必须为正数")


@job_handler("test.count")
def _count(context: Any, progress: Any, params: dict[str, Any]) -> str:
    RUNS.append(int(params["n"]))
    progress.set_detail({"n": params["n"]})
    return f"第 {params['n']} 号"


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def make_queue(request, db, settings_for):  # type: ignore[no-untyped-def]
    extra: dict[str, Any] = {}
    if request.param == "redis-queue":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.exceptions.ConnectionError:
            pytest.skip("no Redis server at YANXIU_TEST_REDIS_URL")
        extra["redis_url"] = REDIS_URL
    queues: list[JobQueue] = []

    def make() -> JobQueue:  # one per "process"
        queue = JobQueue(settings_for(db.url, **extra), db.factory)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        queue.stop_consumer() if queue._consumer is not None else None
    if extra:
        queues[0].huey.flush()


def test_progress_then_result_are_in_the_database(make_queue):
    queue = make_queue()
    queue.start_consumer()
    RELEASE.clear()
    job = queue.submit("test.steps", "批量评分", owner_id=None, kind="score")
    for _ in range(400):
        if (queue.get(job.id) or job).done == 2:
            break
        threading.Event().wait(0.025)
    running = make_queue().get(job.id)  # another process reads the same row
    assert running is not None and running.status == JobStatus.RUNNING
    assert running.fraction == 0.5 and running.message == "第 2 条" and running.kind == "score"
    RELEASE.set()
    finished = queue.wait(job.id)
    assert finished.status == JobStatus.DONE and finished.result == "完成 4 条"
    assert finished.fraction == 1.0 and finished.finished is not None


def test_a_failed_job_keeps_its_error_and_later_jobs_still_run(make_queue):
    queue = make_queue()
    queue.start_consumer()
    failed = queue.wait(queue.submit("test.boom", "导入", owner_id=None).id)
    assert failed.status == JobStatus.FAILED and "第 3 行" in failed.error
    ok = queue.wait(queue.submit("test.count", "导入", owner_id=None, params={"n": 1}).id)
    assert ok.status == JobStatus.DONE and ok.detail == {"n": 1}
    assert [j.id for j in queue.list()] == [ok.id, failed.id]  # newest first


def test_a_job_runs_once_however_many_consumers_and_deliveries(make_queue):
    RUNS.clear()
    consumers = [make_queue() for _ in range(3)]
    job = consumers[0].submit("test.count", "一次", owner_id=None, params={"n": 7})
    consumers[0]._run(job.id)  # the same job id queued twice
    for queue in consumers:
        queue.start_consumer()
    assert consumers[1].wait(job.id).status == JobStatus.DONE
    threading.Event().wait(0.5)  # let the second delivery be consumed
    consumers[2].execute(job.id)  # and a direct, late attempt
    assert RUNS == [7]


def test_a_queued_job_survives_a_restart(make_queue):
    RUNS.clear()
    before = make_queue()  # a server that queued the job and stopped before running it
    job = before.submit("test.count", "重启后", owner_id=None, params={"n": 3})
    assert before.get(job.id).status == JobStatus.QUEUED  # type: ignore[union-attr]
    after = make_queue()  # the restarted server
    after.start_consumer()
    assert after.wait(job.id).status == JobStatus.DONE and RUNS == [3]


def test_an_unknown_kind_is_refused_before_anything_is_queued(make_queue):
    with pytest.raises(KeyError):
        make_queue().submit("no.such.kind", "？", owner_id=None)


@pytest.mark.slow
def test_yanxiu_worker_runs_what_a_server_queued(tmp_path):
    """`yanxiu worker` (huey's consumer in its own process) runs a job queued elsewhere."""
    import subprocess
    import sys

    import yanxiu.services  # noqa: F401  (registers the product's job handlers)
    from yanxiu.config import PROJECT_ROOT, Settings
    from yanxiu.db import make_engine, make_session_factory, migrate

    url = f"sqlite:///{tmp_path / 'yanxiu.db'}"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "platform"), "YANXIU_ENV": "test",
           "YANXIU_DATABASE_URL": url, "YANXIU_DATA_DIR": str(tmp_path / "var"),
           "YANXIU_EMBED_BACKEND": "lexical", "YANXIU_LOG_LEVEL": "warning"}  # fmt: skip
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings = Settings(env="test", database_url=url, data_dir=tmp_path / "var", _env_file=None)  # type: ignore[call-arg]
    queue = JobQueue(settings, make_session_factory(engine))
    job = queue.submit("score", "重新评分", owner_id=None, params={"reviewer_id": 999})
    worker = subprocess.Popen([sys.executable, "-m", "yanxiu.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        done = queue.wait(job.id, timeout=120)
    finally:
        worker.terminate()
        worker.wait(30)
    assert done.status == JobStatus.DONE and "没有待审核的记录" in done.result
