"""An empty install run by its own people: the first admin, regions and schools, the roster
import (job), staff accounts, must-change passwords, resets and deactivation, masked phones and
what a county admin may see."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import Site, site_settings
from tests.web.helpers import form_token, login
from yanxiu.accounts.manage import create_account
from yanxiu.accounts.models import Region, Role, User
from yanxiu.accounts.org import ensure_top_region
from yanxiu.accounts.roster import TEMPLATE_HEADER
from yanxiu.db import migrate, session_scope
from yanxiu.spreadsheet import xlsx_bytes

ADMIN_PASSWORD = "Beixi-Centre-2026"


@pytest.fixture
def empty_site(tmp_path: Path) -> Iterator[Site]:
    """A migrated, empty install with one administrator (as `yanxiu create-user` makes it)."""
    settings = site_settings(tmp_path / "yanxiu.db", tmp_path / "var")
    site = Site(settings)
    migrate.upgrade(site.app.state.services.session_factory.kw["bind"])
    with session_scope(site.factory) as s:
        city = ensure_top_region(s, name="北溪市", level=None, policy_code="GX", actor_id=None)
        create_account(s, actor_id=None, scope=None, username="boss", display_name="中心管理员",
                       role=Role.ADMIN, region_id=city.id, password=ADMIN_PASSWORD, must_change=False)  # fmt: skip
    site.password = ADMIN_PASSWORD
    yield site
    site.close()


def post(
    client: TestClient,
    path: str,
    data: dict | None = None,
    files: dict | None = None,
    page: str = "/",
):  # type: ignore[no-untyped-def]
    token = form_token(client.get(page).text)
    return client.post(
        path, data={"csrf_token": token, **(data or {})}, files=files, follow_redirects=False
    )


def roster_rows(n: int, school: str = "南山县第一小学") -> list[list[str]]:
    return [[f"T{i:05d}", f"教师{i}", "女", school, "小学", "语文", "", "", "", "2015-09-01",
             f"138{i:08d}", "在职"] for i in range(1, n + 1)]  # fmt: skip


def build_org(client: TestClient, site: Site) -> None:
    with session_scope(site.factory) as s:
        city_id = s.scalar(select(Region.id).where(Region.name == "北溪市"))
    assert (
        post(
            client,
            "/admin/org/regions",
            {"name": "南山县", "parent_id": str(city_id)},
            page="/admin/org",
        ).status_code
        == 303
    )
    assert (
        post(
            client,
            "/admin/org/regions",
            {"name": "东河县", "parent_id": str(city_id)},
            page="/admin/org",
        ).status_code
        == 303
    )
    with session_scope(site.factory) as s:
        ns = s.scalar(select(Region.id).where(Region.name == "南山县"))
        dh = s.scalar(select(Region.id).where(Region.name == "东河县"))
    for name, county, location in (
        ("南山县第一小学", ns, "urban"),
        ("南山县岭头小学", ns, "rural"),
        ("东河县实验小学", dh, "urban"),
    ):
        r = post(client, "/admin/org/schools", {"name": name, "county_id": str(county), "kind": "小学",
                                                "location": location, "stages": "小学"}, page="/admin/org")  # fmt: skip
        assert r.status_code == 303, r.text


def import_roster(
    client: TestClient, site: Site, data: bytes, mode: str, name: str = "roster.xlsx", **extra: str
):  # type: ignore[no-untyped-def]
    r = post(
        client,
        "/admin/roster/import",
        {"mode": mode, **extra},
        files={"file": (name, data)},
        page="/admin/roster",
    )
    assert r.status_code == 303, r.text
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    site.app.state.services.jobs.wait(job_id)
    return client.get(f"/jobs/{job_id}")


def test_an_empty_install_onboards_a_county(empty_site: Site) -> None:
    admin = empty_site.client("boss")
    for path in (
        "/admin",
        "/admin/org",
        "/admin/roster",
        "/admin/accounts",
        "/jobs",
    ):  # nothing yet
        assert admin.get(path).status_code == 200, path
    build_org(admin, empty_site)
    page = admin.get("/admin/org").text
    assert "南山县岭头小学" in page and "东河县实验小学" in page

    bad = roster_rows(6)
    bad[1][3], bad[3][4], bad[5][10] = "没有这所学校", "大学", "123"
    rejected = import_roster(admin, empty_site, xlsx_bytes(TEMPLATE_HEADER, bad), "import")
    assert 'data-state="rejected"' in rejected.text
    assert "第 3 行" in rejected.text and "第 5 行" in rejected.text and "第 7 行" in rejected.text
    assert admin.get("/admin/roster").text.count('id="teacher-') == 0  # nothing written

    good = xlsx_bytes(TEMPLATE_HEADER, roster_rows(6))
    preview = import_roster(admin, empty_site, good, "dry")
    assert (
        'data-state="previewed"' in preview.text
        and admin.get("/admin/roster").text.count('id="teacher-') == 0
    )
    done = import_roster(admin, empty_site, good, "import", initial_password="Nanshan-Start-2026")
    assert 'data-state="imported"' in done.text
    roster = admin.get("/admin/roster").text
    assert roster.count('id="teacher-') == 6
    assert "138****0001" in roster and "13800000001" not in roster  # masked on the page
    export = admin.get("/admin/roster/export.csv")
    assert "138****0001" in export.text and "13800000001" not in export.text
    assert admin.get("/admin").status_code == 200

    # a teacher logs in with the initial password and must change it before anything else
    teacher = empty_site.clients.append(TestClient(empty_site.app)) or empty_site.clients[-1]
    teacher.__enter__()
    assert login(teacher, "T00001", "Nanshan-Start-2026").status_code == 303
    assert (
        teacher.get("/teacher", follow_redirects=False).headers["location"] == "/account/password"
    )
    assert teacher.get("/api/v1/me/compliance").status_code == 403
    weak = post(teacher, "/account/password", {"current": "Nanshan-Start-2026", "password": "12345678",
                                               "confirm": "12345678"}, page="/account/password")  # fmt: skip
    assert weak.status_code == 422 and "常见密码" in weak.text
    ok = post(teacher, "/account/password", {"current": "Nanshan-Start-2026", "password": "Lingtou-Chalk-77",
                                             "confirm": "Lingtou-Chalk-77"}, page="/account/password")  # fmt: skip
    assert ok.status_code == 303
    assert teacher.get("/teacher", follow_redirects=False).status_code == 200
    own = teacher.get("/teacher/export")
    assert (
        own.status_code == 200
        and '"phone": "138****0001"' in own.text
        and "13800000001" not in own.text
    )


def test_staff_accounts_resets_and_deactivation(empty_site: Site) -> None:
    admin = empty_site.client("boss")
    build_org(admin, empty_site)
    with session_scope(empty_site.factory) as s:
        ns = s.scalar(select(Region.id).where(Region.name == "南山县"))
    made = post(admin, "/admin/accounts", {"role": "trainer", "username": "trainer.ns", "display_name": "南山培训者",
                                           "region_id": str(ns)}, page="/admin/accounts")  # fmt: skip
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    first = re.search(r'id="once-password"[^>]*>([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    trainer = TestClient(empty_site.app)
    empty_site.clients.append(trainer)
    trainer.__enter__()
    assert login(trainer, "trainer.ns", first).status_code == 303
    assert (
        trainer.get("/trainer", follow_redirects=False).headers["location"] == "/account/password"
    )
    changed = post(trainer, "/account/password", {"current": first, "password": "Nanshan-Trainer-9",
                                                  "confirm": "Nanshan-Trainer-9"}, page="/account/password")  # fmt: skip
    assert changed.status_code == 303
    assert trainer.get("/trainer").status_code == 200
    with session_scope(empty_site.factory) as s:
        trainer_id = s.scalar(select(User.id).where(User.username == "trainer.ns"))
    # deactivated: the open session stops at once, and logging in again fails
    assert (
        post(admin, f"/admin/accounts/{trainer_id}/deactivate", page="/admin/accounts").status_code
        == 303
    )
    assert trainer.get("/trainer", follow_redirects=False).headers["location"].startswith("/login")
    assert login(trainer, "trainer.ns", "Nanshan-Trainer-9").status_code == 401
    assert (
        post(admin, f"/admin/accounts/{trainer_id}/reactivate", page="/admin/accounts").status_code
        == 303
    )
    assert login(trainer, "trainer.ns", "Nanshan-Trainer-9").status_code == 303
    # a reset: shown once, ends the trainer's session, must be changed
    reset = post(admin, f"/admin/accounts/{trainer_id}/reset-password", page="/admin/accounts")
    temporary = re.search(r'id="once-password"[^>]*>([^<]+)<', reset.text).group(1)  # type: ignore[union-attr]
    assert trainer.get("/trainer", follow_redirects=False).headers["location"].startswith("/login")
    assert login(trainer, "trainer.ns", temporary).status_code == 303
    assert (
        trainer.get("/trainer", follow_redirects=False).headers["location"] == "/account/password"
    )


def test_a_county_admin_sees_only_their_county(empty_site: Site) -> None:
    admin = empty_site.client("boss")
    build_org(admin, empty_site)
    rows = roster_rows(2) + [
        ["D00001", "东河教师", "男", "东河县实验小学", "小学", "数学", "", "", "", "", "", "在职"]
    ]
    import_roster(
        admin,
        empty_site,
        xlsx_bytes(TEMPLATE_HEADER, rows),
        "import",
        initial_password="Beixi-Start-2026",
    )
    with session_scope(empty_site.factory) as s:
        ns = s.scalar(select(Region.id).where(Region.name == "南山县"))
        other = s.scalar(select(User.id).where(User.staff_no == "D00001"))
    made = post(admin, "/admin/accounts", {"role": "admin", "username": "admin.ns", "display_name": "南山管理员",
                                           "region_id": str(ns)}, page="/admin/accounts")  # fmt: skip
    password = re.search(r'id="once-password"[^>]*>([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    county = TestClient(empty_site.app)
    empty_site.clients.append(county)
    county.__enter__()
    login(county, "admin.ns", password)
    post(county, "/account/password", {"current": password, "password": "Nanshan-Admin-42", "confirm": "Nanshan-Admin-42"},
         page="/account/password")  # fmt: skip
    roster = county.get("/admin/roster").text
    assert "T00001" in roster and "D00001" not in roster and "东河县实验小学" not in roster
    org = county.get("/admin/org").text
    assert "南山县第一小学" in org and "东河县实验小学" not in org
    assert "D00001" not in county.get("/admin/roster/export.csv").text
    assert (
        post(county, f"/admin/accounts/{other}/reset-password", page="/admin/accounts").status_code
        == 403
    )
    assert (
        post(county, f"/admin/accounts/{other}/deactivate", page="/admin/accounts").status_code
        == 403
    )


def test_schools_from_a_file_all_or_nothing_and_edited(empty_site: Site) -> None:
    admin = empty_site.client("boss")
    header = "上级区域,区县,学校名称,学校代码,学校类型,城乡类型,薄弱校,学段"
    bad = "\n".join([header, "北溪市,南山县,南山县第一小学,,小学,城区,否,小学",
                     "北溪市,南山县,南山县岭头小学,,小学,山区,是,小学",
                     "不存在市,西岭县,西岭县中学,,初级中学,乡村,否,初中"]).encode()  # fmt: skip
    refused = post(
        admin, "/admin/org/import", files={"file": ("schools.csv", bad)}, page="/admin/org"
    )
    assert refused.status_code == 422
    assert "第 3 行" in refused.text and "城乡类型" in refused.text and "第 4 行" in refused.text
    assert "南山县第一小学" not in admin.get("/admin/org").text  # the good row was not written
    good = "\n".join([header, "北溪市,南山县,南山县第一小学,,小学,城区,否,小学",
                      "北溪市,南山县,南山县岭头小学,,九年一贯制学校,乡村,是,小学、初中"]).encode()  # fmt: skip
    done = post(
        admin, "/admin/org/import", files={"file": ("schools.csv", good)}, page="/admin/org"
    )
    assert done.status_code == 303
    again = post(
        admin, "/admin/org/import", files={"file": ("schools.csv", good)}, page="/admin/org"
    )
    assert again.status_code == 303
    page = admin.get("/admin/org").text
    assert "新建区县 0 个，新建学校 0 所，更新学校 0 所，未变化 2 所" in page
    assert "南山县岭头小学" in page and "薄弱校" in page
    from yanxiu.accounts.models import School

    with session_scope(empty_site.factory) as s:
        school = s.scalar(select(School).where(School.name == "南山县岭头小学"))
        assert school is not None and school.is_weak and school.stages == ["小学", "初中"]
        school_id, county_id = school.id, school.county_id
    assert admin.get(f"/admin/org/schools/{school_id}").status_code == 200
    saved = post(admin, f"/admin/org/schools/{school_id}", {"name": "南山县岭头学校", "county_id": str(county_id),
                 "kind": "九年一贯制学校", "location": "rural", "stages": ["小学", "初中"]}, page="/admin/org")  # fmt: skip
    assert saved.status_code == 303
    with session_scope(empty_site.factory) as s:
        school = s.get(School, school_id)
        assert school is not None and school.name == "南山县岭头学校" and not school.is_weak
    renamed = post(admin, f"/admin/org/regions/{county_id}", {"name": "南山区"}, page="/admin/org")
    assert renamed.status_code == 303
    assert "南山区" in admin.get("/admin/org").text
