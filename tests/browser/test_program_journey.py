"""A hybrid programme in Chromium, end to end: the trainer creates it with an offline session
under way now and publishes it; a teacher registers; the trainer shows the check-in code; the
teacher types it; the hours are in the teacher's ledger and in the programme report.

Screenshots: program-editor, program-register, program-checkin-code, program-checkin,
program-ledger, program-report (``make screenshots`` copies them to docs/screenshots).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, publish_programme_now

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRAINER = "trainer.linjiang"
TEACHER = "t112"  # teaches in 临江区, the trainer's county
TITLE = "初中数学“追问”策略工作坊"
SESSION = "集中面授：课堂追问的设计与实践"

Shot = Callable[[Page, str], Path]


def test_trainer_plans_teacher_registers_checks_in_and_sees_hours(
    browsing: Browsing, shot: Shot
) -> None:
    trainer = browsing.open_as(TRAINER)
    publish_programme_now(
        trainer, title=TITLE, description="线上学习“有效提问”模块，线下集中研讨追问策略并现场磨课。",
        category="课堂提问与对话", session=SESSION, place="临江区教师发展中心 201 室", hours=3,
        capacity=30,
    )  # fmt: skip
    shot(trainer, "program-editor")
    edit_url = trainer.url

    teacher = browsing.open_as(TEACHER)
    teacher.goto("/programs")
    teacher.get_by_role("link", name=TITLE).click()
    teacher.get_by_role("button", name="报名参加").click()
    expect(teacher.get_by_text(f"报名成功：「{TITLE}」")).to_be_visible()
    shot(teacher, "program-register")

    trainer.goto(edit_url)
    trainer.get_by_role("link", name=re.compile("^签到与考勤")).click()
    code = trainer.locator("p.checkin-code").inner_text().replace(" ", "")
    assert re.fullmatch(r"\d{6}", code), code
    shot(trainer, "program-checkin-code")

    teacher.goto("/checkin")
    teacher.get_by_role("textbox", name="签到码").fill(code)
    teacher.get_by_role("button", name="签到", exact=True).click()
    expect(teacher.get_by_text(f"签到成功：「{SESSION}」，已计入学时 3。")).to_be_visible()
    shot(teacher, "program-checkin")
    teacher.goto("/teacher/ledger")
    expect(teacher.get_by_text(SESSION).first).to_be_visible()
    shot(teacher, "program-ledger")

    trainer.goto(edit_url.replace("/edit", "/report"))
    expect(trainer.locator("#kpi-registered")).to_have_text("1")
    expect(trainer.locator("#kpi-hours")).to_have_text("3")
    expect(trainer.locator('a[href^="/people/teachers/"]')).to_have_count(1)  # the roster
    shot(trainer, "program-report")
