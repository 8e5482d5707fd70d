"""Two `yanxiu serve` processes on one PostgreSQL database and one Redis server agree on a
logout, a lock-out and a background job (issue 19: state shared across workers).

Server A runs jobs on its own thread; server B is started with ``--workers 2`` and
``YANXIU_JOBS_CONSUMER=separate`` (it only queues), so a job queued on B is run by A and read
on either.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL, Database
from tests.factories import PASSWORD, make_school, make_teacher, password_hash
from tests.web.helpers import form_token
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.config import PROJECT_ROOT

REDIS_URL = os.environ.get("YANXIU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="needs YANXIU_TEST_DATABASE_URL (PostgreSQL)"),
]


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL).ping())
    except redis.exceptions.ConnectionError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _start(folder: Path, env: dict[str, str], *args: str) -> Server:
    port = _free_port()
    log = folder / f"server-{port}.log"
    command = [sys.executable, "-m", "yanxiu.cli", "serve", "--port", str(port), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"server not ready:\n{log.read_text()[-3000:]}")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server, dict[str, str]]]:
    if not _redis_up():
        pytest.skip(f"no Redis server at {REDIS_URL}")
    db = Database("postgresql", tmp_path).migrate()
    with db.factory() as s:
        school = make_school(s)
        teacher = make_teacher(s, school=school)
        create_user(s, username="trainer.two", display_name="培训者", role=Role.TRAINER,
                    password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
        s.commit()
        users = {"teacher": teacher.username, "trainer": "trainer.two"}
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT / "platform"),
        "YANXIU_ENV": "test",
        "YANXIU_DATABASE_URL": db.url,
        "YANXIU_REDIS_URL": REDIS_URL,
        "YANXIU_SECRET_KEY": "two-servers-test-secret-" + "x" * 32,
        "YANXIU_DATA_DIR": str(tmp_path / "var"),
        "YANXIU_EMBED_BACKEND": "lexical",
        "YANXIU_LOG_LEVEL": "warning",
        "OMP_NUM_THREADS": "1",
    }
    started: list[Server] = []
    try:
        started.append(_start(tmp_path, env))
        separate = {**env, "YANXIU_JOBS_CONSUMER": "separate"}
        started.append(_start(tmp_path, separate, "--workers", "2"))
        yield started[0], started[1], users
    finally:
        for server in started:
            server.stop()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        site = hashlib.sha256(db.url.encode()).hexdigest()[:12]  # this database's keys only
        for pattern in (f"*yanxiu-jobs-{site}*", f"yanxiu:throttle:{site}:*"):
            for key in client.scan_iter(pattern):
                client.delete(key)
        db.drop()


def _login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    token = form_token(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, "next": "/"})  # fmt: skip


def test_a_logout_a_lock_out_and_a_job_are_seen_by_both_servers(servers):
    a, b, users = servers
    with httpx.Client(base_url=a.url) as on_a, httpx.Client(base_url=b.url) as on_b:
        # a logout on A ends the session B was also serving
        assert _login(on_a, users["trainer"]).status_code == 303
        on_b.cookies.update(on_a.cookies)
        assert on_b.get("/api/v1/review/queue").status_code == 200
        token = form_token(on_a.get("/jobs").text)
        assert on_a.post("/logout", data={"csrf_token": token}).status_code == 303
        assert on_b.get("/api/v1/review/queue").status_code == 401
        # a lock-out on A holds on B
        with httpx.Client(base_url=a.url) as guesser:
            for _ in range(5):
                assert _login(guesser, users["teacher"], "wrong-password").status_code == 401
        with httpx.Client(base_url=b.url) as fresh:
            assert _login(fresh, users["teacher"]).status_code == 429
        # a job queued on B (which runs none) is run by A and read the same on both
        with httpx.Client(base_url=b.url) as trainer_b:
            assert _login(trainer_b, users["trainer"]).status_code == 303
            token = form_token(trainer_b.get("/jobs").text)
            started = trainer_b.post("/api/v1/review/rescore", headers={"X-CSRF-Token": token})
            assert started.status_code == 202
            job_id = started.json()["job_id"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job = trainer_b.get(f"/api/v1/jobs/{job_id}").json()
                if job["status"] in ("done", "failed"):
                    break
                time.sleep(0.3)
            assert job["status"] == "done" and "没有待审核的记录" in job["result"]
            with httpx.Client(base_url=a.url) as trainer_a:
                _login(trainer_a, users["trainer"])
                assert trainer_a.get(f"/api/v1/jobs/{job_id}").json() == job
