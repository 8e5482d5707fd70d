"""Programmes over HTTP: a trainer plans one, teachers register (the last place is a 409),
the code checks a teacher in, the ledger and the report show the hours; scope holds."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta

from sqlalchemy import select

from tests.web.helpers import form_token
from yanxiu.accounts.models import Role, User
from yanxiu.programs.checkin import checkin_code
from yanxiu.programs.clock import store_wall, wall_now
from yanxiu.programs.models import OfflineSession, Program

TRAINER, TEACHER = "trainer.linjiang", "t112"


def _neighbour(site) -> str:
    """Another active teacher of t112's school (same county, same audience)."""
    with site.factory() as s:
        me = s.scalar(select(User).where(User.username == TEACHER))
        return s.scalars(
            select(User.username).where(
                User.role == Role.TEACHER, User.school_id == me.school_id, User.id != me.id,
                User.is_active.is_(True),
            ).order_by(User.id)
        ).first()  # fmt: skip


def _plan(site, client, capacity: str = "1") -> tuple[int, int]:
    """The trainer creates a programme with one session under way now (1 place); publishes."""
    page = client.get("/trainer/programs/new")
    assert page.status_code == 200 and "新建混合式研修项目" in page.text
    token = form_token(page.text)
    region = re.search(r'<option value="(\d+)" selected>', page.text)
    assert region
    today = wall_now().date()
    created = client.post("/trainer/programs", data={
        "title": "课堂提问能力提升工作坊", "description": "线上学习与集中面授相结合。",
        "category": "课堂提问与对话", "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(), "region_id": region.group(1),
        "stages": ["初中", "小学", "高中"], "csrf_token": token,
    }, follow_redirects=False)  # fmt: skip
    assert created.status_code == 303, created.text[:500]
    program_id = int(created.headers["location"].split("/")[3])
    start = wall_now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    added = client.post(f"/trainer/programs/{program_id}/sessions", data={
        "title": "集中面授：追问的艺术", "location": "临江区教师发展中心 201 室",
        "starts_at": f"{start:%Y-%m-%dT%H:%M}", "ends_at": f"{start + timedelta(hours=3):%Y-%m-%dT%H:%M}",
        "hours": "3", "capacity": capacity, "category": "课堂提问与对话", "csrf_token": token,
    }, follow_redirects=False)  # fmt: skip
    assert added.status_code == 303, added.text[:500]
    published = client.post(f"/trainer/programs/{program_id}/status",
                            data={"status": "published", "csrf_token": token})  # fmt: skip
    assert published.status_code == 200 and "报名中" in published.text
    with site.factory() as s:
        session_id = s.scalar(
            select(OfflineSession.id).where(OfflineSession.program_id == program_id)
        )
    return program_id, session_id


def test_plan_register_check_in_and_report(fresh_site):
    trainer = fresh_site.client(TRAINER)
    program_id, session_id = _plan(fresh_site, trainer)

    teacher = fresh_site.client(TEACHER)
    listing = teacher.get("/programs")
    assert "课堂提问能力提升工作坊" in listing.text and "可报名" in listing.text
    token = form_token(teacher.get(f"/programs/{program_id}").text)
    joined = teacher.post(f"/programs/{program_id}/register", data={"csrf_token": token})
    assert joined.status_code == 200 and "报名成功" in joined.text

    other = fresh_site.client(_neighbour(fresh_site))
    other_token = form_token(other.get(f"/programs/{program_id}").text)
    full = other.post(f"/programs/{program_id}/register", data={"csrf_token": other_token})
    assert full.status_code == 409 and "名额已满" in full.text
    api = other.post(f"/api/v1/programs/{program_id}/register",
                     headers={"X-CSRF-Token": other_token})  # fmt: skip
    assert api.status_code == 409 and "名额已满" in api.json()["detail"]

    # the trainer shows the code; the teacher types it; 3 hours reach the ledger once
    secret = fresh_site.settings.secret_key.get_secret_value()
    code = checkin_code(secret, session_id)
    shown = trainer.get(f"/trainer/sessions/{session_id}")
    assert f"{code[:3]} {code[3:]}" in shown.text
    checkin_token = form_token(teacher.get("/checkin").text)
    ok = teacher.post("/checkin", data={"code": code, "csrf_token": checkin_token})
    assert "签到成功" in ok.text and "已计入学时 3" in ok.text
    ledger = teacher.get("/teacher/ledger")
    assert "集中面授：追问的艺术" in ledger.text

    report = trainer.get(f"/trainer/programs/{program_id}/report")
    assert report.status_code == 200
    assert re.search(r'id="kpi-registered">1<', report.text)
    assert re.search(r'id="kpi-attended">1<', report.text)
    assert re.search(r'id="kpi-hours">3<', report.text)
    with fresh_site.factory() as s:
        me = s.scalar(select(User).where(User.username == TEACHER))
    assert f'href="/people/teachers/{me.id}"' in report.text
    exported = trainer.get(f"/trainer/programs/{program_id}/report.csv")
    assert exported.status_code == 200 and exported.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    line = next(r for r in rows if r and r[0] == TEACHER)
    # no online modules and the one session attended: completed
    assert line[4] == "出勤" and line[-2] == "3" and line[-1] == "是"
    assert any(r and r[0] == "合计" and r[-1] == "3" for r in rows)


