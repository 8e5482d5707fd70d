"""Teacher practice pages and the practice API: upload, status, reviewed diagnosis, contest.

The demo seeds practice records (yanxiu.seed.practice_demo): t001 (白石县) has a diagnosis
reviewed by trainer.baishi; t047 (临江区) a contested one. Tests that write use fresh_site.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import func, select

from tests.web.helpers import form_token
from yanxiu.accounts.models import User
from yanxiu.audit.models import AuditEntry
from yanxiu.practice.models import Diagnosis, DiagnosisStatus, PracticeRecord

LECTURE = (
    "[00:12:10] 师：今天我们学习行程问题。路程等于速度乘以时间，对不对？\n"
    "[00:12:28] 众生：对。\n"
    "[00:12:30] 师：相遇的时候，两车走的路程加起来等于什么？\n"
    "[00:12:40] 生A：等于全程，因为两车是相向而行的。\n"
    "[00:12:52] 师：很好，你说到了相向而行，谁能用线段图说明为什么是路程和？\n"
    "[00:13:10] 生B：我觉得可以画两条线段，从两端往中间走，合起来正好是全程。\n"
    "[00:13:30] 师：好，我们来做练习，总结一下今天学到了什么？\n"
)


def counts(site) -> tuple[int, int]:
    with site.factory() as s:
        return (
            s.scalar(select(func.count(PracticeRecord.id))) or 0,
            s.scalar(select(func.count(Diagnosis.id))) or 0,
        )


def record_of(site, username: str, status: DiagnosisStatus | None = None) -> tuple[int, int]:
    """(record id, diagnosis id) of a teacher's first record (with that status)."""
    with site.factory() as s:
        query = (
            select(PracticeRecord.id, Diagnosis.id)
            .join(Diagnosis, Diagnosis.record_id == PracticeRecord.id)
            .join(User, User.id == PracticeRecord.teacher_id)
            .where(User.username == username)
            .order_by(PracticeRecord.id)
        )
        if status is not None:
            query = query.where(Diagnosis.status == status)
        row = s.execute(query).first()
    assert row is not None, f"{username} has a practice record"
    return row[0], row[1]


def upload(
    client, *, data: bytes, name: str = "实录.txt", title: str = "行程问题", kind="transcript"
):
    token = form_token(client.get("/practice").text)
    return client.post(
        "/practice",
        data={"kind": kind, "title": title, "csrf_token": token},
        files={"file": (name, data, "text/plain")},
        follow_redirects=False,
    )


def test_upload_stores_a_pending_record_and_the_teacher_never_sees_the_ai_draft(fresh_site):
    t010 = fresh_site.client("t010")
    before = counts(fresh_site)
    response = upload(t010, data=LECTURE.encode("gbk"), name="行程问题实录.txt")
    assert response.status_code == 303
    record_url = response.headers["location"]
    assert re.fullmatch(r"/practice/\d+", record_url)
    assert counts(fresh_site) == (before[0] + 1, before[1] + 1)

    page = t010.get(record_url)
    assert page.status_code == 200
    assert "待审核" in page.text and "等待培训者审核" in page.text
    assert "AI 生成，经培训者审核" not in page.text and "data-chart" not in page.text
    assert "今天我们学习行程问题" in page.text  # their own text (decoded from GBK) is shown

    listing = t010.get("/practice")
    assert "行程问题" in listing.text and "待审核" in listing.text

    record_id = int(record_url.rsplit("/", 1)[1])
    api = t010.get(f"/api/v1/practice/{record_id}").json()
    assert api["status"] == "pending_review" and api["status_label"] == "待审核"
    assert api["diagnosis"] is None and api["draft"] is None
    assert "scores" not in json.dumps(api)


BAD_FILES = [  # (bytes, filename, HTTP status, what the message must say)
    ("[00:00:01] 师：好\n[00:00:03] 老师今天讲了方程\n".encode(), "a.txt", 422, "第2行"),
    ("[00:00:05] 生：好。\n".encode(), "b.txt", 422, "没有教师发言"),
    (b"%PDF-1.4 binary", "c.pdf", 422, "不支持"),
    (("[00:00:01] 师：" + "好" * 100 + "\n").encode() * 8000, "d.txt", 413, "2 MB"),
]


