"""Hours that rest on evidence, in Chromium: a teacher claims 6 hours of 校本研修 with a PDF
certificate, a trainer of her county approves, the ledger shows it; she downloads a 学时证明
PDF and an admin verifies its code. Every page is watched (see conftest)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, LiveServer
from tests.browser.test_journeys import query

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRAINER = "trainer.linjiang"
ADMIN = "admin"
Shot = Callable[[Page, str], Path]
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def test_claim_approved_credited_certified_and_verified(
    browsing: Browsing, live_server: LiveServer, shot: Shot, tmp_path: Path
) -> None:
    # a 临江区 teacher whose cycle covers last week (the trainer's county; no other journey's)
    week_ago = (date.today() - timedelta(days=7)).isoformat()
    (teacher,) = query(
        live_server,
        "select u.username from users u join teacher_profiles p on p.user_id = u.id "
        "join users tr on tr.username = ? and u.region_id = tr.region_id "
        "where u.role = 'teacher' and p.cycle_start <= ? and u.username not in ('t077', 't112') "
        "order by u.id desc limit 1",
        TRAINER, week_ago,
    )[0]  # fmt: skip
    title = "七年级数学组“大单元作业设计”校本研修（浏览器测试）"
    certificate = tmp_path / "校本研修结业证明.pdf"
    certificate.write_bytes(PDF)

    page = browsing.open_as(str(teacher))
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="学时申报").click()
    expect(page).to_have_url(re.compile(r"/claims$"))
    page.get_by_role("link", name="新建学时申报").click()
    page.get_by_label("申报类型").select_option("school_based")
    page.get_by_label("培训类别").select_option("学科教学")
    page.get_by_label("学时", exact=True).fill("6")
    page.get_by_label("培训名称").fill(title)
    page.get_by_label("组织单位").fill("临江区实验中学教务处")
    page.get_by_label("开始日期").fill(week_ago)
    page.get_by_label("结束日期").fill(week_ago)
    page.get_by_label("说明（可选）").fill("全天：作业分层设计工作坊与课例研讨。")
    page.get_by_label(re.compile("^证明材料")).set_input_files(str(certificate))
    shot(page, "claim-new")
    page.get_by_role("button", name="提交申报").click()
    expect(page).to_have_url(re.compile(r"/claims/\d+$"))
    claim_url = page.url
    expect(page.locator("main")).to_contain_text("待审核")
    expect(page.get_by_role("link", name="校本研修结业证明.pdf")).to_be_visible()

    trainer = browsing.open_as(TRAINER)
    trainer.get_by_role("navigation", name="主导航").get_by_role("link", name="学时审核").click()
    expect(trainer).to_have_url(re.compile(r"/review/claims$"))
    row = trainer.locator("tr", has_text=title)
    expect(row).to_be_visible()
    row.get_by_role("link", name=re.compile("审核")).click()
    expect(trainer).to_have_url(claim_url)
    with trainer.expect_download() as evidence:  # the reviewer reads the evidence
        trainer.get_by_role("link", name="校本研修结业证明.pdf").click()
    assert Path(evidence.value.path()).read_bytes() == PDF
    trainer.get_by_label(re.compile("认定通过")).check()
    shot(trainer, "claim-review")
    trainer.get_by_role("button", name="提交审核结果").click()
    expect(trainer).to_have_url(re.compile(r"/review/claims$"))
    expect(trainer.locator(".flash").first).to_contain_text("已认定通过")

    page.goto(claim_url)
    expect(page.locator("main")).to_contain_text("已认定")
    page.get_by_role("link", name="查看学时台账").click()
    expect(page.locator("main")).to_contain_text(title)
    shot(page, "claim-ledger")

    page.goto("/teacher/certificates")
    page.get_by_label("证明期间").select_option("cycle")
    with page.expect_download() as download:
        page.get_by_role("button", name="生成并下载 PDF").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    page.goto("/teacher/certificates")
    code = page.locator("table code").first.inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){4}", code), code
    shot(page, "certificate-list")

    admin = browsing.open_as(ADMIN)
    admin.get_by_role("navigation", name="主导航").get_by_role("link", name="证明核验").click()
    admin.get_by_label("验证码").fill(code.lower())
    admin.get_by_role("button", name="核验").click()
    expect(admin.locator("main")).to_contain_text("真实有效")
    expect(admin.locator("main")).to_contain_text("签发后学时台账没有变化")
    shot(admin, "certificate-verify")
    admin.get_by_label("验证码").fill(code[:-1] + ("A" if code[-1] != "A" else "B"))
    admin.get_by_role("button", name="核验").click()
    expect(admin.locator("main")).to_contain_text("查无此证明")


def test_contesting_asks_first_and_keeps_the_diagnosis_visible(
    browsing: Browsing, live_server: LiveServer, shot: Shot
) -> None:
    # t001 (白石县) has a diagnosis a trainer edited and accepted (the demo's practice records)
    (record_id,) = query(
        live_server,
        "select r.id from practice_records r join users u on u.id = r.teacher_id "
        "join diagnoses d on d.record_id = r.id where u.username = 't001' "
        "and d.status in ('accepted', 'edited') order by r.id limit 1",
    )[0]
    page = browsing.open_as("t001")
    page.goto(f"/practice/{record_id}")
    page.get_by_role("link", name="提出申诉…").click()
    expect(page).to_have_url(re.compile(rf"/practice/{record_id}/contest$"))
    expect(page.locator("main")).to_contain_text("重新审核")  # and by whom
    page.get_by_label("申诉理由").fill("这节课的小组讨论在实录之外，学生参与并不少。")
    shot(page, "contest-confirm")
    page.get_by_role("button", name="确认提出申诉").click()
    expect(page).to_have_url(re.compile(rf"/practice/{record_id}$"))
    expect(page.get_by_role("heading", name=re.compile("诊断报告"))).to_be_visible()  # still shown
    expect(page.locator("main")).to_contain_text("申诉中")
    expect(page.get_by_role("link", name="提出申诉…")).to_have_count(0)
    shot(page, "contest-visible")