def test_a_regenerated_code_and_the_scope(fresh_site):
    trainer = fresh_site.client(TRAINER)
    program_id, session_id = _plan(fresh_site, trainer)
    secret = fresh_site.settings.secret_key.get_secret_value()
    old = checkin_code(secret, session_id)
    token = form_token(trainer.get(f"/trainer/sessions/{session_id}").text)
    regenerated = trainer.post(f"/trainer/sessions/{session_id}/code", data={"csrf_token": token})
    assert "原签到码立即失效" in regenerated.text
    new = checkin_code(secret, session_id, 1)
    assert f"{new[:3]} {new[3:]}" in regenerated.text and new != old

    teacher = fresh_site.client(TEACHER)
    t_token = form_token(teacher.get(f"/programs/{program_id}").text)
    teacher.post(f"/programs/{program_id}/register", data={"csrf_token": t_token})
    refused = teacher.post("/api/v1/checkin", json={"code": old}, headers={"X-CSRF-Token": t_token})
    assert refused.status_code == 400 and "不正确" in refused.json()["detail"]

    # another county's trainer neither sees nor edits it; a teacher of another county does
    # not see it at all; a draft is no teacher's business
    stranger = fresh_site.client("trainer.baishi")
    for path in (f"/trainer/programs/{program_id}/edit", f"/trainer/programs/{program_id}/report",
                 f"/trainer/sessions/{session_id}/edit"):  # fmt: skip
        assert stranger.get(path).status_code == 403, path
    with fresh_site.factory() as s:
        far = s.scalars(
            select(User.username).where(User.role == Role.TEACHER, User.username != TEACHER)
            .join(Program, Program.region_id != User.region_id).where(Program.id == program_id)
            .order_by(User.id)
        ).first()  # fmt: skip
    assert fresh_site.client(far).get(f"/programs/{program_id}").status_code == 404
    close_token = form_token(trainer.get(f"/trainer/programs/{program_id}/edit").text)
    trainer.post(f"/trainer/programs/{program_id}/status",
                 data={"status": "draft", "csrf_token": close_token})  # fmt: skip
    assert (
        "课堂提问能力提升工作坊"
        not in fresh_site.client(_neighbour(fresh_site)).get("/programs").text
    )


def test_assign_a_cohort_with_a_preview_and_notify(fresh_site):
    trainer = fresh_site.client(TRAINER)
    program_id, _ = _plan(fresh_site, trainer, capacity="")
    with fresh_site.factory() as s:
        school_id = s.scalar(select(User.school_id).where(User.username == TEACHER))
    query = f"school_id={school_id}"
    page = trainer.get(f"/trainer/programs/{program_id}/assign?{query}")
    assert page.status_code == 200 and "将新增" in page.text
    preview = trainer.get(f"/trainer/programs/{program_id}/assign?{query}",
                          headers={"HX-Request": "true"})  # fmt: skip
    assert preview.text.lstrip().startswith('<div id="assign-preview"')
    new = int(re.search(r'id="new-count">(\d+)<', preview.text).group(1))
    assert new >= 2  # t112 and her neighbour at least
    token = form_token(page.text)
    done = trainer.post(f"/trainer/programs/{program_id}/assign",
                        data={"school_id": str(school_id), "csrf_token": token})  # fmt: skip
    assert done.status_code == 200 and f"已分配 {new} 名学员" in done.text
    again = trainer.post(f"/trainer/programs/{program_id}/assign",
                         data={"school_id": str(school_id), "csrf_token": token})  # fmt: skip
    assert again.status_code == 422 and "没有可新增的学员" in again.text
    inbox = fresh_site.client(TEACHER).get("/notifications")
    assert "您已被安排参加「课堂提问能力提升工作坊」" in inbox.text


def test_the_inbox_the_day_before_a_session_lists_its_reminder(fresh_site):
    """The inbox page and its navigation both ask for tomorrow's reminder: one must not wait
    for the other's uncommitted row (it did: a 10 s stall, then an error)."""
    trainer = fresh_site.client(TRAINER)
    program_id, session_id = _plan(fresh_site, trainer, capacity="")
    teacher = fresh_site.client(TEACHER)
    token = form_token(teacher.get(f"/programs/{program_id}").text)
    teacher.post(f"/programs/{program_id}/register", data={"csrf_token": token})
    tomorrow = datetime.combine(wall_now().date() + timedelta(days=1), time(9, 0))
    with fresh_site.factory() as s:  # move the session to 09:00 tomorrow (Beijing time)
        off = s.get(OfflineSession, session_id)
        off.starts_at, off.ends_at = store_wall(tomorrow), store_wall(tomorrow + timedelta(hours=3))
        s.commit()
    inbox = teacher.get("/notifications")
    assert inbox.status_code == 200 and "集中面授：追问的艺术" in inbox.text
    assert teacher.get("/notifications").text.count("集中面授：追问的艺术") == 1
