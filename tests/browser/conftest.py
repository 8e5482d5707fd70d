"""Browser fixtures: the seeded demo served by uvicorn in a subprocess, driven by Chromium.

The server is real (its own process, loopback port, SQLite file seeded once per session); the
browser is Debian's Chromium (``/usr/bin/chromium``) through Playwright — never
``playwright install``. Every page opened through :func:`open_as` is watched: a console error,
an uncaught exception or a request to anything but the loopback server fails the test.

Screenshots go to ``$YANXIU_SCREENSHOTS`` (default ``var/screenshots``) at 1280×800;
``make screenshots`` copies the README's set into ``docs/screenshots``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, expect

from tests.conftest import copy_sqlite
from yanxiu.config import PROJECT_ROOT
from yanxiu.lab.load_bench import LiveServer, start_server

CHROMIUM = Path(os.environ.get("YANXIU_CHROMIUM", "/usr/bin/chromium"))
# a study journey starts a course's audio from the script (no click on the player's controls)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--autoplay-policy=no-user-gesture-required"]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 800}
# generous: the suite must pass on a loaded two-core CI machine too
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)
PASSWORD = "yanxiu2026"


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("YANXIU_SCREENSHOTS") or PROJECT_ROOT / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def live_server(
    demo_db_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A copy of the session's seeded demo, served by uvicorn in a subprocess."""
    folder = tmp_path_factory.mktemp("browser-site")
    db_file = folder / "yanxiu.db"
    copy_sqlite(demo_db_file, db_file)
    server = start_server(folder, db_file, embed_backend="lexical")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():  # a failure that says what to do, never a silent skip
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/system-deps.sh` "
                    "(apt-get install chromium fonts-noto-cjk)")  # fmt: skip
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What a page did that a finished product must not do."""

    base: str
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} @ {message.location.get('url', '')}")

    def on_page_error(self, error: object) -> None:
        self.console_errors.append(f"uncaught: {error}")

    def on_request(self, request: Request) -> None:
        url = request.url
        parts = urlsplit(url)
        # the browser's own resources (its built-in PDF viewer is an extension) never leave it
        if parts.scheme in ("data", "blob", "about", "chrome", "chrome-extension"):
            return
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            self.foreign_requests.append(url)


# Console errors the browser prints for answers the journey asks for on purpose (a 4xx page
# shown to the user is a product decision, not a script error).
EXPECTED_CONSOLE = ("Failed to load resource: the server responded with a status of 4",)


@dataclass
class Browsing:
    """Opens watched, logged-in pages against the live server; checks them at teardown."""

    server: LiveServer
    browser: Browser
    watches: list[Watch] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    def open_as(self, username: str | None, *, viewport: dict[str, int] | None = None) -> Page:
        """A new browser context (own cookies) with one page, logged in through the form."""
        context = self.browser.new_context(
            base_url=self.server.url, viewport=viewport or VIEWPORT, locale="zh-CN",
            timezone_id="Asia/Shanghai", accept_downloads=True,
        )  # fmt: skip
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        watch = Watch(self.server.url)
        page.on("console", watch.on_console)
        page.on("pageerror", watch.on_page_error)
        context.on("request", watch.on_request)
        self.watches.append(watch)
        if username is not None:
            login(page, username)
        return page

    def check(self) -> None:
        errors = [
            e for w in self.watches for e in w.console_errors if not e.startswith(EXPECTED_CONSOLE)
        ]
        foreign = [u for w in self.watches for u in w.foreign_requests]
        assert not foreign, f"requests left the server (offline product): {foreign}"
        assert not errors, f"console errors: {errors}"

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in through the real form, as a person would: type, press the button."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def browsing(live_server: LiveServer, browser: Browser) -> Iterator[Browsing]:
    session = Browsing(live_server, browser)
    yield session
    try:
        session.check()
    finally:
        session.close()


@pytest.fixture(scope="session")
def shot() -> Callable[[Page, str], Path]:
    """``shot(page, "teacher-dashboard")`` saves a 1280×800 PNG of what the user sees."""
    folder = screenshot_dir()

    def take(page: Page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


def publish_programme_now(
    page: Page, *, title: str, description: str, category: str, session: str, place: str,
    hours: int, capacity: int,
) -> None:  # fmt: skip
    """As a trainer: create a programme with one offline session under way now (from five
    minutes ago for three hours, so its check-in code is valid) and publish it."""
    from datetime import timedelta

    from yanxiu.programs.clock import wall_now

    now = wall_now().replace(second=0, microsecond=0)
    start, end = now - timedelta(minutes=5), now + timedelta(hours=3)
    page.goto("/trainer/programs")
    page.get_by_role("link", name="新建项目").click()
    page.get_by_label("项目名称").fill(title)
    page.get_by_label("项目简介").fill(description)
    page.get_by_label("培训类别").select_option(category)
    page.get_by_label("开始日期").fill((now.date() - timedelta(days=1)).isoformat())
    page.get_by_label("结束日期").fill((now.date() + timedelta(days=60)).isoformat())
    page.get_by_role("button", name="保存为草稿").click()
    expect(page.get_by_text("已创建（草稿）")).to_be_visible()
    page.get_by_label("活动名称").fill(session)
    page.get_by_label("地点").fill(place)
    page.get_by_label("开始时间（北京时间）").fill(f"{start:%Y-%m-%dT%H:%M}")
    page.get_by_label("结束时间").fill(f"{end:%Y-%m-%dT%H:%M}")
    page.get_by_label("学时", exact=True).fill(str(hours))
    page.get_by_label("名额（留空不限）").fill(str(capacity))
    page.get_by_role("button", name="添加活动").click()
    expect(page.get_by_text(f"已添加线下活动「{session}」")).to_be_visible()
    page.get_by_role("button", name="发布并开放报名").click()
    expect(page.locator("#program-status")).to_have_text("报名中")