def test_a_bad_file_is_refused_with_its_line_and_nothing_is_stored(demo_site):
    client = demo_site.client("t010")  # one client for every case: logging in costs seconds
    before = counts(demo_site)
    for data, name, status, message in BAD_FILES:
        response = upload(client, data=data, name=name, title="我的坏文件")
        assert response.status_code == status, name
        error = re.search(r'role="alert" id="upload-error">(.*?)</div>', response.text, re.S)
        assert error and message in error.group(1), name
        assert 'value="我的坏文件"' in response.text  # the form keeps the title
    assert counts(demo_site) == before


def test_api_upload_answers_201_or_422_with_the_line(fresh_site):
    t010 = fresh_site.client("t010")
    token = form_token(t010.get("/practice").text)
    headers = {"X-CSRF-Token": token}
    ok = t010.post("/api/v1/practice", data={"kind": "transcript", "title": "API 上传",
                                             "text": LECTURE}, headers=headers)  # fmt: skip
    assert ok.status_code == 201
    body = ok.json()
    assert set(body) == {"id", "diagnosis_id", "status", "status_label", "kind", "title", "url"}
    assert body["status"] == "pending_review" and body["url"] == f"/practice/{body['id']}"
    bad = t010.post("/api/v1/practice", data={"kind": "transcript", "text": "师：好\n没有说话人\n[00:01] x"},
                    headers=headers)  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["detail"]["line"] == 3 and "第3行" in bad.json()["detail"]["message"]
    mine = t010.get("/api/v1/practice").json()["records"]
    assert [r["id"] for r in mine] == [body["id"]]
    assert mine[0]["teacher"] == "t010" and mine[0]["status_label"] == "待审核"


def test_writes_without_the_csrf_token_are_refused(demo_site):
    client = demo_site.client("t010")
    before = counts(demo_site)
    response = client.post("/practice", data={"kind": "transcript", "title": "x", "text": LECTURE})
    assert response.status_code == 403
    response = client.post("/api/v1/practice", data={"kind": "transcript", "text": LECTURE})
    assert response.status_code == 403
    record_id, _ = record_of(demo_site, "t001")
    assert (
        client.post(f"/api/v1/practice/{record_id}/contest", json={"reason": "x"}).status_code
        == 403
    )
    assert counts(demo_site) == before


def test_t001_sees_the_reviewed_diagnosis_with_evidence_charts_and_resources(demo_site):
    t001 = demo_site.client("t001")
    listing = t001.get("/practice").text
    assert "已审核" in listing
    record_id, _ = record_of(demo_site, "t001")
    page = t001.get(f"/practice/{record_id}")
    assert page.status_code == 200
    html = page.text
    assert "AI 生成，经培训者审核" in html and "yanxiu-rubric" in html
    assert "蒙丽娟" in html  # trainer.baishi reviewed it, and their comment is shown
    assert "反馈评价下调为 2 分" in html
    assert "培训者补充" in html
    # evidence links point at utterance anchors that exist on the page
    refs = set(re.findall(r'href="#u-(\d+)"', html))
    assert refs and all(f'id="u-{r}"' in html for r in refs)
    # the three charts: rubric radar, Rt–Ch scatter, S-T curve; FIAS as an accessible table
    specs = [json.loads(m) for m in re.findall(r"data-chart='([^']+)'", html)]
    assert {s["type"] for s in specs} >= {"radar", "scatter", "bar"}
    radar = next(s for s in specs if s["type"] == "radar")
    assert len(radar["data"]["labels"]) == 6 and 2 in radar["data"]["datasets"][0]["data"]
    assert 'class="px-fias-heat"' in html and '<th scope="row">4 提问</th>' in html
    assert re.search(r'<td class="px-heat-[1-5][^"]*" title="[^"]+">\d+</td>', html)
    assert re.search(r'href="/courses/[A-Z]{2}-\d{3}"', html)  # recommended resources
    assert f'href="/practice/{record_id}/contest"' in html  # a confirmation step first

    api = t001.get(f"/api/v1/practice/{record_id}").json()
    assert api["status"] == "edited" and api["draft"] is None
    assert api["diagnosis"]["scores"]["反馈评价"]["score"] == 2
    assert api["diagnosis"]["scores"]["反馈评价"]["ai_score"] != 2


