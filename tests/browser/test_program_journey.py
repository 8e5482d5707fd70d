"""A hybrid programme in Chromium, end to end: the trainer creates it with an offline session
under way now and publishes it; a teacher registers; the trainer shows the check-in code; the
teacher types it; the hours are in the teacher's ledger and in the programme report.

Screenshots: program-editor, program-register, program-checkin-code, program-checkin,
program-ledger, program-report (``make screenshots`` copies them to docs/screenshots).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing
from yanxiu.programs.clock import wall_now

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRAINER = "trainer.linjiang"
TEACHER = "t112"  # teaches in 临江区, the trainer's county
TITLE = "初中数学“追问”策略工作坊"
SESSION = "集中面授：课堂追问的设计与实践"

Shot = Callable[[Page, str], Path]


def test_trainer_plans_teacher_registers_checks_in_and_sees_hours(
    browsing: Browsing, shot: Shot
) -> None:
    now = wall_now().replace(second=0, microsecond=0)
    start, end = now - timedelta(minutes=5), now + timedelta(hours=3)

    trainer = browsing.open_as(TRAINER)
    trainer.goto("/trainer/programs")
    trainer.get_by_role("link", name="新建项目").click()
    trainer.get_by_label("项目名称").fill(TITLE)
    trainer.get_by_label("项目简介").fill(
        "线上学习“有效提问”模块，线下集中研讨追问策略并现场磨课。"
    )
    trainer.get_by_label("培训类别").select_option("课堂提问与对话")
    trainer.get_by_label("开始日期").fill((now.date() - timedelta(days=1)).isoformat())
    trainer.get_by_label("结束日期").fill((now.date() + timedelta(days=60)).isoformat())
    trainer.get_by_role("button", name="保存为草稿").click()
    expect(trainer.get_by_text("已创建（草稿）")).to_be_visible()

    trainer.get_by_label("活动名称").fill(SESSION)
    trainer.get_by_label("地点").fill("临江区教师发展中心 201 室")
    trainer.get_by_label("开始时间（北京时间）").fill(f"{start:%Y-%m-%dT%H:%M}")
    trainer.get_by_label("结束时间").fill(f"{end:%Y-%m-%dT%H:%M}")
    trainer.get_by_label("学时", exact=True).fill("3")
    trainer.get_by_label("名额（留空不限）").fill("30")
    trainer.get_by_role("button", name="添加活动").click()
    expect(trainer.get_by_text(f"已添加线下活动「{SESSION}」")).to_be_visible()
    trainer.get_by_role("button", name="发布并开放报名").click()
    expect(trainer.locator("#program-status")).to_have_text("报名中")
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
