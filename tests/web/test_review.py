"""Trainer review: queue (order, scope, contests), review page, accept/edit/reject, re-scoring.

The demo's trainer.linjiang (临江区) has pending drafts and one contested diagnosis (t047).
"""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from tests.web.helpers import form_token
from tests.web.test_practice import LECTURE, record_of
from yanxiu.accounts.models import User
from yanxiu.audit.models import AuditEntry
from yanxiu.practice.models import Diagnosis, DiagnosisReview, DiagnosisStatus, PracticeRecord


def _upload_via_api(client, title: str = "行程问题（随堂课）") -> dict:
    token = form_token(client.get("/practice").text)
    response = client.post(
        "/api/v1/practice",
        data={"kind": "transcript", "title": title},
        files={"file": ("实录.txt", LECTURE.encode("utf-8"), "text/plain")},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_queue_is_scoped_ordered_and_flags_contests(demo_site):
    trainer = demo_site.client("trainer.linjiang")
    items = trainer.get("/api/v1/review/queue").json()["items"]
    assert items, "the demo gives the trainer something to review"
    with demo_site.factory() as s:
        regions = {
            s.scalar(select(User.region_id).where(User.username == i["teacher"])) for i in items
        }
        linjiang = s.scalar(select(User.region_id).where(User.username == "trainer.linjiang"))
    assert regions == {linjiang}
    contested = [i for i in items if i["contested"]]
    assert (
        len(contested) == 1 and contested[0]["teacher"] == "t047" and contested[0]["contest_reason"]
    )
    # the dispute first, then by urgency: confidence less 0.05 per day waited
    assert items[0] == contested[0]
    rest = items[1:]
    assert [i["urgency"] for i in rest] == sorted(i["urgency"] for i in rest)
    # the demo's drafts have waited: urgency is below confidence by 0.05 a day
    assert all(i["urgency"] < i["confidence"] for i in items if not i["contested"])
    html = trainer.get("/review").text
    assert html.count('href="/review/') >= len(items)
    assert "申诉" in html and contested[0]["contest_reason"][:12] in html
    assert 'action="/review/rescore"' in html

    baishi = demo_site.client("trainer.baishi").get("/api/v1/review/queue").json()["items"]
    assert baishi and not {i["diagnosis_id"] for i in baishi} & {i["diagnosis_id"] for i in items}
    city = demo_site.client("admin").get("/api/v1/review/queue").json()["items"]
    assert {i["diagnosis_id"] for i in items} | {i["diagnosis_id"] for i in baishi} <= {
        i["diagnosis_id"] for i in city
    }


def test_review_page_highlights_evidence_and_offers_every_score(demo_site):
    _, diagnosis_id = record_of(demo_site, "t047")
    html = demo_site.client("trainer.linjiang").get(f"/review/{diagnosis_id}").text
    refs = set(re.findall(r'href="#u-(\d+)"', html))
    assert refs and all(f'id="u-{r}"' in html for r in refs)
    assert "px-evidence" in html and "<mark>" in html
    for dim in ("提问质量", "学生参与", "反馈评价", "课堂互动", "思维深度", "教学目标达成"):
        assert f'name="score:{dim}"' in html and f"{dim} 审定分数</label>" in html
    # contested: the form starts from the decided scores, and shows the teacher's reason
    assert "教师申诉" in html and "复习课" in html
    assert 'name="action" value="accept"' in html and 'value="reject"' in html
    specs = [json.loads(m) for m in re.findall(r"data-chart='([^']+)'", html)]
    assert {"radar", "scatter"} <= {s["type"] for s in specs}


def test_lesson_plan_review_marks_sections(demo_site):
    with demo_site.factory() as s:
        diagnosis_id = s.scalar(
            select(Diagnosis.id)
            .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
            .where(PracticeRecord.kind == "lesson_plan", Diagnosis.status == DiagnosisStatus.PENDING_REVIEW)
            .order_by(Diagnosis.id)
        )  # fmt: skip
    html = demo_site.client("trainer.linjiang").get(f"/review/{diagnosis_id}").text
    assert 'id="sec-教学目标"' in html and 'href="#sec-教学目标' in html
    assert "缺少" in html  # the weak plan has no 学情分析


def test_upload_review_edit_and_the_teacher_sees_the_reviewed_diagnosis(fresh_site):
    t010 = fresh_site.client("t010")
    created = _upload_via_api(t010)
    diagnosis_id = created["diagnosis_id"]
    trainer = fresh_site.client("trainer.linjiang")
    queue = trainer.get("/api/v1/review/queue").json()["items"]
    assert diagnosis_id in [i["diagnosis_id"] for i in queue]

    page = trainer.get(f"/review/{diagnosis_id}")
    assert page.status_code == 200 and "行程问题（随堂课）" in page.text
    ai = {
        d: int(v)
        for d, v in re.findall(
            r'name="score:([^"]+)">.*?<option value="(\d)" selected', page.text, re.S
        )
    }
    assert len(ai) == 6
    new = 1 if ai["反馈评价"] != 1 else 3
    form = {f"score:{d}": str(v) for d, v in ai.items()} | {
        "score:反馈评价": str(new), "action": "edit", "comment": "学生回答后缺少追问",
        "summary": "提问多为封闭式，建议增加追问。", "extra_suggestion": "请观摩周敏老师的追问课例。",
        "csrf_token": form_token(page.text),
    }  # fmt: skip
    response = trainer.post(f"/review/{diagnosis_id}", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/review"
    assert "已修改并通过" in trainer.get("/review").text  # flash

    record_page = t010.get(created["url"]).text
    assert "AI 生成，经培训者审核" in record_page
    assert "学生回答后缺少追问" in record_page and "提问多为封闭式，建议增加追问。" in record_page
    assert "请观摩周敏老师的追问课例。" in record_page and "培训者补充" in record_page
    assert "data-chart" in record_page and "px-fias-heat" in record_page
    api = t010.get(f"/api/v1/practice/{created['id']}").json()
    assert api["status"] == "edited" and api["diagnosis"]["scores"]["反馈评价"]["score"] == new

    # decided: a second decision is refused (append-only, one decision until a contest)
    again = trainer.post(f"/review/{diagnosis_id}", data=form | {"action": "accept"})
    assert again.status_code == 409 and "不在审核队列" in again.text
    with fresh_site.factory() as s:
        reviews = list(
            s.scalars(select(DiagnosisReview).where(DiagnosisReview.diagnosis_id == diagnosis_id))
        )
        audit = list(
            s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(diagnosis_id)))
        )
    assert [r.decision.value for r in reviews] == ["edit"] and reviews[0].scores["反馈评价"] == new
    assert "diagnosis.edit" in audit