def test_other_teachers_and_outside_trainers_get_403(demo_site):
    record_id, diagnosis_id = record_of(demo_site, "t047")  # 临江区, contested
    other = demo_site.client("t010")
    assert other.get(f"/practice/{record_id}").status_code == 403
    assert other.get(f"/api/v1/practice/{record_id}").status_code == 403
    token = form_token(other.get("/practice").text)
    assert other.post(f"/practice/{record_id}/contest", data={"reason": "x", "csrf_token": token},
                      follow_redirects=False).status_code == 403  # fmt: skip
    assert other.post(f"/api/v1/practice/{record_id}/contest", json={"reason": "x"},
                      headers={"X-CSRF-Token": token}).status_code == 403  # fmt: skip
    assert other.get("/review").status_code == 403
    assert other.get("/api/v1/review/queue").status_code == 403

    outsider = demo_site.client("trainer.baishi")  # 白石县: not 临江区
    assert outsider.get(f"/practice/{record_id}").status_code == 403
    assert outsider.get(f"/review/{diagnosis_id}").status_code == 403
    assert outsider.get(f"/api/v1/practice/{record_id}").status_code == 403
    assert outsider.get("/api/v1/practice", params={"teacher": "t047"}).status_code == 403

    city_admin = demo_site.client("admin")  # 青川市 covers every county
    assert city_admin.get(f"/practice/{record_id}").status_code == 200
    assert city_admin.get(f"/api/v1/practice/{record_id}").json()["draft"] is not None

    anonymous = demo_site.client()
    assert anonymous.get(f"/practice/{record_id}", follow_redirects=False).status_code == 303
    assert anonymous.get("/api/v1/practice").status_code == 401
    assert demo_site.client("t001").get(f"/practice/{10**6}").status_code == 404


def test_contesting_a_reviewed_diagnosis_returns_it_to_the_queue(fresh_site):
    record_id, diagnosis_id = record_of(fresh_site, "t001")
    t001 = fresh_site.client("t001")
    # the confirmation step says what happens and who will review it, before anything changes
    page = t001.get(f"/practice/{record_id}/contest").text
    with fresh_site.factory() as s:
        reviewer = s.scalar(select(User.display_name).where(User.username == "trainer.baishi"))
    assert "确认提出申诉" in page and reviewer in page and "仍在记录页显示" in page
    response = t001.post(
        f"/practice/{record_id}/contest",
        data={
            "reason": "这节课的讨论环节在实录之外，学生参与不止这些",
            "csrf_token": form_token(page),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = t001.get(f"/practice/{record_id}").text
    assert "申诉中" in page and "学生参与不止这些" in page and reviewer in page
    assert "AI 生成，经培训者审核" in page  # still visible while it is re-reviewed
    assert f'href="/practice/{record_id}/contest"' not in page  # one contest at a time
    confirm_again = t001.get(f"/practice/{record_id}/contest", follow_redirects=False)
    assert confirm_again.status_code == 303
    assert t001.get(f"/api/v1/practice/{record_id}").json()["diagnosis"]["status"] == "contested"
    token = form_token(page)
    again = t001.post(f"/api/v1/practice/{record_id}/contest", json={"reason": "再次申诉"},
                      headers={"X-CSRF-Token": token})  # fmt: skip
    assert again.status_code == 409

    trainer = fresh_site.client("trainer.baishi")
    queue = trainer.get("/api/v1/review/queue").json()["items"]
    item = next(i for i in queue if i["diagnosis_id"] == diagnosis_id)
    assert item["contested"] and "学生参与不止这些" in item["contest_reason"]
    html = trainer.get("/review").text
    assert "申诉" in html and "学生参与不止这些" in html
    with fresh_site.factory() as s:
        actions = set(
            s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(diagnosis_id)))
        )
    assert "diagnosis.contest" in actions


def test_empty_contest_reason_is_refused(fresh_site):
    record_id, _ = record_of(fresh_site, "t001")
    t001 = fresh_site.client("t001")
    token = form_token(t001.get(f"/practice/{record_id}").text)
    response = t001.post(
        f"/practice/{record_id}/contest", data={"reason": " ", "csrf_token": token}
    )
    assert response.status_code == 200 and "请写明申诉理由" in response.text
    assert "AI 生成，经培训者审核" in response.text  # still reviewed, nothing changed


# ---------------------------------------------------------------- diagnoses stored before the types

STORED = json.loads(
    (Path(__file__).parents[1] / "practice" / "data" / "stored_drafts_v1.json").read_text("utf-8")
)["records"]


