"""Offline-session check-in pages: listing, the right code credits once, wrong codes explain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.web.helpers import form_token
from yanxiu.accounts.models import User
from yanxiu.credits.models import CreditRecord
from yanxiu.programs.checkin import checkin_code
from yanxiu.programs.clock import store_wall, wall_now
from yanxiu.programs.models import Attendance, OfflineSession, Program
from yanxiu.programs.service import attendance_credit_key

BS = "PX-2026-BS-SD"  # t001 takes part in this programme


def _session_today(
    site, program_code: str = BS, title: str = "师德师风专题研讨（补充场次）"
) -> int:
    with site.factory() as s:
        program = s.scalar(select(Program).where(Program.code == program_code))
        # under way now (Beijing wall clock, as sessions are planned): its code works
        starts = store_wall(wall_now().replace(second=0, microsecond=0) - timedelta(minutes=10))
        row = OfflineSession(
            program_id=program.id, title=title, location="白石县教师进修学校", starts_at=starts,
            ends_at=starts + timedelta(hours=4.5), hours=3, category="师德师风",
        )  # fmt: skip
        s.add(row)
        s.commit()
        return row.id


def _ids(site, username: str) -> int:
    with site.factory() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_checkin_page_lists_upcoming_and_attended_sessions(demo_site):
    page = demo_site.client("t001").get("/checkin")
    assert page.status_code == 200
    text = page.text
    assert '<label for="code">签到码</label>' in text and 'action="/checkin"' in text
    assert "师德师风专题报告与警示教育" in text  # attended in the demo
    assert "已签到" in text
    assert demo_site.client("trainer.baishi").get("/checkin").status_code == 403


def test_the_right_code_credits_once_and_a_wrong_code_explains(fresh_site):
    session_id = _session_today(fresh_site)
    teacher_id = _ids(fresh_site, "t001")
    client = fresh_site.client("t001")
    page = client.get("/checkin")
    assert "师德师风专题研讨（补充场次）" in page.text and "可签到" in page.text
    token = form_token(page.text)
    secret = fresh_site.settings.secret_key.get_secret_value()
    code = checkin_code(secret, session_id)
    wrong = next(c for c in ("000000", "111111", "222222") if c != code)

    refused = client.post("/checkin", data={"code": wrong, "csrf_token": token})
    assert refused.status_code == 400
    assert "签到码不正确" in refused.text and 'aria-invalid="true"' in refused.text
    key = attendance_credit_key(session_id, teacher_id)

    def credited() -> int:
        with fresh_site.factory() as s:
            return s.scalar(
                select(func.count(CreditRecord.id)).where(CreditRecord.idempotency_key == key)
            )

    assert credited() == 0

    ok = client.post("/checkin", data={"code": f"{code[:3]} {code[3:]}", "csrf_token": token})
    assert ok.status_code == 200 and str(ok.url).endswith("/checkin")
    assert "签到成功" in ok.text and "已计入学时 3" in ok.text
    assert credited() == 1
    again = client.post("/checkin", data={"code": code, "csrf_token": token})
    assert "已签到过" in again.text and "不重复计入" in again.text
    assert credited() == 1
    with fresh_site.factory() as s:
        row = s.scalar(
            select(Attendance).where(
                Attendance.session_id == session_id, Attendance.teacher_id == teacher_id
            )
        )
        assert row is not None and row.method == "code"

    # a teacher outside the programme cannot use the code
    outsider = fresh_site.client("t002")
    out_token = form_token(outsider.get("/checkin").text)
    denied = outsider.post("/checkin", data={"code": code, "csrf_token": out_token})
    assert denied.status_code == 400 and "没有可签到的线下活动" in denied.text


def test_expired_code_and_the_json_api(fresh_site):
    teacher_id = _ids(fresh_site, "t001")
    with fresh_site.factory() as s:
        program_id = s.scalar(select(Program.id).where(Program.code == BS))
        past = s.scalars(
            select(OfflineSession).where(OfflineSession.program_id == program_id)
            .order_by(OfflineSession.starts_at)
        ).first()  # fmt: skip
        assert past is not None
        # t001 attended it in the demo: pick a past session without attendance instead
        old = OfflineSession(program_id=program_id, title="往期专题讲座", location="县教师进修学校",
                             starts_at=past.starts_at - timedelta(days=30),
                             ends_at=past.ends_at - timedelta(days=30), hours=2, category="师德师风")  # fmt: skip
        s.add(old)
        s.commit()
        old_id = old.id
    client = fresh_site.client("t001")
    token = form_token(client.get("/checkin").text)
    secret = fresh_site.settings.secret_key.get_secret_value()
    expired = client.post(
        "/checkin", data={"code": checkin_code(secret, old_id), "csrf_token": token}
    )
    assert expired.status_code == 400 and "已过期" in expired.text

    today_id = _session_today(fresh_site, title="今日工作坊")
    api = client.post("/api/v1/checkin", json={"code": checkin_code(secret, today_id)},
                      headers={"X-CSRF-Token": token})  # fmt: skip
    assert api.status_code == 200
    body = api.json()
    assert body["newly_recorded"] is True and body["credited_hours"] == 3
    again = client.post("/api/v1/checkin", json={"code": checkin_code(secret, today_id)},
                        headers={"X-CSRF-Token": token}).json()  # fmt: skip
    assert again["newly_recorded"] is False and again["credited_hours"] == 0
    bad = client.post("/api/v1/checkin", json={"code": "12"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 400 and "6 位数字" in bad.json()["detail"]
    with fresh_site.factory() as s:
        assert (
            s.scalar(
                select(func.count(Attendance.id)).where(
                    Attendance.teacher_id == teacher_id, Attendance.session_id == old_id
                )
            )
            == 0
        )
