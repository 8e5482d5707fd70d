"""The workspace shell: each role lands on its own home, navigation, error pages, assets."""

from __future__ import annotations

import pytest

from yanxiu.accounts.models import Role
from yanxiu.web.pages import HOME_BY_ROLE, NAV_BY_ROLE

ROLE_USERS = {Role.TEACHER: "t001", Role.HOST: "host.zhoumin", Role.TRAINER: "trainer.linjiang",
              Role.ADMIN: "admin"}  # fmt: skip


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_home_with_its_navigation(demo_site, role):
    client = demo_site.client(ROLE_USERS[role])
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == HOME_BY_ROLE[role]
    page = client.get(HOME_BY_ROLE[role])
    assert page.status_code == 200, page.text[:500]
    for href, label in NAV_BY_ROLE[role]:
        assert f'href="{href}"' in page.text and label in page.text


def test_vendored_assets_are_served_and_no_page_uses_a_cdn(demo_site):
    client = demo_site.client()
    home = client.get("/")
    assert "http://" not in home.text.replace("http://www.w3.org", "")
    assert "https://" not in home.text
    for path in ("/static/vendor/htmx-2.0.11.min.js", "/static/vendor/chart-4.6.1.umd.min.js",
                 "/static/js/charts.js"):  # fmt: skip
        assert client.get(path).status_code == 200


def test_html_errors_are_pages_and_api_errors_stay_json(demo_site):
    client = demo_site.client("t001")
    page = client.get("/admin")
    assert page.status_code == 403
    assert "text/html" in page.headers["content-type"] and "无权访问" in page.text
    api = client.get("/api/v1/teachers/t002/path")
    assert api.status_code == 403 and api.headers["content-type"].startswith("application/json")


def test_unknown_pages_get_a_chinese_404_page_and_the_api_json(demo_site):
    client = demo_site.client("t001")
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "页面不存在" in page.text and "<html" in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