def _store_as_written_before(site, teacher: str, reviewer: str) -> list[tuple[int, dict]]:
    """The fixture's records for ``teacher``, their drafts and reviews written as the plain JSON
    the untyped code stored (past the typed columns); [(record id, fixture record)]."""
    draft_columns = ("analytics", "scores", "report")
    diagnoses = sa.table("diagnoses", sa.column("id"), sa.column("record_id"), sa.column("model_version"),
                         sa.column("confidence"), sa.column("status"), sa.column("created_at", sa.DateTime(timezone=True)),
                         *[sa.column(c, sa.JSON) for c in draft_columns])  # fmt: skip
    reviews = sa.table("diagnosis_reviews", sa.column("diagnosis_id"), sa.column("reviewer_id"), sa.column("decision"),
                       sa.column("comment"), sa.column("created_at", sa.DateTime(timezone=True)),
                       *[sa.column(c, sa.JSON) for c in ("scores", "report")])  # fmt: skip
    out = []
    with site.factory() as s, s.begin():
        teacher_id = s.scalar(select(User.id).where(User.username == teacher))
        reviewer_id = s.scalar(select(User.id).where(User.username == reviewer))
        for stored in STORED:
            record = PracticeRecord(teacher_id=teacher_id, **{k: stored[k] for k in (
                "kind", "title", "stage", "subject", "filename", "source_format", "text", "parsed", "sha256")})  # fmt: skip
            s.add(record)
            s.flush()
            now = datetime.now(UTC)
            s.execute(
                sa.insert(diagnoses).values(
                    record_id=record.id, created_at=now, **stored["diagnosis"]
                )
            )
            diagnosis_id = s.scalar(select(Diagnosis.id).where(Diagnosis.record_id == record.id))
            for review in stored["reviews"]:
                by = teacher_id if review["decision"] == "contest" else reviewer_id
                s.execute(
                    sa.insert(reviews).values(
                        diagnosis_id=diagnosis_id, reviewer_id=by, created_at=now, **review
                    )
                )
            out.append((record.id, stored))
    return out


def test_diagnoses_stored_before_the_types_still_show_as_they_were(fresh_site):
    stored = _store_as_written_before(fresh_site, "t010", "trainer.linjiang")
    trainer, teacher = fresh_site.client("trainer.linjiang"), fresh_site.client("t010")
    for record_id, data in stored:
        draft, status = data["diagnosis"], data["diagnosis"]["status"]
        # the reviewer: the review page, and the full draft in the API exactly as it was stored
        api = trainer.get(f"/api/v1/practice/{record_id}").json()
        assert api["status"] == status, data["title"]
        assert {k: api["draft"][k] for k in ("scores", "analytics", "report")} == {
            k: draft[k] for k in ("scores", "analytics", "report")
        }
        page = trainer.get(f"/review/{api['diagnosis_id']}")
        assert page.status_code == 200, data["title"]
        waiting = status in ("pending_review", "contested")
        for dim in draft["scores"]:
            assert dim in page.text and (f'name="score:{dim}"' in page.text) == waiting
        if data["kind"] == "transcript":  # the evidence, marked in the transcript and linked
            assert "<mark>" in page.text and "px-fias-heat" in page.text
            refs = set(re.findall(r'href="#u-(\d+)"', page.text))
            assert all(f'id="u-{r}"' in page.text for r in refs) and (bool(refs) == waiting)
        # the teacher: the reviewed report as decided, else the status and the reason
        html = teacher.get(f"/practice/{record_id}").text
        mine = teacher.get(f"/api/v1/practice/{record_id}").json()
        decided = [r for r in data["reviews"] if r["decision"] in ("accept", "edit")]
        if status in ("accepted", "edited", "contested"):  # a contested one stays visible
            assert "AI 生成，经培训者审核" in html and "data-chart" in html
            assert mine["diagnosis"]["report"] == decided[-1]["report"]
            assert all(
                mine["diagnosis"]["scores"][d]["score"] == s
                for d, s in decided[-1]["scores"].items()
            )
        else:
            assert mine["diagnosis"] is None and "AI 生成，经培训者审核" not in html
        if status == "rejected":
            assert data["reviews"][-1]["comment"] in html
        if status == "contested":
            assert "申诉中" in html and data["reviews"][-1]["comment"] in html
