"""Teacher dashboard, training path partial, personal data export, compliance API."""

from __future__ import annotations

import html
import json
import re
from datetime import date

from markupsafe import escape
from sqlalchemy import select

from yanxiu.accounts.models import Role, User
from yanxiu.accounts.service import create_user
from yanxiu.catalog.models import Enrolment
from yanxiu.credits.compliance import compute_compliance
from yanxiu.credits.ledger import ledger_entries
from yanxiu.credits.models import CreditRecord
from yanxiu.practice.models import (
    Diagnosis,
    DiagnosisReview,
    DiagnosisStatus,
    PracticeRecord,
    RecordKind,
    ReviewDecision,
)
from yanxiu.programs.models import Attendance

HX = {"HX-Request": "true"}


def teacher(site, username: str = "t001") -> User:
    with site.factory() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None and user.profile is not None
        s.expunge(user.profile)
        s.expunge(user)
        return user


def report_of(site, user: User):
    with site.factory() as s:
        return compute_compliance(
            ledger_entries(s, [user.id]), policy=site.app.state.services.policy, teacher_id=user.id,
            cycle_start=user.profile.cycle_start, today=date.today(), tier=user.profile.tier,
        )  # fmt: skip


def g(x: float) -> str:
    return f"{x:g}"


def chart_spec(page: str) -> dict:
    match = re.search(r"data-chart='([^']+)'", page)
    assert match, "the page declares a chart"
    return json.loads(html.unescape(match.group(1)))


def test_dashboard_shows_the_teachers_real_figures(demo_site):
    client = demo_site.client("t001")  # starts the app (policy, search, recommender)
    user = teacher(demo_site)
    rep = report_of(demo_site, user)
    page = client.get("/teacher")
    assert page.status_code == 200
    text = page.text
    assert user.display_name in text and 'action="/logout"' in text
    assert f'{g(rep.counted_total)}<span class="of"> / {g(rep.required_total)}</span>' in text
    assert f'{g(rep.ethics_hours)}<span class="of"> / {g(rep.ethics_required)}</span>' in text
    year = rep.current_year
    assert year is not None
    assert f'{g(year.hours)}<span class="of"> / {g(year.minimum)}</span>' in text
    assert (rep.completed_on or rep.projected_completion).isoformat() in text
    assert rep.status in text
    # the chart and its table alternative carry the same numbers
    spec = chart_spec(text)
    assert spec["type"] == "bar"
    labels, counted = spec["data"]["labels"], spec["data"]["datasets"][0]["data"]
    for category, hours in rep.by_category.items():
        assert counted[labels.index(category)] == hours
        assert re.search(
            rf'<th scope="row">{category}</th>\s*<td class="num">{g(hours)}</td>', text
        )
    assert 'role="img"' in text and "aria-label=" in text
    # recent ledger entries and courses in progress
    with demo_site.factory() as s:
        newest = s.scalars(
            select(CreditRecord.title).where(CreditRecord.teacher_id == user.id)
            .order_by(CreditRecord.earned_on.desc(), CreditRecord.id.desc()).limit(3)
        ).all()  # fmt: skip
    for title in newest:
        assert str(escape(title)) in text
    assert "学习中的课程" in text and 'href="/courses/' in text
    # the path is loaded lazily, and the export is one click away
    assert 'hx-get="/teacher/path"' in text and 'hx-trigger="load"' in text
    assert 'class="path-steps"' not in text
    assert 'href="/teacher/export"' in text


def test_path_partial_lists_the_steps_with_their_reasons(demo_site):
    user = teacher(demo_site)
    client = demo_site.client("t001")
    partial = client.get("/teacher/path", headers=HX)
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith('<section class="card" id="path"')
    assert "<html" not in partial.text
    with demo_site.factory() as s:
        path = demo_site.app.state.services.recommender.recommend(
            s, teacher_id=user.id, policy=demo_site.app.state.services.policy, today=date.today()
        )
    assert path.steps
    positions = [partial.text.index(f'href="/courses/{st.code}"') for st in path.steps]
    assert positions == sorted(positions)  # in the planned order
    for step in path.steps:
        for reason in step.reasons:
            assert str(escape(reason)) in partial.text
    # a second view is served from the cache (nothing changed)
    cache = demo_site.app.state.services.path_cache
    hits = cache.hits
    assert client.get("/teacher/path", headers=HX).text == partial.text
    assert cache.hits == hits + 1
    # without htmx the same section comes inside a full page
    full = client.get("/teacher/path")
    assert "<html" in full.text and "<h1>研修路径</h1>" in full.text and 'id="path"' in full.text


def test_compliance_api_matches_the_report(demo_site):
    client = demo_site.client("t001")
    user = teacher(demo_site)
    rep = report_of(demo_site, user)
    data = client.get("/api/v1/me/compliance").json()
    assert data["counted_total"] == rep.counted_total
    assert data["ethics"] == {"hours": rep.ethics_hours, "required": rep.ethics_required,
                              "ok": rep.ethics_ok}  # fmt: skip
    assert data["status"] == rep.status and data["policy"] == "GX"
    assert {r["category"]: r["hours"] for r in data["categories"] if r["hours"]} == rep.by_category


def test_teacher_pages_are_for_teachers(demo_site):
    trainer = demo_site.client("trainer.linjiang")
    for url in ("/teacher", "/teacher/path", "/teacher/export"):
        assert trainer.get(url).status_code == 403
    assert trainer.get("/api/v1/me/compliance").status_code == 403
    anonymous = demo_site.client()
    assert (
        anonymous.get("/teacher", follow_redirects=False).headers["location"].startswith("/login")
    )
    assert anonymous.get("/api/v1/me/compliance").status_code == 401


