"""Background jobs pages: the progress fragment polls until done; only the owner or an admin
whose region contains the owner sees a job."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select

from tests.web.helpers import login
from yanxiu.accounts.models import User
from yanxiu.jobs import job_handler

RELEASE, STARTED = threading.Event(), threading.Event()


@job_handler("test.pages.batches")
def _batches(context: Any, progress: Any, params: dict[str, Any]) -> str:
    progress.set_total(4)
    progress.advance(1, "正在处理第 1 批")
    STARTED.set()
    RELEASE.wait(10)
    progress.advance(3, "收尾")
    return "处理完成：共 4 批"


@job_handler("test.pages.broken")
def _broken(context: Any, progress: Any, params: dict[str, Any]) -> str:
    raise RuntimeError("索引文件损坏，请重新构建")


@job_handler("test.pages.quick")
def _quick(context: Any, progress: Any, params: dict[str, Any]) -> str:
    return "好了"


def uid(site, username: str) -> int:
    with site.factory() as s:
        return s.scalar(select(User.id).where(User.username == username))


def switch(client, site, username: str):
    """Log the same client in as someone else (cheaper than a new client and its start-up)."""
    assert login(client, username, site.password).status_code == 303
    return client


def test_progress_fragment_polls_every_second_until_done(demo_site):
    client = demo_site.client("trainer.linjiang")
    RELEASE.clear()
    STARTED.clear()
    jobs = demo_site.app.state.services.jobs
    job = jobs.submit("test.pages.batches", "批量评分：测试", kind="score",
                      owner_id=uid(demo_site, "trainer.linjiang"))  # fmt: skip
    assert STARTED.wait(10)
    for _ in range(100):  # progress reaches the database within half a second
        if jobs.get(job.id).done == 1:
            break
        threading.Event().wait(0.05)
    fragment = client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text  # just the fragment
    assert 'hx-trigger="every 1s"' in fragment.text and f'hx-get="/jobs/{job.id}"' in fragment.text
    assert 'aria-valuenow="25"' in fragment.text and "正在处理第 1 批" in fragment.text
    full = client.get(f"/jobs/{job.id}")
    assert "<html" in full.text and "批量评分：测试" in full.text and "every 1s" in full.text
    RELEASE.set()
    jobs.wait(job.id)
    done = client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"})
    assert "hx-trigger" not in done.text and "处理完成：共 4 批" in done.text
    assert 'aria-valuenow="100"' in done.text
    api = client.get(f"/api/v1/jobs/{job.id}").json()
    assert (
        api["status"] == "done" and api["fraction"] == 1.0 and api["result"] == "处理完成：共 4 批"
    )
    listing = client.get("/jobs")
    assert f'href="/jobs/{job.id}"' in listing.text


def test_failed_job_shows_its_error(demo_site):
    client = demo_site.client("admin")
    jobs = demo_site.app.state.services.jobs
    job = jobs.submit("test.pages.broken", "构建索引：测试", kind="index",
                      owner_id=uid(demo_site, "admin"))  # fmt: skip
    jobs.wait(job.id)
    page = client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"})
    assert (
        "任务未完成" in page.text and "索引文件损坏" in page.text and "hx-trigger" not in page.text
    )


def test_only_the_owner_or_an_admin_over_the_owner_sees_a_job(demo_site):
    client = demo_site.client()
    jobs = demo_site.app.state.services.jobs
    mine = jobs.submit("test.pages.quick", "批量评分：云岭", kind="score",
                       owner_id=uid(demo_site, "trainer.yunling"))  # fmt: skip
    jobs.wait(mine.id)
    assert client.get(f"/api/v1/jobs/{mine.id}").status_code == 401
    switch(client, demo_site, "trainer.baishi")
    assert client.get(f"/jobs/{mine.id}").status_code == 403
    assert client.get(f"/jobs/{mine.id}", headers={"HX-Request": "true"}).status_code == 403
    assert client.get(f"/api/v1/jobs/{mine.id}").status_code == 403
    assert f'href="/jobs/{mine.id}"' not in client.get("/jobs").text
    switch(client, demo_site, "trainer.yunling")
    assert client.get(f"/jobs/{mine.id}").status_code == 200
    switch(client, demo_site, "admin.baishi")  # a county admin: 云岭县 is not theirs
    assert client.get(f"/jobs/{mine.id}").status_code == 403
    assert f'href="/jobs/{mine.id}"' not in client.get("/jobs").text
    switch(client, demo_site, "admin")  # the city admin: every county below the city
    assert client.get(f"/jobs/{mine.id}").status_code == 200
    assert f'href="/jobs/{mine.id}"' in client.get("/jobs").text
    assert client.get("/jobs/999999").status_code == 404
    switch(client, demo_site, "t001")
    assert client.get("/jobs").status_code == 403


def test_job_times_are_shown_in_beijing_time() -> None:
    """Regression: job pages showed the server's clock (UTC) while every other page shows
    Beijing time, so a job started "now" looked eight hours old."""
    from yanxiu.web.routes.jobs import _time

    assert _time(3600.0) == "1970-01-01 09:00:00"
    assert _time(None) == ""
