"""The background job registry: progress, results, failures, ownership listing."""

from __future__ import annotations

import threading

from yanxiu.jobs import JobRegistry, JobStatus


def test_job_reports_progress_then_result():
    registry = JobRegistry()
    release = threading.Event()

    def work(progress):
        progress.set_total(4)
        for i in range(4):
            progress.advance(1, f"第 {i + 1} 条")
            if i == 1:
                release.wait(5)
        return "完成 4 条"

    job = registry.submit("score", "批量评分", work, owner_id=7)
    # it runs in the background: the submitter returns before the work is done
    for _ in range(200):
        if registry.get(job.id).done == 2:
            break
        threading.Event().wait(0.01)
    running = registry.get(job.id)
    assert running.status == JobStatus.RUNNING and running.fraction == 0.5
    assert running.message == "第 2 条"
    release.set()
    finished = registry.wait(job.id)
    assert finished.status == JobStatus.DONE and finished.result == "完成 4 条"
    assert finished.fraction == 1.0 and finished.finished is not None
    registry.shutdown()


def test_failed_job_keeps_the_error_and_later_jobs_still_run():
    registry = JobRegistry()

    def boom(progress):
        raise ValueError("第 3 行：学时必须为正数")

    failed = registry.wait(registry.submit("import", "导入", boom, owner_id=1).id)
    assert failed.status == JobStatus.FAILED and "第 3 行" in failed.error
    ok = registry.wait(registry.submit("import", "导入", lambda p: "好", owner_id=2).id)
    assert ok.status == JobStatus.DONE
    assert [j.id for j in registry.list(owner_id=2)] == [ok.id]
    assert [j.id for j in registry.list()] == [ok.id, failed.id]  # newest first
    registry.shutdown()