def _practice(session, teacher_id: int, reviewer_id: int, title: str, status: DiagnosisStatus):
    record = PracticeRecord(teacher_id=teacher_id, kind=RecordKind.TRANSCRIPT, title=title,
                            text="师：同学们好。", parsed={}, sha256="0" * 64)  # fmt: skip
    session.add(record)
    session.flush()
    scores = {"提问质量": {"score": 3, "competency": "PRC-QUES", "evidence": []}}
    diagnosis = Diagnosis(record_id=record.id, model_version="test", analytics={}, scores=scores,
                          report={"summary": f"{title}的AI初稿"}, confidence=0.8, status=status)  # fmt: skip
    session.add(diagnosis)
    session.flush()
    if status != DiagnosisStatus.PENDING_REVIEW:
        session.add(DiagnosisReview(diagnosis_id=diagnosis.id, reviewer_id=reviewer_id,
                                    decision=ReviewDecision.ACCEPT, scores={"提问质量": 3},
                                    report={"summary": f"{title}的审定报告"}))  # fmt: skip
    return diagnosis


def test_export_is_a_download_of_the_teachers_own_data_only(fresh_site):
    user, other = teacher(fresh_site, "t001"), teacher(fresh_site, "t002")
    with fresh_site.factory() as s:
        trainer_id = s.scalar(select(User.id).where(User.username == "trainer.baishi"))
        reviewed = _practice(s, user.id, trainer_id, "我的已审课例", DiagnosisStatus.ACCEPTED)
        pending = _practice(s, user.id, trainer_id, "我的待审课例", DiagnosisStatus.PENDING_REVIEW)
        _practice(s, other.id, trainer_id, "别人的课例", DiagnosisStatus.ACCEPTED)
        s.commit()
        reviewed_id, pending_id = reviewed.id, pending.id
        own_records = set(
            s.scalars(select(CreditRecord.id).where(CreditRecord.teacher_id == user.id))
        )
        own_practice = list(s.scalars(
            select(PracticeRecord.id).where(PracticeRecord.teacher_id == user.id)
            .order_by(PracticeRecord.created_at, PracticeRecord.id)
        ))  # fmt: skip
        own_enrolments = set(s.scalars(select(Enrolment.id).where(Enrolment.teacher_id == user.id)))
        own_attendance = set(
            s.scalars(select(Attendance.id).where(Attendance.teacher_id == user.id))
        )
        visible = set(s.scalars(
            select(Diagnosis.id).join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
            .where(PracticeRecord.teacher_id == user.id,
                   Diagnosis.status.in_([DiagnosisStatus.ACCEPTED, DiagnosisStatus.EDITED]))
        ))  # fmt: skip
    client = fresh_site.client("t001")
    response = client.get("/teacher/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "yanxiu-t001-" in disposition
    data = response.json()
    assert data["profile"]["username"] == "t001"
    assert data["profile"]["cycle_start"] == user.profile.cycle_start.isoformat()
    assert {e["id"] for e in data["ledger"]} == own_records
    # every enrolment and attendance row of hers, and only hers (the demo gives her some of each)
    assert own_enrolments and own_attendance
    assert len(data["enrolments"]) == len(own_enrolments)
    assert len(data["attendance"]) == len(own_attendance)
    assert [r["id"] for r in data["practice_records"]] == own_practice
    assert {"我的已审课例", "我的待审课例"} <= {r["title"] for r in data["practice_records"]}
    exported = {d["diagnosis_id"]: d for d in data["reviewed_diagnoses"]}
    assert set(exported) == visible and reviewed_id in exported and pending_id not in exported
    assert exported[reviewed_id]["report"] == {"summary": "我的已审课例的审定报告"}
    raw = response.text
    assert "别人的课例" not in raw and other.username not in raw and other.display_name not in raw
    assert "password" not in raw and "argon2" not in raw
    assert data["compliance"]["counted_total"] == report_of(fresh_site, user).counted_total


def test_export_includes_voided_records_marked(fresh_site):
    user = teacher(fresh_site, "t003")  # the demo corrected one of t003's records
    with fresh_site.factory() as s:
        voided = [e.id for e in ledger_entries(s, [user.id]) if e.voided]
    assert voided
    data = fresh_site.client("t003").get("/teacher/export").json()
    assert [e["id"] for e in data["ledger"] if e["voided"]] == voided
    replacement = [e for e in data["ledger"] if e["replaces_id"] in voided]
    assert replacement and not replacement[0]["voided"]
    assert all(e["void_reason"] for e in data["ledger"] if e["voided"])


def test_a_teacher_account_without_a_profile_is_told_so(fresh_site):
    with fresh_site.factory() as s:
        create_user(s, username="t-noprofile", display_name="未建档教师", role=Role.TEACHER,
                    password=fresh_site.password)  # fmt: skip
        s.commit()
    client = fresh_site.client("t-noprofile")
    page = client.get("/teacher")
    assert page.status_code == 200 and "尚未建立教师档案" in page.text
    assert "未建档教师" in page.text
    api = client.get("/api/v1/me/compliance")
    assert api.status_code == 404 and api.json() == {"detail": "尚未建立教师档案"}
    path = client.get("/teacher/path", headers=HX)
    assert path.status_code == 200 and "研修路径暂不可用" in path.text