def test_lowering_a_strong_score_rebuilds_strengths_and_summary(fresh_site):
    """Regression: an edited diagnosis listed a dimension both as a strength (AI score) and as a
    priority weakness (trainer's score), and kept the AI's one-line summary."""
    import html

    t010 = fresh_site.client("t010")
    created = _upload_via_api(t010)
    trainer = fresh_site.client("trainer.linjiang")
    page = trainer.get(f"/review/{created['diagnosis_id']}").text
    ai = {
        d: int(v)
        for d, v in re.findall(r'name="score:([^"]+)">.*?<option value="(\d)" selected', page, re.S)
    }
    strongest = max(ai, key=lambda d: ai[d])
    shown = re.search(r'<textarea id="summary" name="summary"[^>]*>(.*?)</textarea>', page, re.S)
    assert shown is not None
    form = {f"score:{d}": str(v) for d, v in ai.items()} | {
        f"score:{strongest}": "1", "action": "edit", "summary": html.unescape(shown.group(1)),
        "csrf_token": form_token(page),
    }  # fmt: skip
    response = trainer.post(f"/review/{created['diagnosis_id']}", data=form, follow_redirects=False)
    assert response.status_code == 303

    report = t010.get(f"/api/v1/practice/{created['id']}").json()["diagnosis"]["report"]
    assert strongest not in [s["dimension"] for s in report["strengths"]]
    assert all(s["score"] >= 4 for s in report["strengths"])
    assert strongest in [w["dimension"] for w in report["weaknesses"]]
    assert strongest in report["summary"].split("优先改进：")[1]


