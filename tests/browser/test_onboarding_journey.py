"""A centre starts from an EMPTY install and runs its first programme, in Chromium (issue 17).

``yanxiu init`` without the demo, ``yanxiu create-user`` for the first administrator; then in
the browser: the admin imports the county's schools and a roster of 520 teachers whose XLSX
has five bad rows (all reported by row and column, nothing written), fixes the file and
imports it; creates a trainer and a studio host (initial passwords shown once); the trainer
must change the password at first login, then creates a programme with an offline session
under way now; a teacher logs in with the roster's initial password, must change it,
registers, checks in with the trainer's code and finds the hours in the ledger; the admin
opens that teacher's ledger from the school page.

Screenshots (docs/screenshots via ``make screenshots``): onboard-roster-rejected,
onboard-roster-imported, onboard-account-created, onboard-password-change,
onboard-program, onboard-checkin, onboard-ledger, onboard-admin-teacher.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Browsing, login, publish_programme_now
from yanxiu.accounts.roster import TEMPLATE_HEADER
from yanxiu.lab.load_bench import LiveServer, start_server
from yanxiu.lab.roster_bench import synthetic_roster
from yanxiu.spreadsheet import xlsx_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shot = Callable[[Page, str], Path]
ADMIN, ADMIN_PASSWORD = "admin.nanshan", "Nanshan-Jiaofa-2026"
INITIAL = "Chuci-Denglu-2026"  # the roster's initial password for new teachers
COUNTY, CITY = "南山县", "北溪市"
SCHOOLS = [(f"南山县第{i + 1}{'小学' if i % 3 == 0 else '中学'}", ("小学", "初中", "高中")[i % 3])
           for i in range(12)]  # fmt: skip
# the first teacher of the synthetic roster still in post (a few rows are 离职)
TEACHER = next(r[0] for r in synthetic_roster(520, SCHOOLS, seed=2026) if r[-1] == "在职")
KINDS = {"小学": "小学", "初中": "初级中学", "高中": "高级中学"}
TITLE = "南山县新课标大单元教学研修班"
SESSION = "集中面授：大单元教学设计工作坊"


def _cli(folder: Path, *args: str, stdin: str = "") -> str:
    env = {**os.environ, "YANXIU_ENV": "test", "YANXIU_DATABASE_URL": f"sqlite:///{folder / 'yanxiu.db'}",
           "YANXIU_DATA_DIR": str(folder / "var"), "YANXIU_EMBED_BACKEND": "lexical"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "yanxiu.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("empty-install")
    _cli(folder, "init")  # no --demo: nobody exists yet
    _cli(folder, "create-user", "--role", "admin", "--username", ADMIN, "--region", CITY,
         "--name", "县教师发展中心管理员", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
    server = start_server(folder, folder / "yanxiu.db", embed_backend="lexical")
    yield server
    server.stop()


@pytest.fixture
def onboarding(empty_server: LiveServer, browser: Browser) -> Iterator[Browsing]:
    session = Browsing(empty_server, browser)
    yield session
    try:
        session.check()
    finally:
        session.close()


def _roster(tmp: Path, *, broken: bool) -> Path:
    rows = synthetic_roster(520, SCHOOLS, seed=2026)
    if broken:  # five rows a real export gets wrong
        rows[9][1] = ""  # no name
        rows[99][3] = "南山县不存在学校"  # a school the county does not have
        rows[199][4] = "大学"  # not a stage
        rows[299][9] = "2026-13-40"  # not a date
        rows[399][10] = "1380013800"  # ten digits: not a mobile number
    path = tmp / ("roster-broken.xlsx" if broken else "roster.xlsx")
    path.write_bytes(xlsx_bytes(TEMPLATE_HEADER, rows, title="教师名册"))
    return path


def _schools_csv(tmp: Path) -> Path:
    lines = ["上级区域,区县,学校名称,学校代码,学校类型,城乡类型,薄弱校,学段"]
    for i, (name, stage) in enumerate(SCHOOLS):
        location = ("城区", "镇区", "乡村")[i % 3]
        lines.append(f"{CITY},{COUNTY},{name},NS-{i + 1:03d},{KINDS[stage]},"
                     f"{location},{'是' if i % 5 == 0 else '否'},{stage}")  # fmt: skip
    path = tmp / "schools.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _upload_roster(page: Page, path: Path) -> None:
    page.goto("/admin/roster")
    page.get_by_label("名册文件").set_input_files(str(path))
    page.get_by_label("新教师的初始密码（可留空）").fill(INITIAL)
    page.locator("#roster-import").click()
    page.wait_for_url(re.compile(r"/jobs/\d+"))
    expect(page.locator("#roster-outcome")).to_be_visible(timeout=120_000)


def _change_password(page: Page, current: str, new: str) -> None:
    expect(page).to_have_url(re.compile(r"/account/password"))
    page.get_by_label("当前密码").fill(current)
    page.get_by_label("新密码", exact=True).fill(new)
    page.get_by_label("再次输入新密码").fill(new)
    page.locator("#password-submit").click()
    page.wait_for_url(lambda url: "/account/password" not in url)


def _create_staff(page: Page, role_label: str, username: str, name: str) -> str:
    page.goto("/admin/accounts")
    page.get_by_label("角色").select_option(label=role_label)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("姓名").fill(name)
    county = page.locator("#account-region option", has_text=COUNTY).first.get_attribute("value")
    page.get_by_label("所属区域").select_option(value=county)
    page.locator("#account-create-submit").click()
    expect(page.locator("#once-username")).to_have_text(username)
    return page.locator("#once-password").inner_text().strip()


def test_an_empty_install_onboards_a_county_and_credits_its_first_hours(
    onboarding: Browsing, shot: Shot, tmp_path: Path
) -> None:
    admin = onboarding.browser.new_context(base_url=onboarding.server.url, locale="zh-CN",
                                           timezone_id="Asia/Shanghai").new_page()  # fmt: skip
    onboarding.contexts.append(admin.context)
    login(admin, ADMIN, ADMIN_PASSWORD)

    # Schools first (the roster refers to them by name).
    admin.goto("/admin/org")
    admin.get_by_label("学校文件").set_input_files(str(_schools_csv(tmp_path)))
    admin.locator("#org-import-submit").click()
    expect(admin.get_by_text(SCHOOLS[0][0]).first).to_be_visible()

    # A roster with five bad rows: every one reported, nothing written.
    _upload_roster(admin, _roster(tmp_path, broken=True))
    expect(admin.locator("#roster-outcome")).to_have_attribute("data-state", "rejected")
    problems = admin.locator("#roster-problems tbody tr")
    expect(problems).to_have_count(5)
    for row in ("11", "101", "201", "301", "401"):  # header is row 1: data row n is row n+1
        expect(admin.locator("#roster-problems")).to_contain_text(f"第 {row} 行")
    shot(admin, "onboard-roster-rejected")
    admin.goto("/admin/roster")
    expect(admin.locator("#roster-active")).to_have_text("0")

    # Fixed and imported.
    _upload_roster(admin, _roster(tmp_path, broken=False))
    expect(admin.locator("#roster-outcome")).to_have_attribute("data-state", "imported")
    expect(admin.locator('#roster-counts dd[data-kind="create"]')).to_contain_text("5")
    shot(admin, "onboard-roster-imported")
    admin.goto("/admin/roster")
    active = int(admin.locator("#roster-active").inner_text())
    assert 505 <= active <= 520  # about 1 % of the synthetic roster has left (状态 离职)

    trainer_password = _create_staff(admin, "培训者", "trainer.nanshan", "南山县教研员")
    shot(admin, "onboard-account-created")
    _create_staff(admin, "工作室主持人", "host.nanshan", "南山县名师工作室主持人")

    # The trainer's first login: the initial password must be changed first.
    trainer = onboarding.open_as(None)
    login(trainer, "trainer.nanshan", trainer_password)
    shot(trainer, "onboard-password-change")
    _change_password(trainer, trainer_password, "Nanshan-Jiaoyan-2026")

    publish_programme_now(
        trainer, title=TITLE,
        description="面向全县初中、小学教师：线上学习新课标解读，线下集中开展大单元教学设计工作坊。",
        category="学科教学", session=SESSION, place="南山县教师发展中心报告厅", hours=6, capacity=120,
    )  # fmt: skip
    shot(trainer, "onboard-program")
    edit_url = trainer.url

    # A teacher from the roster: initial password, must change it, registers, checks in.
    teacher = onboarding.open_as(None)
    login(teacher, TEACHER, INITIAL)
    _change_password(teacher, INITIAL, "Wode-Xinmima-2026")
    teacher.goto("/programs")
    teacher.get_by_role("link", name=TITLE).click()
    teacher.get_by_role("button", name="报名参加").click()
    expect(teacher.get_by_text(f"报名成功：「{TITLE}」")).to_be_visible()

    trainer.goto(edit_url)
    trainer.get_by_role("link", name=re.compile("^签到与考勤")).click()
    code = trainer.locator("p.checkin-code").inner_text().replace(" ", "")
    teacher.goto("/checkin")
    teacher.get_by_role("textbox", name="签到码").fill(code)
    teacher.get_by_role("button", name="签到", exact=True).click()
    expect(teacher.get_by_text(f"签到成功：「{SESSION}」，已计入学时 6。")).to_be_visible()
    shot(teacher, "onboard-checkin")
    teacher.goto("/teacher/ledger")
    expect(teacher.get_by_text(SESSION).first).to_be_visible()
    shot(teacher, "onboard-ledger")

    # The admin finds that teacher's school from the roster and opens the ledger from there.
    admin.goto(f"/admin/roster?q={TEACHER}")
    admin.locator("table.data tbody tr", has_text=TEACHER).locator(
        'a[href^="/admin/schools/"]'
    ).click()
    admin.locator("tr", has_text=TEACHER).locator('a[href^="/people/teachers/"]').click()
    expect(admin.get_by_text(SESSION).first).to_be_visible()
    shot(admin, "onboard-admin-teacher")
