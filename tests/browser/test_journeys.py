"""Each role's main journey in Chromium: real clicks and typing against the served demo.

Teacher: log in, search the catalog live (htmx), open a course, enrol, try to complete it at
0 % → refused, nothing changes (the study journey itself is test_study_journey.py); upload a transcript → pending. Trainer: review queue → review page,
edit a score, accept. Teacher: the reviewed diagnosis with its charts and FIAS table. Host: the
push wizard (audience preview) → push; the teacher opens the pushed case from the inbox. Admin:
compliance dashboard → drill down → CSV download. Keyboard: skip link, tab to the search box.

Every page is watched (see conftest): no console errors, no request leaves the loopback server.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, LiveServer
from yanxiu.config import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# 临江区: the trainer trainer.linjiang reviews this teacher's practice records.
TEACHER = "t077"
TRAINER = "trainer.linjiang"
HOST = "host.zhoumin"
ADMIN = "admin"

Shot = Callable[[Page, str], Path]


def query(server: LiveServer, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Read the served database directly (to pick test data, never to change it)."""
    with sqlite3.connect(server.folder / "yanxiu.db") as db:
        return list(db.execute(sql, args))


def case_transcript(case_id: str) -> str:
    for path in sorted((PROJECT_ROOT / "content" / "cases").glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            if case["id"] == case_id:
                return str(case["body"])
    raise LookupError(case_id)


def summary(page: Page) -> str:
    return page.locator("section.summary-cards").inner_text()


def test_teacher_searches_enrols_and_completes_a_course(
    browsing: Browsing, live_server: LiveServer, shot: Shot
) -> None:
    (teacher_id,) = query(live_server, "select id from users where username = ?", TEACHER)[0]
    # an online course this teacher has never enrolled in
    code, title = query(
        live_server,
        "select code, title from courses where format = 'online' and status = 'published' "
        "and id not in (select course_id from enrolments where teacher_id = ?) "
        "order by hours desc, code limit 1",
        teacher_id,
    )[0]
    page = browsing.open_as(TEACHER)
    expect(page).to_have_url(re.compile(r"/teacher$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("我的研修工作台")
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    before = summary(page)
    shot(page, "teacher-dashboard")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="课程").click()
    expect(page).to_have_url(re.compile(r"/courses$"))
    box = page.get_by_role("searchbox", name="搜索课程")
    box.click()
    box.press_sequentially(str(title), delay=30)  # live search: htmx swaps results in
    result = page.locator(".search-hits").get_by_role("link", name=str(title))
    expect(result).to_be_visible()
    expect(page.locator(".result-count")).to_contain_text(str(title))
    shot(page, "catalog-search")

    result.click()
    expect(page).to_have_url(re.compile(rf"/courses/{code}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(title))
    page.get_by_role("button", name="报名学习").click()
    expect(page.get_by_text("学习中")).to_be_visible()
    shot(page, "course")
    # "完成课程" at 0 % used to credit the hours at once: now it says what is missing
    page.get_by_role("button", name=re.compile("完成课程并计入")).click()
    expect(page.locator(".flash")).to_contain_text("尚不能计入学时")
    expect(page.locator("#credit-missing")).to_be_visible()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="工作台").click()
    expect(page).to_have_url(re.compile(r"/teacher$"))
    assert summary(page) == before, "an unearned completion changes nothing"
    expect(page.locator(f'a[href="/courses/{code}"]').first).to_be_visible()  # in progress


def test_practice_upload_review_and_diagnosis(
    browsing: Browsing, tmp_path: Path, shot: Shot
) -> None:
    title = "《一元一次方程的应用——行程问题》课堂实录（浏览器测试）"
    transcript = tmp_path / "行程问题课堂实录.txt"
    transcript.write_text(case_transcript("CASE-001"), encoding="utf-8")

    teacher = browsing.open_as(TEACHER)
    teacher.get_by_role("navigation", name="主导航").get_by_role("link", name="教学实践").click()
    expect(teacher).to_have_url(re.compile(r"/practice$"))
    teacher.get_by_label("课堂实录").check()
    teacher.get_by_label("标题").fill(title)
    teacher.get_by_label("上传文件").set_input_files(str(transcript))
    shot(teacher, "practice-upload")
    teacher.get_by_role("button", name="提交并分析").click()
    expect(teacher).to_have_url(re.compile(r"/practice/\d+$"))
    record_url = teacher.url
    expect(teacher.locator("main")).to_contain_text("待审核")

    trainer = browsing.open_as(TRAINER)
    expect(trainer).to_have_url(re.compile(r"/trainer$"))
    shot(trainer, "trainer-home")
    trainer.get_by_role("navigation", name="主导航").get_by_role("link", name="审核队列").click()
    expect(trainer).to_have_url(re.compile(r"/review$"))
    item = trainer.get_by_role("link", name=re.compile(re.escape(title))).first
    expect(item).to_be_visible()
    shot(trainer, "review-queue")
    item.click()
    expect(trainer).to_have_url(re.compile(r"/review/\d+$"))
    expect(trainer.locator("main")).to_contain_text("师：")  # the transcript is shown
    score = trainer.locator("select[name^='score:']").first
    current = score.input_value()
    options = [o for o in score.locator("option").all_inner_texts()]
    assert options, "the score can be edited"
    new_value = "4" if current != "4" else "3"
    score.select_option(new_value)
    trainer.get_by_label("总体评语").fill(
        "提问以封闭式为主，建议设计开放性问题链，让学生自己分析数量关系。"
    )
    shot(trainer, "review-page")
    trainer.get_by_role("button", name="保存修改并通过").click()
    expect(trainer.locator(".flash").first).to_contain_text("教师现在可以看到审核结果")

    teacher.goto(record_url)
    expect(teacher.get_by_role("heading", name="诊断报告")).to_be_visible()
    expect(teacher.locator("canvas[data-chart]").first).to_be_visible()
    assert teacher.locator("canvas[data-chart]").count() >= 2, "S-T chart and rubric radar"
    expect(teacher.get_by_role("heading", name=re.compile("FIAS"))).to_be_visible()
    expect(teacher.locator("table.px-fias-heat")).to_be_visible()
    shot(teacher, "practice-diagnosis")
    teacher.locator("canvas[data-chart]").first.scroll_into_view_if_needed()
    shot(teacher, "practice-charts")


def test_host_pushes_a_case_and_the_teacher_opens_it(
    browsing: Browsing, live_server: LiveServer, shot: Shot
) -> None:
    host = browsing.open_as(HOST)
    expect(host).to_have_url(re.compile(r"/studio$"))
    shot(host, "studio-console")
    host.get_by_role("link", name="精准推送案例").click()
    expect(host).to_have_url(re.compile(r"/studio/push"))
    picker = host.get_by_label("要推送的案例")
    # a case this studio has not pushed yet, so the audience is not already served
    cases = picker.locator("option").evaluate_all(
        "options => options.map(o => [o.value, o.textContent.trim()])"
    )
    pushed = {str(c) for (c,) in query(live_server, "select case_id from pushes")}
    case_id, case_title = next((v, t) for v, t in cases if v not in pushed)
    picker.select_option(case_id)
    expect(host).to_have_url(re.compile(rf"case_id={case_id}"))
    # narrow the audience: the preview updates via htmx
    host.get_by_label("推荐人数").fill("5")
    host.get_by_role("button", name="更新推荐名单").click()
    audience = host.locator("table.audience")
    expect(audience).to_be_visible()
    expect(host.locator("#reach")).to_be_visible()
    picks = audience.locator("input[name='teacher_id']")
    expect(picks.first).to_be_checked()
    teacher_id = int(picks.first.get_attribute("value") or 0)
    shot(host, "push-wizard")
    host.get_by_label("给教师的留言（可选）").fill("请重点看教师追问的方式，下次教研活动交流。")
    host.get_by_role("button", name="确认推送").click()
    expect(host).to_have_url(re.compile(r"/studio/pushes/\d+$"))
    shot(host, "push-analytics")

    (username,) = query(live_server, "select username from users where id = ?", teacher_id)[0]
    teacher = browsing.open_as(str(username))
    teacher.goto("/studios")
    teacher.get_by_role("link", name=re.compile("收件箱")).first.click()
    expect(teacher).to_have_url(re.compile(r"/studios/inbox$"))
    link = teacher.locator(f"main a[href='/studios/cases/{case_id}']").first
    expect(link).to_be_visible()
    shot(teacher, "inbox")
    link.click()
    expect(teacher).to_have_url(re.compile(rf"/studios/cases/{case_id}$"))
    expect(teacher.locator("main")).to_contain_text("请重点看教师追问的方式")
    shot(teacher, "case")
    opened = query(
        live_server,
        "select d.opened_at from push_deliveries d join pushes p on p.id = d.push_id "
        "where p.case_id = ? and d.teacher_id = ?",
        int(case_id),
        teacher_id,
    )
    assert opened and opened[0][0] is not None, "opening the case marks the delivery opened"


def test_admin_drills_down_and_downloads_csv(browsing: Browsing, shot: Shot) -> None:
    admin = browsing.open_as(ADMIN)
    expect(admin).to_have_url(re.compile(r"/admin$"))
    expect(admin.locator("canvas[data-chart]").first).to_be_visible()
    shot(admin, "admin-dashboard")
    admin.locator("main a[href^='/admin/regions/']").first.click()
    expect(admin).to_have_url(re.compile(r"/admin/regions/\d+$"))
    expect(admin.get_by_role("table").first).to_be_visible()
    shot(admin, "admin-region")
    admin.locator("main a[href^='/admin/schools/']").first.click()
    expect(admin).to_have_url(re.compile(r"/admin/schools/\d+$"))
    shot(admin, "admin-school")
    admin.goto("/admin")
    with admin.expect_download() as info:
        admin.get_by_role("link", name="按学校导出").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    content = Path(download.path()).read_bytes().decode("utf-8-sig")
    assert "," in content.splitlines()[0] and len(content.splitlines()) > 5
    admin.get_by_role("navigation", name="主导航").get_by_role("link", name="学时政策").click()
    shot(admin, "admin-policy")


def test_trainer_pages(browsing: Browsing, shot: Shot) -> None:
    trainer = browsing.open_as(TRAINER)
    for path, name in (
        ("/trainer/programs", "trainer-programs"),
        ("/trainer/agreement", "trainer-agreement"),
        ("/trainer/heatmap", "trainer-heatmap"),
    ):
        trainer.goto(path)
        expect(trainer.get_by_role("heading", level=1)).to_be_visible()
        shot(trainer, name)


def test_keyboard_skip_link_and_search(browsing: Browsing, shot: Shot) -> None:
    page = browsing.open_as(None)
    page.goto("/login")
    shot(page, "login")
    page.goto("/")  # the login form autofocuses its first field; the landing page does not
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))

    page = browsing.open_as(TEACHER)
    page.goto("/courses")
    box = page.get_by_role("searchbox", name="搜索课程")
    for _ in range(40):  # only the keyboard: tab until the search box has focus
        page.keyboard.press("Tab")
        if box.evaluate("el => el === document.activeElement"):
            break
    expect(box).to_be_focused()
    page.keyboard.type("师德")
    expect(page.locator(".search-hits li").first).to_be_visible()


def test_colloquial_and_no_answer_searches_and_the_catalog_gaps(
    browsing: Browsing, shot: Shot
) -> None:
    """Issue 21: a problem in a teacher's words finds its course; a topic the catalog lacks
    says 没有找到合适的课程 with related categories, and shows up on the admin's 课程缺口."""
    page = browsing.open_as(TEACHER)
    page.goto("/courses")
    box = page.get_by_role("searchbox", name="搜索课程")
    box.click()
    box.press_sequentially("学生不爱发言怎么办", delay=30)
    first = page.locator(".search-hits .course-title a").first
    expect(first).to_have_attribute("href", "/courses/TW-013")
    expect(page.locator(".search-hits .snippet").first).to_contain_text("适用问题")
    shot(page, "search-colloquial")

    box.fill("")
    box.press_sequentially("zzzzqqq", delay=30)
    expect(page.locator(".no-match")).to_contain_text("没有找到合适的课程")
    expect(page.locator(".search-hits")).to_have_count(0)
    shot(page, "search-no-match")

    admin = browsing.open_as(ADMIN)
    admin.get_by_role("navigation", name="主导航").get_by_role("link", name="课程缺口").click()
    expect(admin).to_have_url(re.compile(r"/admin/gaps$"))
    expect(admin.locator("table.gaps")).to_contain_text("zzzzqqq")
    shot(admin, "admin-gaps")
    with admin.expect_download() as info:
        admin.get_by_role("link", name="导出 CSV").click()
    content = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    assert content.splitlines()[0] == "检索词,学段,学科,次数,最近一次"
    assert "zzzzqqq" in content
