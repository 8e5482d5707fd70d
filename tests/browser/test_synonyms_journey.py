"""检索同义词 in Chromium: an admin tries a teacher's abbreviation (no match), adds a synonym on
the page, and 试一试 reads the same words with it at once (htmx, no reload of the server)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shot = Callable[[Page, str], Path]


def test_admin_adds_a_synonym_and_try_applies_it(browsing: Browsing, shot: Shot) -> None:
    admin = browsing.open_as("admin")
    admin.goto("/admin/gaps")
    admin.get_by_role("link", name="检索同义词").first.click()
    expect(admin).to_have_url(re.compile(r"/admin/search/synonyms$"))
    expect(admin.locator("#synonym-table")).to_contain_text("项目式学习")

    box = admin.get_by_role("searchbox", name="检索词")
    box.fill("UbD")
    box.press("Enter")
    expect(admin.locator("#try-expansions")).to_contain_text("没有用到同义词")
    expect(admin.locator("#try-result .no-match")).to_contain_text("没有找到合适的课程")

    admin.get_by_label("别名").fill("UbD、逆向设计法")
    admin.get_by_label("扩展词").fill("逆向设计 单元整体教学")
    admin.get_by_role("button", name="添加").click()
    expect(admin.locator(".flash-ok")).to_contain_text(
        "已添加同义词“ubd、逆向设计法 → 逆向设计 单元整体教学”"
    )
    row = admin.locator("#synonym-table tbody tr").first
    expect(row).to_contain_text("本站")
    expect(row).to_contain_text("ubd、逆向设计法")

    box = admin.get_by_role("searchbox", name="检索词")
    box.fill("")
    box.press_sequentially("逆向设计法", delay=30)  # the other alias, typed: htmx asks again
    expect(admin.locator("#try-text")).to_contain_text("逆向设计法")
    expect(admin.locator("#try-expansions")).to_contain_text("逆向设计 单元整体教学")
    expect(admin.locator("#try-result .try-hits li").first).to_be_visible()
    shot(admin, "admin-synonyms")
