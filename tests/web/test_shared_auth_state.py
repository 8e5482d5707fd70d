"""Sessions and lock-outs live in the database (or Redis), not in one process: a restart, or
another worker, sees a logout and a lock-out (issue 19). An app built anew on the same
database stands for the restarted (or the other) worker."""

from __future__ import annotations

import os
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.helpers import login
from tests.web.test_auth import _add_test_routes, _seed, _session_csrf
from yanxiu.accounts.auth_models import LoginSession
from yanxiu.accounts.models import User
from yanxiu.accounts.sessions import end_user_sessions
from yanxiu.accounts.throttle import LoginThrottle, RedisCounters
from yanxiu.app import create_app
from yanxiu.web.security import COOKIE_NAME

REDIS_URL = os.environ.get("YANXIU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def two_workers(db, settings_for):
    world = _seed(db)
    apps = []
    for _ in range(2):
        app = create_app(settings_for(db.url, embed_backend="lexical"))
        _add_test_routes(app)
        apps.append(app)
    return world, apps


def test_the_cookie_holds_only_a_random_id_and_the_database_its_hash(two_workers, db):
    world, (app, _) = two_workers
    client = TestClient(app)
    login(client, world.teacher)
    from itsdangerous import URLSafeSerializer

    secret = app.state.services.settings.secret_key.get_secret_value()
    payload = URLSafeSerializer(secret, salt="yanxiu.session").loads(client.cookies[COOKIE_NAME])
    assert set(payload) == {"sid"} and len(payload["sid"]) >= 40
    with db.factory() as s:
        (row,) = s.scalars(select(LoginSession))
        assert row.user_id == world.teacher_id and payload["sid"] not in row.id_hash


def test_a_logout_is_seen_by_the_other_worker_and_after_a_restart(two_workers):
    world, (first, second) = two_workers
    client = TestClient(first)
    login(client, world.teacher)
    copied = client.cookies[COOKIE_NAME]
    other = TestClient(second, cookies={COOKIE_NAME: copied})
    assert other.get("/api/v1/test-whoami").json()["user"] == world.teacher  # shared session
    client.post("/logout", data={"csrf_token": _session_csrf(client)})
    assert other.get("/api/v1/test-whoami").status_code == 401
    restarted = TestClient(first, cookies={COOKIE_NAME: copied})
    assert restarted.get("/api/v1/test-whoami").status_code == 401


def test_a_lock_out_is_seen_by_the_other_worker(two_workers):
    world, (first, second) = two_workers
    for _ in range(5):
        login(TestClient(first), world.teacher, password="wrong-password")
    assert login(TestClient(second), world.teacher).status_code == 429


def test_a_deactivated_users_sessions_stop_working_and_can_be_ended_at_once(two_workers, db):
    world, (app, _) = two_workers
    client = TestClient(app)
    login(client, world.teacher)
    with db.factory() as s:
        assert end_user_sessions(s, world.teacher_id) == 1
        s.commit()
    assert client.get("/api/v1/test-whoami").status_code == 401
    login(client, world.teacher)
    with db.factory() as s:
        s.get(User, world.teacher_id).is_active = False  # type: ignore[union-attr]
        s.commit()
    assert client.get("/api/v1/test-whoami").status_code == 401
    with db.factory() as s:  # the dead session's row is gone
        assert s.scalar(select(func.count(LoginSession.id_hash))) == 0


def _redis():  # type: ignore[no-untyped-def]
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server at YANXIU_TEST_REDIS_URL")
    return client


def test_redis_counters_lock_and_unlock_like_the_database():
    client = _redis()
    prefix = f"yanxiu-test:{uuid.uuid4().hex}:"
    now = [1_800_000_000.0]
    throttle = LoginThrottle(RedisCounters(client, prefix=prefix), lambda: now[0])
    try:
        for _ in range(4):
            assert throttle.record_failure("wang", "10.0.0.1") is False
        assert throttle.check("wang", "10.0.0.1").allowed
        assert throttle.record_failure("wang", "10.0.0.1") is True
        first, second = throttle.check("wang", "10.0.0.1"), throttle.check("wang", "10.0.0.1")
        assert not first.allowed and first.first_refusal and not second.first_refusal
        assert throttle.check("li", "10.0.0.1").allowed  # a colleague behind the same address
        assert throttle.check("wang", "10.0.0.2").allowed
        now[0] += 15 * 60 + 1
        assert throttle.check("wang", "10.0.0.1").allowed
        assert throttle.first_unknown_in_window("10.0.0.9")
        assert not throttle.first_unknown_in_window("10.0.0.9")
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_sessions_nobody_can_use_are_cleared_at_the_next_login(db, settings_for):
    world = _seed(db)
    app = create_app(settings_for(db.url, embed_backend="lexical", session_idle_minutes=10))
    _add_test_routes(app)
    now = [1_800_000_000.0]
    app.state.auth.clock = lambda: now[0]
    login(TestClient(app), world.teacher)
    login(TestClient(app), world.other)
    now[0] += 11 * 60  # both idle past the limit
    login(TestClient(app), world.teacher)
    with db.factory() as s:
        assert s.scalar(select(func.count(LoginSession.id_hash))) == 1
