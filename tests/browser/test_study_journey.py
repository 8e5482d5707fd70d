"""A teacher earns a course's hours in Chromium: reads the text units and the PDF to their end,
plays the video in real time to 90 % (a jump ahead is refused by the server), fails the quiz
(nothing credited), passes it (credited once), and is refused when completing an offline course
(told to check in). Screenshots go to the browser suite's folder (see conftest)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, LiveServer
from tests.browser.test_journeys import Shot, query, summary

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COURSE = "ZY-001"  # text, text, a PDF, a 13-second video; a 5-question quiz


def credits(server: LiveServer, teacher_id: int, code: str) -> int:
    key = f"course:{teacher_id}:{code}"
    return int(
        query(server, "select count(*) from credit_records where idempotency_key = ?", key)[0][0]
    )


def answer(page: Page, server: LiveServer, *, right: bool) -> None:
    """Tick the options of the quiz on the page (the test reads the key from the database)."""
    attempt_id = int(page.url.rsplit("/", 1)[1])
    (paper,) = query(server, "select paper from quiz_attempts where id = ?", attempt_id)[0]
    for item in json.loads(str(paper)):
        (key,) = query(server, "select answer from quiz_questions where id = ?", item["q"])[0]
        shown = [item["order"].index(i) for i in json.loads(str(key))]
        if not right:
            shown = [next(p for p in range(len(item["order"])) if p not in shown)]
        for pos in shown:
            page.locator(f'input[name="q{item["q"]}"][value="{pos}"]').check()


def test_teacher_studies_a_course_and_earns_its_hours_once(
    browsing: Browsing, live_server: LiveServer, shot: Shot
) -> None:
    # a teacher (not another journey's) who never took the course nor an offline course
    teacher_id, teacher = query(
        live_server,
        "select id, username from users where role = 'teacher' and username not in ('t077', 't112') "
        "and id not in (select teacher_id from enrolments e join courses c on c.id = e.course_id "
        "where c.code = ?) order by username limit 1",
        COURSE,
    )[0]
    (offline,) = query(
        live_server,
        "select code from courses where format = 'offline' and status = 'published' and id not in "
        "(select course_id from enrolments where teacher_id = ?) order by code limit 1",
        teacher_id,
    )[0]
    assert credits(live_server, int(teacher_id), COURSE) == 0
    page = browsing.open_as(str(teacher))
    before = summary(page)
    page.goto(f"/courses/{COURSE}")
    page.get_by_role("button", name="报名学习").click()
    expect(page.locator("#credit-missing")).to_contain_text("学完全部学习单元")
    units = page.locator(".unit-list a")
    expect(units).to_have_count(4)
    hrefs = [str(units.nth(i).get_attribute("href")) for i in range(4)]

    # text units: complete once their end has been scrolled into view
    for href in hrefs[:2]:
        page.goto(href)
        page.locator("#unit-end").scroll_into_view_if_needed()
        expect(page.locator("#unit-status")).to_have_text("已完成")
    shot(page, "study-text-unit")

    # the PDF: shown in the page, complete once read down to the end below it
    page.goto(hrefs[2])
    expect(page.locator("object.unit-pdf")).to_have_attribute("type", "application/pdf")
    pdf = page.request.get(str(page.locator("object.unit-pdf").get_attribute("data")))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")
    # the end lies below the document: opening the page alone does not complete it
    assert page.locator("#unit-end").evaluate("e => e.getBoundingClientRect().top") > 800
    expect(page.locator("#unit-status")).to_have_text(re.compile("学习进度"))
    page.locator("#unit-end").scroll_into_view_if_needed()
    expect(page.locator("#unit-status")).to_have_text("已完成")
    shot(page, "study-pdf-unit")

    # the video: a jump to the end is not counted; real playback is, up to 90 %
    page.goto(hrefs[3])
    player = page.locator("video#player")
    page.wait_for_function("document.querySelector('#player').readyState >= 1")
    duration = float(player.evaluate("p => p.duration"))
    assert 12 < duration < 15  # the WebM's own length, as the unit declares it
    page.evaluate("document.querySelector('#player').play()")
    page.wait_for_timeout(1500)
    page.evaluate("(p => { p.currentTime = 12; })(document.querySelector('#player'))")
    expect(page.locator("#study-message")).to_contain_text("跳过的部分不计入")
    expect(page.locator("#unit-status")).not_to_have_text("已完成")
    page.evaluate("(p => { p.pause(); p.currentTime = 0; })(document.querySelector('#player'))")
    page.wait_for_timeout(500)
    page.evaluate("document.querySelector('#player').play()")
    page.wait_for_timeout(6000)  # halfway: the bar shows what the server counted so far
    expect(page.locator("#unit-status")).not_to_have_text("已完成")
    expect(player).to_have_js_property("ended", True, timeout=40_000)
    expect(page.locator("#unit-status")).to_have_text("已完成", timeout=10_000)
    assert float(player.evaluate("p => p.videoWidth")) == 640  # frames were decoded
    shot(page, "study-video-unit")

    # the quiz: a fail credits nothing, a pass credits the course once
    page.goto(f"/courses/{COURSE}")
    expect(page.locator("#credit-missing")).to_contain_text("通过课程测验")
    page.get_by_role("button", name="开始测验").click()
    expect(page).to_have_url(re.compile(rf"/courses/{COURSE}/quiz/\d+$"))
    assert "answer" not in page.content()
    answer(page, live_server, right=False)
    shot(page, "study-quiz")
    page.get_by_role("button", name="提交答卷").click()
    expect(page.locator(".flash")).to_contain_text("未计入学时")
    assert credits(live_server, int(teacher_id), COURSE) == 0
    page.get_by_role("button", name="开始测验").click()
    answer(page, live_server, right=True)
    page.get_by_role("button", name="提交答卷").click()
    expect(page.locator(".flash").first).to_contain_text("测验通过")
    expect(page.locator(".flash").last).to_contain_text("已计入学时")
    expect(page.get_by_text("已完成").first).to_be_visible()
    shot(page, "study-credited")
    assert credits(live_server, int(teacher_id), COURSE) == 1
    page.goto("/teacher")
    assert summary(page) != before, "the credited hours show on the dashboard"

    # an offline course cannot be completed by its participant: attendance only
    page.goto(f"/courses/{offline}")
    page.get_by_role("button", name="报名学习").click()
    page.get_by_role("button", name=re.compile("完成课程并计入")).click()
    expect(page.locator(".flash")).to_contain_text("签到")
    expect(page.get_by_role("link", name="去签到")).to_be_visible()
    shot(page, "study-offline-refused")
    assert credits(live_server, int(teacher_id), str(offline)) == 0
