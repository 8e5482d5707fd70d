"""Accounts and security: login/logout, session cookies, CSRF, throttling, authorisation."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import Depends, Request
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import PASSWORD, make_school, make_teacher, password_hash
from tests.web.helpers import form_token, login
from yanxiu.accounts.models import Region, RegionLevel, Role, User
from yanxiu.accounts.service import create_user
from yanxiu.app import create_app
from yanxiu.audit.models import AuditEntry
from yanxiu.config import Settings
from yanxiu.web.auth import AuthUser, current_user, require_role, safe_next
from yanxiu.web.security import COOKIE_NAME, csrf_for

T0 = 1_800_000_000.0
ADMIN_ONLY = require_role(Role.ADMIN)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class World:
    teacher: str
    teacher_id: int
    other: str
    other_id: int
    trainer: str
    outsider: str
    host: str


def _seed(db) -> World:
    with db.factory() as s:
        city = Region(code="CITY1", name="测试市", level=RegionLevel.CITY)
        s.add(city)
        s.flush()
        school = make_school(s)
        school.county.parent_id = city.id
        teacher = make_teacher(s, school=school)
        other = make_teacher(s)  # another county, outside the city

        def staff(name: str, role: Role, region_id: int | None) -> User:
            return create_user(s, username=name, display_name=name, role=role,
                               password_hash=password_hash(), region_id=region_id, school_id=None)  # fmt: skip

        staff("trainer.city", Role.TRAINER, city.id)
        staff("trainer.far", Role.TRAINER, other.region_id)
        staff("host.one", Role.HOST, city.id)
        s.commit()
        return World(teacher.username, teacher.id, other.username, other.id,
                     "trainer.city", "trainer.far", "host.one")  # fmt: skip


def _add_test_routes(app) -> None:
    """A protected HTML page, an authenticated API call and two POST echoes for CSRF tests."""

    @app.get("/private")
    def private(user: AuthUser = Depends(current_user)) -> dict[str, str]:
        return {"user": user.username}

    @app.get("/api/v1/test-whoami")
    def whoami(user: AuthUser = Depends(current_user)) -> dict[str, str]:
        return {"user": user.username, "role": user.role.value}

    @app.get("/admin-only")
    def admin_only(user: AuthUser = Depends(ADMIN_ONLY)) -> dict[str, str]:
        return {"user": user.username}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, object]:
        form = await request.form()
        out = {k: (v if isinstance(v, str) else (await v.read()).decode()) for k, v in form.items()}
        return {"form": out}

    @app.post("/api/v1/test-echo")
    async def api_echo(request: Request) -> dict[str, object]:
        return {"json": await request.json()}


@pytest.fixture
def env(db, settings_for):
    world = _seed(db)

    def build(settings: Settings | None = None):
        app = create_app(settings or settings_for(db.url, embed_backend="lexical"))
        _add_test_routes(app)
        clock = Clock()
        app.state.auth.clock = clock
        return app, clock

    return world, build


def _session_csrf(client: TestClient) -> str:
    from itsdangerous import URLSafeSerializer

    app = client.app
    secret = app.state.services.settings.secret_key.get_secret_value()
    sid = URLSafeSerializer(secret, salt="yanxiu.session").loads(client.cookies[COOKIE_NAME])["sid"]
    return csrf_for(secret, sid)


def _audit(db, action: str) -> list[AuditEntry]:
    with db.factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# -- login and logout


def test_login_page_is_accessible_chinese_and_carries_a_token(env):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    page = client.get("/login")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert '<label for="username">用户名</label>' in page.text and 'id="username"' in page.text
    assert '<label for="password">密码</label>' in page.text and 'type="password"' in page.text
    assert form_token(page.text) and COOKIE_NAME in page.headers["set-cookie"]
    assert "/login" not in client.get("/api/v1/openapi.json").json()["paths"]


def test_login_success_sets_a_safe_cookie_rotates_the_session_and_audits(env, db):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    client.get("/login")
    before = client.cookies[COOKIE_NAME]
    before_token = _session_csrf(client)
    response = login(client, world.teacher, next="/private?x=1")
    assert response.status_code == 303 and response.headers["location"] == "/private?x=1"
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE_NAME}=" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # not in production
    assert client.cookies[COOKIE_NAME] != before and _session_csrf(client) != before_token
    assert client.get("/private?x=1").json() == {"user": world.teacher}
    assert client.get("/api/v1/test-whoami").json()["role"] == "teacher"
    entries = _audit(db, "auth.login")
    assert len(entries) == 1 and entries[0].actor_id == world.teacher_id
    # the pre-login cookie (a planted one, say) does not carry the login
    stale = TestClient(app, cookies={COOKIE_NAME: before})
    assert stale.get("/api/v1/test-whoami").status_code == 401
    # logged in already: the login page sends you on
    assert (
        client.get("/login?next=/private", follow_redirects=False).headers["location"] == "/private"
    )


def test_cookie_is_secure_in_production(env, db, tmp_path):
    _, build = env
    settings = Settings(env="production", database_url=db.url, data_dir=tmp_path / "var",
                        secret_key="s" * 48, demo_password="another-demo-pass",
                        embed_backend="lexical", _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    app, _ = build(settings)
    cookie = TestClient(app, base_url="https://testserver").get("/login").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_and_unknown_user_get_the_same_message_and_are_audited(env, db):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    wrong = login(client, world.teacher, password="not-the-password")
    unknown = login(client, "nobody-here", password="whatever123")
    for response in (wrong, unknown):
        assert response.status_code == 401 and "用户名或密码错误" in response.text
        assert 'role="alert"' in response.text
    assert client.get("/api/v1/test-whoami").status_code == 401
    reasons = sorted(e.detail["reason"] for e in _audit(db, "auth.login_failed"))
    assert reasons == ["bad_password", "unknown_user"]


def test_a_deactivated_user_cannot_log_in_and_is_logged_out_on_next_request(env, db):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    assert login(client, world.teacher).status_code == 303
    assert client.get("/api/v1/test-whoami").status_code == 200
    with db.factory() as s:
        s.get(User, world.teacher_id).is_active = False
        s.commit()
    assert client.get("/api/v1/test-whoami").status_code == 401
    assert login(client, world.teacher).status_code == 401


def test_logout_ends_the_session_even_for_a_copied_cookie(env, db):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    login(client, world.teacher)
    copied = client.cookies[COOKIE_NAME]
    response = client.post(
        "/logout", data={"csrf_token": _session_csrf(client)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert client.get("/api/v1/test-whoami").status_code == 401
    replay = TestClient(app, cookies={COOKIE_NAME: copied})
    assert replay.get("/api/v1/test-whoami").status_code == 401
    assert [e.actor_id for e in _audit(db, "auth.logout")] == [world.teacher_id]


def test_logout_needs_a_csrf_token(env):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    login(client, world.teacher)
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/api/v1/test-whoami").status_code == 200


# -- timeouts


def test_idle_timeout(env, db, settings_for):
    world, build = env
    app, clock = build(settings_for(db.url, embed_backend="lexical", session_idle_minutes=10))
    client = TestClient(app)
    login(client, world.teacher)
    for _ in range(3):  # activity keeps the session alive past the idle limit in total
        clock.advance(9 * 60)
        assert client.get("/api/v1/test-whoami").status_code == 200
    clock.advance(10 * 60 + 1)
    assert client.get("/api/v1/test-whoami").status_code == 401
    clock.advance(1)
    assert client.get("/api/v1/test-whoami").status_code == 401  # the cookie was cleared


def test_absolute_timeout(env, db, settings_for):
    world, build = env
    app, clock = build(
        settings_for(db.url, embed_backend="lexical", session_idle_minutes=30, session_max_hours=1)
    )
    client = TestClient(app)
    login(client, world.teacher)
    for _ in range(3):
        clock.advance(20 * 60 - 1)
        assert client.get("/api/v1/test-whoami").status_code == 200
    clock.advance(20 * 60 + 10)  # active all along, but an hour since login
    assert client.get("/api/v1/test-whoami").status_code == 401


# -- throttling


def test_username_throttle_kicks_in_resets_on_success_and_expires(env):
    world, build = env
    app, clock = build()
    client = TestClient(app)
    for _ in range(4):
        assert login(client, world.teacher, password="wrong-password").status_code == 401
    assert login(client, world.teacher).status_code == 303  # success clears the count
    client.post("/logout", data={"csrf_token": _session_csrf(client)})
    for _ in range(4):
        assert login(client, world.teacher, password="wrong-password").status_code == 401
    assert login(client, world.teacher).status_code == 303  # still only 4 since the reset
    client.post("/logout", data={"csrf_token": _session_csrf(client)})
    for _ in range(5):
        login(client, world.teacher, password="wrong-password")
    refused = login(client, world.teacher)  # right password, but locked
    assert refused.status_code == 429 and "15 分钟后再试" in refused.text
    assert login(client, world.other).status_code == 303  # other usernames are unaffected
    client.post("/logout", data={"csrf_token": _session_csrf(client)})
    clock.advance(15 * 60 - 5)
    assert login(client, world.teacher).status_code == 429
    clock.advance(10)
    assert login(client, world.teacher).status_code == 303


def test_one_address_is_not_locked_out_only_its_guessed_username(env, db):
    """A school behind one NAT address: one teacher's failures lock her name from there,
    not her colleagues; guessing names writes one audit row per window, not one per guess."""
    world, build = env
    app, clock = build()
    school = TestClient(app, client=("10.0.0.1", 5000))
    for i in range(30):
        assert login(school, f"guess{i}", password="wrong-password").status_code == 401
    for _ in range(5):
        assert login(school, world.teacher, password="wrong-password").status_code == 401
    refused = login(school, world.teacher)
    assert refused.status_code == 429 and "登录失败次数过多" in refused.text
    for _ in range(10):
        assert login(school, world.teacher).status_code == 429
    colleague = TestClient(app, client=("10.0.0.1", 5001))
    assert login(colleague, world.other).status_code == 303  # the same address, another name
    home = TestClient(app, client=("192.0.2.7", 5000))
    assert login(home, world.teacher).status_code == 303  # her name, from elsewhere
    failed = _audit(db, "auth.login_failed")
    unknown = [e for e in failed if e.detail["reason"] == "unknown_user"]
    assert len(unknown) == 1 and unknown[0].detail["aggregated"] is True
    assert len([e for e in failed if e.detail["reason"] == "throttled"]) == 1  # of 11 refusals
    assert [e.detail["username"] for e in _audit(db, "auth.lockout")] == [world.teacher]
    clock.advance(15 * 60 + 1)
    login(school, "guess-again", password="wrong-password")  # a new window: one more row
    assert (
        len([e for e in _audit(db, "auth.login_failed") if e.detail["reason"] == "unknown_user"])
        == 2
    )
    assert login(school, world.teacher).status_code == 303


def test_a_username_guessed_from_many_addresses_is_locked(env):
    world, build = env
    app, _ = build()
    for i in range(20):
        guesser = TestClient(app, client=(f"198.51.100.{i}", 5000))
        assert login(guesser, world.teacher, password="wrong-password").status_code == 401
    assert login(TestClient(app, client=("203.0.113.9", 5000)), world.teacher).status_code == 429


def test_failures_outside_the_window_do_not_add_up(env):
    world, build = env
    app, clock = build()
    client = TestClient(app)
    for _ in range(4):
        login(client, world.teacher, password="wrong-password")
    clock.advance(15 * 60 + 1)
    for _ in range(4):
        login(client, world.teacher, password="wrong-password")
    assert login(client, world.teacher).status_code == 303


# -- CSRF


def test_csrf_on_form_posts(env):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    login(client, world.teacher)
    token = _session_csrf(client)
    missing = client.post("/echo", data={"a": "1"})
    assert missing.status_code == 403 and "CSRF" in missing.text and "请刷新页面" in missing.text
    assert client.post("/echo", data={"a": "1", "csrf_token": "forged"}).status_code == 403
    good = client.post("/echo", data={"a": "中文", "csrf_token": token})
    assert good.status_code == 200 and good.json()["form"]["a"] == "中文"  # body replayed intact
    upload = client.post(
        "/echo",
        data={"csrf_token": token},
        files={"f": ("t.txt", "课堂实录".encode(), "text/plain")},
    )
    assert upload.status_code == 200 and upload.json()["form"]["f"] == "课堂实录"


def test_csrf_for_htmx_header_and_json_api(env):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    login(client, world.teacher)
    token = _session_csrf(client)
    hx = {"HX-Request": "true"}
    assert client.post("/echo", headers=hx, data={"a": "1"}).status_code == 403
    bad = client.post("/echo", headers={**hx, "X-CSRF-Token": "forged"}, data={"a": "1"})
    assert bad.status_code == 403
    ok = client.post("/echo", headers={**hx, "X-CSRF-Token": token}, data={"a": "1"})
    assert ok.status_code == 200 and ok.json()["form"]["a"] == "1"
    api = client.post("/api/v1/test-echo", json={"x": 1})
    assert api.status_code == 403 and "CSRF" in api.json()["detail"]
    api_ok = client.post("/api/v1/test-echo", json={"x": 1}, headers={"X-CSRF-Token": token})
    assert api_ok.json() == {"json": {"x": 1}}
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/test-echo").status_code == 403
    assert client.get("/api/v1/test-whoami").status_code == 200  # GETs need no token


def test_a_token_from_another_session_is_refused(env):
    world, build = env
    app, _ = build()
    alice, mallory = TestClient(app), TestClient(app)
    login(alice, world.teacher)
    mallory.get("/login")
    assert alice.post("/echo", data={"csrf_token": _session_csrf(mallory)}).status_code == 403
    # no session at all: no token can match
    assert TestClient(app).post("/echo", data={"csrf_token": "x"}).status_code == 403


def test_login_itself_needs_the_token(env):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    client.get("/login")
    response = client.post("/login", data={"username": world.teacher, "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/api/v1/test-whoami").status_code == 401


# -- redirects and the next parameter


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/private?x=1", "/private?x=1"),
        ("/", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("private", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_open_redirect_is_refused(env):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    page = client.get("/login", params={"next": "https://evil.example/"})
    assert 'name="next" value="/"' in page.text
    response = login(client, world.teacher, next="https://evil.example/")
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_unauthenticated_html_redirects_and_api_answers_401(env):
    world, build = env
    app, _ = build()
    client = TestClient(app)
    page = client.get("/private?x=1", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fprivate%3Fx%3D1"
    hx = client.get("/private", headers={"HX-Request": "true"}, follow_redirects=False)
    assert hx.status_code == 401 and hx.headers["HX-Redirect"].startswith("/login?next=")
    api = client.get("/api/v1/test-whoami")
    assert api.status_code == 401 and "请先登录" in api.json()["detail"]
    login(client, world.teacher, next="/private")
    assert client.get("/admin-only").status_code == 403


# -- the teacher path endpoint and public routes


def test_path_endpoint_authorisation(env):
    world, build = env
    app, _ = build()
    path = "/api/v1/teachers/{}/path?today=2026-11-20"
    with TestClient(app) as anonymous:
        assert anonymous.get(path.format(world.teacher)).status_code == 401
        assert anonymous.get("/api/v1/health").status_code == 200
        assert anonymous.get("/").status_code == 200
        assert anonymous.get("/api/v1/search", params={"q": "课堂"}).status_code == 401

    def as_user(username: str) -> TestClient:
        client = TestClient(app)
        assert login(client, username).status_code == 303
        return client

    with TestClient(app):  # runs the lifespan (search and recommender, lexical: no model)
        teacher = as_user(world.teacher)
        own = teacher.get(path.format(world.teacher))
        assert own.status_code == 200 and own.json()["teacher_id"] == world.teacher_id
        assert teacher.get(path.format(world.teacher_id)).status_code == 200
        assert teacher.get(path.format(world.other)).status_code == 403
        assert teacher.get(path.format("nobody")).status_code == 403  # no enumeration
        trainer = as_user(world.trainer)  # region: the city above the teacher's county
        assert trainer.get(path.format(world.teacher)).status_code == 200
        assert trainer.get(path.format(world.other)).status_code == 403
        assert trainer.get(path.format("nobody")).status_code == 404
        outsider = as_user(world.outsider)
        assert outsider.get(path.format(world.teacher)).status_code == 403
        assert outsider.get(path.format(world.other)).status_code == 200
        assert as_user(world.host).get(path.format(world.teacher)).status_code == 403


def test_template_helpers_render_the_session_token():
    from types import SimpleNamespace

    from yanxiu.web.security import SessionData, csrf_hx_headers, csrf_input

    request = SimpleNamespace(state=SimpleNamespace(session=SessionData()))
    field = str(csrf_input(request))  # type: ignore[arg-type]
    token = request.state.session.csrf_token()
    assert field == f'<input type="hidden" name="csrf_token" value="{token}">'
    assert request.state.session.dirty  # a new token means the cookie gets written
    assert str(csrf_hx_headers(request)) == f"{{&#34;X-CSRF-Token&#34;: &#34;{token}&#34;}}"  # type: ignore[arg-type]
