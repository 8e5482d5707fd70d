"""Comparisons in Chromium (issue 20): the demo teacher t112, with two reviewed lessons, opens
her scores over time (a Chart.js line chart drawn from a data attribute, no inline script) and
the side-by-side page of her two latest lessons; trainer.linjiang opens a 同课异构 pair; the
comparison reads on a phone-sized screen without the page scrolling sideways."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing
from tests.browser.test_journeys import TRAINER, Shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEACHER = "t112"  # the demo seeds two reviewed lessons for her (yanxiu.seed.practice_demo)


def drawn(page: Page) -> None:
    """Every chart canvas on the page was drawn by the vendored Chart.js."""
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart]')].every(c => c._chart)"
    )


def test_teacher_reads_her_trend_and_compares_two_lessons(browsing: Browsing, shot: Shot) -> None:
    teacher = browsing.open_as(TEACHER)
    teacher.get_by_role("navigation", name="主导航").get_by_role("link", name="教学实践").click()
    expect(teacher.get_by_role("heading", name="我的课堂诊断变化")).to_be_visible()
    teacher.get_by_role("link", name="查看各节课得分明细").click()
    expect(teacher).to_have_url(re.compile(r"/practice/trend$"))
    drawn(teacher)
    rows = teacher.locator("table.px-trend-table tbody tr")
    assert rows.count() >= 2
    expect(rows.first).to_contain_text("行程问题")
    shot(teacher, "practice-trend")

    teacher.get_by_role("link", name="对比最近两节课").click()
    expect(teacher).to_have_url(re.compile(r"/practice/compare\?a=\d+&b=\d+$"))
    result = teacher.locator("#comparison")
    expect(result).to_contain_text("同一教师的两节课")
    expect(result).not_to_contain_text("待审核")
    scores = teacher.locator("#cmp-scores tbody tr[data-dimension]")
    assert scores.count() == 6
    expect(teacher.locator("#cmp-st tr[data-key='mode']")).to_contain_text("→")
    expect(teacher.locator("#cmp-indicators")).to_contain_text("平均候答时间")
    expect(teacher.locator("#cmp-fias")).to_contain_text("学生语言比率")
    expect(teacher.get_by_role("heading", name="教学环节时间线")).to_be_visible()
    expect(teacher.locator(".px-segments").first).to_contain_text("新授")
    drawn(teacher)
    teacher.locator("#cmp-h").scroll_into_view_if_needed()
    shot(teacher, "practice-compare")

    phone = browsing.open_as(TEACHER, viewport={"width": 390, "height": 844})
    phone.goto(teacher.url)
    expect(phone.locator("#cmp-scores")).to_be_visible()
    overflow = phone.evaluate(
        "() => document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways on a phone by {overflow}px"


def test_trainer_opens_a_same_topic_pair(browsing: Browsing) -> None:
    trainer = browsing.open_as(TRAINER)
    trainer.goto("/practice/compare")
    trainer.get_by_role("link", name=re.compile("《一元一次方程的应用——行程问题》")).click()
    expect(trainer.locator("#comparison")).to_contain_text("同课异构")
    sides = trainer.locator("article.px-cmp-side")
    expect(sides).to_have_count(2)
    assert sides.nth(0).inner_text() != sides.nth(1).inner_text()