def test_reject_needs_a_reason_and_the_teacher_sees_only_the_reason(fresh_site):
    t010 = fresh_site.client("t010")
    created = _upload_via_api(t010, title="待退回的实录")
    trainer = fresh_site.client("trainer.linjiang")
    url = f"/review/{created['diagnosis_id']}"
    token = form_token(trainer.get(url).text)
    refused = trainer.post(url, data={"action": "reject", "comment": "", "csrf_token": token})
    assert refused.status_code == 422 and "理由" in refused.text
    done = trainer.post(url, data={"action": "reject", "comment": "实录不完整，请上传整节课", "csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    page = t010.get(created["url"]).text
    assert "已退回" in page and "实录不完整，请上传整节课" in page
    assert "AI 生成，经培训者审核" not in page and "data-chart" not in page
    api = t010.get(f"/api/v1/practice/{created['id']}").json()
    assert api["status"] == "rejected" and api["diagnosis"] is None
    assert api["rejection_comment"] == "实录不完整，请上传整节课"


def test_api_review_accept_with_changes_is_recorded_as_an_edit(fresh_site):
    created = _upload_via_api(fresh_site.client("t010"))
    trainer = fresh_site.client("trainer.linjiang")
    token = form_token(trainer.get("/review").text)
    url = f"/api/v1/review/{created['diagnosis_id']}"
    assert trainer.post(url, json={"action": "accept"}).status_code == 403  # no CSRF header
    headers = {"X-CSRF-Token": token}
    bad = trainer.post(url, json={"action": "edit", "scores": {"不存在": 3}}, headers=headers)
    assert bad.status_code == 422
    bad = trainer.post(url, json={"action": "edit", "scores": {"提问质量": 9}}, headers=headers)
    assert bad.status_code == 422
    draft = trainer.get(f"/api/v1/practice/{created['id']}").json()["draft"]
    score = draft["scores"]["思维深度"]["score"]
    ok = trainer.post(url, json={"action": "accept", "scores": {"思维深度": 5 if score != 5 else 4},
                                 "comment": "思维深度可再高一档"}, headers=headers)  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["decision"] == "edit" and ok.json()["status"] == "edited"
    outsider = fresh_site.client("trainer.baishi")
    token = form_token(outsider.get("/review").text)
    refused = outsider.post(url, json={"action": "accept"}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 403


def test_rescore_runs_as_a_job_over_the_pending_drafts_in_scope(fresh_site):
    trainer = fresh_site.client("trainer.linjiang")
    with fresh_site.factory() as s:
        pending = s.scalar(
            select(func.count(Diagnosis.id))
            .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
            .join(User, User.id == PracticeRecord.teacher_id)
            .where(Diagnosis.status == DiagnosisStatus.PENDING_REVIEW,
                   User.region_id == select(User.region_id).where(User.username == "trainer.linjiang").scalar_subquery())
        )  # fmt: skip
    assert pending
    token = form_token(trainer.get("/review").text)
    response = trainer.post("/review/rescore", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    job = fresh_site.app.state.services.jobs.wait(job_id, timeout=60)
    assert job.status == "done", job.error
    assert job.total == pending and job.done == pending and f"{pending} 份" in job.result
    assert trainer.get(f"/jobs/{job_id}").status_code == 200
    with fresh_site.factory() as s:
        rescored = s.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "diagnosis.rescore")
        )
        statuses = set(s.scalars(select(Diagnosis.status)))
    assert rescored == pending
    assert DiagnosisStatus.CONTESTED in statuses  # the contested one was left alone

    api = trainer.post("/api/v1/review/rescore", headers={"X-CSRF-Token": token})
    assert api.status_code == 202 and api.json()["url"] == f"/jobs/{api.json()['job_id']}"
    fresh_site.app.state.services.jobs.wait(api.json()["job_id"], timeout=60)
