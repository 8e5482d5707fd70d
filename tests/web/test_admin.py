"""Admin pages: compliance dashboard and drill-down, CSV export, catalog import, policy."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from sqlalchemy import func, select

from tests.web.helpers import form_token, login
from yanxiu.accounts.models import Region, Role, School, User
from yanxiu.catalog.models import Course
from yanxiu.reports.compliance import group_compliance, teacher_compliance


def region_id(site, code: str) -> int:
    with site.factory() as s:
        return s.scalar(select(Region.id).where(Region.code == code))


def school_of(site, county_code: str) -> int:
    with site.factory() as s:
        return s.scalar(
            select(School.id)
            .join(Region, Region.id == School.county_id)
            .where(Region.code == county_code)
        )


def test_dashboard_numbers_equal_the_compliance_aggregate(demo_site):
    client = demo_site.client("admin")
    policy = demo_site.app.state.services.policy
    with demo_site.factory() as s:
        rows = teacher_compliance(s, policy=policy, today=date.today())
        expected = {g.key: g for g in group_compliance(rows, by="county")}
        statuses = {}
        for r in rows:
            key = r.school.county.code
            statuses.setdefault(key, {}).setdefault(r.report.status, 0)
            statuses[key][r.report.status] += 1
    data = client.get("/api/v1/compliance", params={"level": "county"}).json()
    assert data["teachers"] == len(rows)
    assert [r["key"] for r in data["rows"]] == sorted(expected)
    for row in data["rows"]:
        want = expected[row["key"]].as_row()
        assert {k: row[k] for k in want} == want
        assert {k: v for k, v in row["statuses"].items() if v} == statuses[row["key"]]
    page = client.get("/admin")
    assert page.status_code == 200
    for g in expected.values():
        assert g.name in page.text and f'<td class="num">{g.teachers}</td>' in page.text
    assert page.text.count("data-chart=") == 2 and "进度滞后" in page.text


def test_drill_down_from_county_to_school_to_teachers(demo_site):
    client = demo_site.client("admin")
    county = client.get(f"/admin/regions/{region_id(demo_site, 'GX0102')}")
    assert county.status_code == 200 and "白石县龙潭乡中心小学" in county.text
    with demo_site.factory() as s:
        school = s.scalar(select(School).where(School.code == "BS-LT-XX"))
        usernames = s.scalars(
            select(User.username).where(User.school_id == school.id, User.role == Role.TEACHER)
        ).all()
    assert f'href="/admin/schools/{school.id}"' in county.text
    page = client.get(f"/admin/schools/{school.id}")
    assert page.status_code == 200 and school.name in page.text and usernames
    assert all(u in page.text for u in usernames)
    # aggregates only: no teacher's practice record or diagnosis review (hour claims are theirs)
    assert not re.search(r'href="/(practice|review)(/\d|")', page.text)
    city = client.get(f"/admin/regions/{region_id(demo_site, 'GX01')}")
    assert city.status_code == 200 and "白石县" in city.text and "云岭县" in city.text


def test_county_admin_cannot_see_another_county(demo_site):
    client = demo_site.client("admin.baishi")
    dash = client.get("/admin")
    assert dash.status_code == 200 and "白石县" in dash.text and "云岭县" not in dash.text
    assert client.get(f"/admin/schools/{school_of(demo_site, 'GX0103')}").status_code == 403
    assert client.get(f"/admin/regions/{region_id(demo_site, 'GX0103')}").status_code == 403
    assert client.get(f"/admin/regions/{region_id(demo_site, 'GX01')}").status_code == 403
    assert client.get(f"/admin/schools/{school_of(demo_site, 'GX0102')}").status_code == 200
    assert client.get("/admin/schools/999999").status_code == 404
    rows = client.get("/api/v1/compliance", params={"level": "county"}).json()["rows"]
    assert [r["name"] for r in rows] == ["白石县"]
    assert login(client, "trainer.baishi", demo_site.password).status_code == 303
    assert client.get("/admin").status_code == 403


def test_csv_has_a_bom_and_the_admins_rows(demo_site):
    client = demo_site.client("admin.baishi")
    response = client.get("/admin/compliance.csv", params={"level": "teacher"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = table[0], table[1:]
    assert header[:4] == ["用户名", "姓名", "学校", "区县"] and "状态" in header
    policy = demo_site.app.state.services.policy
    with demo_site.factory() as s:
        mine = teacher_compliance(
            s, policy=policy, today=date.today(), region_id=region_id(demo_site, "GX0102")
        )
    assert sorted(r[0] for r in body) == sorted(r.user.username for r in mine)
    assert {r[3] for r in body} == {"白石县"}
    status = dict(
        zip((r.user.username for r in mine), (r.report.status for r in mine), strict=True)
    )
    assert all(r[header.index("状态")] == status[r[0]] for r in body)
    county = client.get("/admin/compliance.csv", params={"level": "county"}).content.decode(
        "utf-8-sig"
    )
    assert len(list(csv.reader(io.StringIO(county)))) == 2  # header + 白石县
    assert client.get("/admin/compliance.csv", params={"level": "nation"}).status_code == 422


def test_policy_page_shows_the_policy_in_force(demo_site):
    policy = demo_site.app.state.services.policy
    page = demo_site.client("admin").get("/admin/policy").text
    assert policy.name in page
    for number in (
        policy.total_hours,
        policy.yearly_minimum,
        policy.ethics_minimum,
        policy.induction_hours,
    ):
        assert f"{number:g}" in page
    for category, hours in policy.category_minimums.items():
        assert category in page and f"{hours:g}" in page
    assert "校本研修" in page and "须经审核认定后计入" in page and "不设上限" in page


HEADER = "id,title,summary,outline,category,stages,subjects,hours,format,competencies,provider\n"
GOOD = (
    "XK-SX-91,小学数学量感培养的课堂策略,结合度量单元的典型课例讲解如何通过估测、实测和比较活动帮助学生建立量感。,"
    "量感的内涵;估测活动设计;课例评析,学科教学,小学,数学,6,online,SUB-LITERACY;PRC-ASSESS,青川市教师发展中心\n"
)
BAD = "XK-SX-92,短,太短了,x,学科教学,小学,数学,七,online,SUB-LITERACY,青川市教师发展中心\n"


def upload(client, text: str, name: str = "新增课程.csv"):
    page = client.get("/admin/catalog")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    return client.post(
        "/admin/catalog/import",
        files={"file": (name, text.encode("utf-8"), "text/csv")},
        data={"csrf_token": form_token(page.text)},
        follow_redirects=False,
    )


def course_count(site) -> int:
    with site.factory() as s:
        return s.scalar(select(func.count(Course.id)))


def test_import_with_a_bad_row_names_the_row_and_imports_nothing(fresh_site):
    client = fresh_site.client("admin")
    before = course_count(fresh_site)
    response = upload(client, HEADER + GOOD + BAD)
    assert response.status_code == 303 and response.headers["location"].startswith("/jobs/")
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    job = fresh_site.app.state.services.jobs.wait(job_id)
    assert job.status.value == "failed" and "未导入任何数据" in job.error
    page = client.get(f"/jobs/{job_id}").text
    assert "第 3 行" in page and "XK-SX-92" in page and "学时" in page
    assert course_count(fresh_site) == before
    with fresh_site.factory() as s:
        assert s.scalar(select(Course.id).where(Course.code == "XK-SX-91")) is None
    detail = client.get(f"/api/v1/jobs/{job_id}").json()["detail"]
    assert detail["state"] == "rejected" and [p["row_number"] for p in detail["problems"]] == [3]
    assert "被拒绝" in client.get("/admin/catalog").text


def test_a_good_import_finishes_and_is_searchable(fresh_site):
    client = fresh_site.client("admin")
    before = course_count(fresh_site)
    response = upload(client, HEADER + GOOD)
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    job = fresh_site.app.state.services.jobs.wait(job_id, timeout=120)
    assert job.status.value == "done", job.error
    assert "新增 1 条" in job.result
    assert course_count(fresh_site) == before + 1
    page = client.get(f"/jobs/{job_id}").text
    assert "已完成" in page and "已更新" in page and "hx-trigger" not in page
    hits = fresh_site.app.state.services.search.search("量感培养", k=5, mode="lexical")
    assert "XK-SX-91" in [h.doc.code for h in hits]
    catalog = client.get("/admin/catalog").text
    assert "新增课程.csv" in catalog and "已导入" in catalog


def test_import_refuses_other_file_types_and_other_roles(fresh_site):
    client = fresh_site.client("admin")
    response = upload(client, "just text", name="目录.txt")
    assert response.status_code == 303 and response.headers["location"] == "/admin/catalog"
    assert "请上传 CSV、JSON 或 YAML 文件" in client.get("/admin/catalog").text
    assert login(client, "trainer.linjiang", fresh_site.password).status_code == 303
    token = form_token(client.get("/trainer").text)
    denied = client.post("/admin/catalog/import", files={"file": ("a.csv", b"id\n", "text/csv")},
                          data={"csrf_token": token})  # fmt: skip
    assert denied.status_code == 403


def test_a_dashboard_without_todays_snapshots_queues_their_refresh(fresh_site):
    """The first dashboard of a day with no snapshot (a nightly refresh missed) computes from
    the ledger and queues the refresh; once it has run, dashboards read the snapshots."""
    from sqlalchemy import delete

    from yanxiu.reports import snapshot
    from yanxiu.reports.models import ComplianceWatermark

    services = fresh_site.app.state.services
    with fresh_site.factory() as s:
        s.execute(delete(ComplianceWatermark))
        s.commit()
        assert not snapshot.serves(s, services.policy, date.today())
    client = fresh_site.client("admin")
    before = client.get("/admin").text
    queued = services.jobs.list(kind="compliance_refresh")
    assert len(queued) == 1
    assert services.jobs.wait(queued[0].id, timeout=120).status.value == "done"
    with fresh_site.factory() as s:
        assert snapshot.serves(s, services.policy, date.today())
    client.get("/admin")
    assert len(services.jobs.list(kind="compliance_refresh")) == 1  # not queued again
    after = client.get("/admin").text
    assert len(_figures(before)) > 10 and _figures(after) == _figures(before)  # same numbers


def _figures(page: str) -> list[str]:
    import re

    return re.findall(r"<td[^>]*>\s*([\d.,%]+)\s*</td>", page)
