"""Trainer pages: programme scope, attendance → ledger, agreement panel, cohort heat map."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from tests.web.helpers import form_token, login
from yanxiu.accounts.models import Region, RegionLevel, Role, User
from yanxiu.accounts.service import create_user
from yanxiu.config import PROJECT_ROOT
from yanxiu.content import load_content
from yanxiu.credits.ledger import ledger_entries
from yanxiu.practice.agreement import agreement_by_dimension, review_pairs
from yanxiu.practice.models import RecordKind, ReviewDecision
from yanxiu.practice.review import review_diagnosis, review_queue
from yanxiu.practice.service import submit_record
from yanxiu.programs.checkin import checkin_code
from yanxiu.programs.models import OfflineSession, Program, program_participants

LJ, BS = "PX-2026-LJ-SX", "PX-2026-BS-SD"


def program_id(site, code: str) -> int:
    with site.factory() as s:
        return s.scalar(select(Program.id).where(Program.code == code))


def user_id(site, username: str) -> int:
    with site.factory() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_trainer_sees_only_programmes_in_scope(demo_site):
    client = demo_site.client("trainer.linjiang")
    listing = client.get("/trainer/programs")
    assert listing.status_code == 200
    assert LJ in listing.text and BS not in listing.text
    assert client.get(f"/trainer/programs/{program_id(demo_site, LJ)}").status_code == 200
    other = client.get(f"/trainer/programs/{program_id(demo_site, BS)}")
    assert other.status_code == 403 and "无权访问" in other.text
    with demo_site.factory() as s:
        bs_session = s.scalar(
            select(OfflineSession.id).where(OfflineSession.program_id == program_id(demo_site, BS))
        )
    assert client.get(f"/trainer/sessions/{bs_session}").status_code == 403
    page = client.get(f"/trainer/programs/{program_id(demo_site, LJ)}")
    token = form_token(page.text)
    post = client.post(f"/trainer/sessions/{bs_session}/attendance",
                       data={"teacher": [1], "status": ["present"], "csrf_token": token})  # fmt: skip
    assert post.status_code == 403
    assert client.get("/trainer/programs/999999").status_code == 404
    assert login(client, "t001", demo_site.password).status_code == 303
    assert client.get("/trainer").status_code == 403


def test_home_and_programme_page_show_sessions_codes_and_modules(demo_site):
    client = demo_site.client("trainer.linjiang")
    home = client.get("/trainer")
    assert home.status_code == 200
    assert 'href="/review"' in home.text and 'href="/trainer/heatmap"' in home.text
    pid = program_id(demo_site, LJ)
    page = client.get(f"/trainer/programs/{pid}").text
    secret = demo_site.settings.secret_key.get_secret_value()
    with demo_site.factory() as s:
        program = s.get(Program, pid)
        sessions = list(program.sessions)
        participants = s.scalars(
            select(program_participants.c.teacher_id).where(
                program_participants.c.program_id == pid
            )
        ).all()
    for off in sessions:
        assert off.title.replace('"', "&#34;") in page and off.location in page
        assert checkin_code(secret, off.id) in page
    assert "TW-001" in page and "TW-002" in page  # online modules
    assert f"学员与考勤（{len(participants)} 人）" in page
    session_page = client.get(f"/trainer/sessions/{sessions[0].id}").text
    code = checkin_code(secret, sessions[0].id)
    assert f"{code[:3]} {code[3:]}" in session_page


def _past_session(site, pid: int) -> int:
    with site.factory() as s:
        start = datetime.combine(date.today() - timedelta(days=1), datetime.min.time(), UTC)
        off = OfflineSession(program_id=pid, title="补充研讨：问题链设计复盘", location="临江区教师发展中心",
                             starts_at=start + timedelta(hours=9), ends_at=start + timedelta(hours=12),
                             hours=3, category="课堂提问与对话")  # fmt: skip
        s.add(off)
        s.commit()
        return off.id


def test_attendance_credits_once_and_lands_in_the_teachers_ledger(fresh_site):
    pid = program_id(fresh_site, LJ)
    sid = _past_session(fresh_site, pid)
    with fresh_site.factory() as s:
        teacher_ids = s.scalars(
            select(program_participants.c.teacher_id).where(
                program_participants.c.program_id == pid
            )
        ).all()
    first, second = sorted(teacher_ids)[:2]
    client = fresh_site.client("trainer.linjiang")
    page = client.get(f"/trainer/sessions/{sid}")
    assert page.status_code == 200 and f'name="teacher" value="{first}"' in page.text
    token = form_token(page.text)
    for _ in range(2):  # the same sheet submitted twice credits once
        done = client.post(f"/trainer/sessions/{sid}/attendance",
                           data={"teacher": [first, second], "status": ["present", "absent"], "csrf_token": token},
                           follow_redirects=True)  # fmt: skip
        assert done.status_code == 200
    assert "考勤没有变化" in done.text
    with fresh_site.factory() as s:
        mine = [e for e in ledger_entries(s, [first]) if e.evidence.get("session") == sid]
        assert [(e.hours, e.category, e.counts) for e in mine] == [(3.0, "课堂提问与对话", True)]
        assert not [e for e in ledger_entries(s, [second]) if e.evidence.get("session") == sid]


def test_attendance_for_a_future_session_is_refused(fresh_site):
    pid = program_id(fresh_site, LJ)
    with fresh_site.factory() as s:
        future = s.scalar(
            select(OfflineSession).where(OfflineSession.program_id == pid).order_by(OfflineSession.starts_at.desc())
        )  # fmt: skip
        teacher = s.scalars(
            select(program_participants.c.teacher_id).where(
                program_participants.c.program_id == pid
            )
        ).first()
        assert future.starts_at.date() > date.today()
    client = fresh_site.client("trainer.linjiang")
    page = client.get(f"/trainer/sessions/{future.id}")
    assert "届时才能记录考勤" in page.text
    done = client.post(f"/trainer/sessions/{future.id}/attendance",
                       data={"teacher": [teacher], "status": ["present"], "csrf_token": form_token(page.text)},
                       follow_redirects=True)  # fmt: skip
    assert "尚不能记录考勤" in done.text
    with fresh_site.factory() as s:
        assert not [
            e for e in ledger_entries(s, [teacher]) if e.evidence.get("session") == future.id
        ]


# ------------------------------------------------------------ agreement and heat map

TRANSCRIPTS = [c.body.encode("utf-8") for c in load_content(PROJECT_ROOT / "content").cases
               if c.kind == "transcript"][:8]  # fmt: skip


def seed_reviews(
    site, reviewer: str, teachers: list[str], edits: dict[str, int] | None = None
) -> list[int]:
    """Each teacher submits a transcript; ``reviewer`` accepts (even) or edits (odd) it."""
    ids = []
    with site.factory() as s:
        trainer = s.scalar(select(User).where(User.username == reviewer))
        for i, username in enumerate(teachers):
            teacher = s.scalar(select(User).where(User.username == username))
            _, diagnosis = submit_record(s, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT,
                                         data=TRANSCRIPTS[i % len(TRANSCRIPTS)], filename="课堂实录.txt",
                                         title=f"课堂实录 {i + 1}", stage="小学", subject="数学")  # fmt: skip
            if i % 2 == 0:
                review_diagnosis(s, diagnosis_id=diagnosis.id, reviewer=trainer,
                                 decision=ReviewDecision.ACCEPT, comment="同意")  # fmt: skip
            else:
                scores = {d: max(1, min(5, v.score - 1)) for d, v in diagnosis.scores.items()}
                scores.update(edits or {})
                review_diagnosis(s, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.EDIT,
                                 scores=scores, comment="按课堂证据下调")  # fmt: skip
            ids.append(diagnosis.id)
        s.commit()
    return ids


def region_teachers(site, region_code: str, n: int) -> list[str]:
    with site.factory() as s:
        region = s.scalar(select(Region.id).where(Region.code == region_code))
        return list(
            s.scalars(
                select(User.username).where(User.role == Role.TEACHER, User.region_id == region)
                .order_by(User.username).limit(n)
            )
        )  # fmt: skip


def test_agreement_figures_match_practice_agreement(fresh_site):
    from yanxiu.reports.review_agreement import scoped_review_pairs

    with fresh_site.factory() as s:
        before = review_pairs(s)
    mine = region_teachers(fresh_site, "GX0101", 6)
    seed_reviews(fresh_site, "trainer.linjiang", mine)
    with fresh_site.factory() as s:
        with_mine = review_pairs(s)
    seed_reviews(fresh_site, "trainer.baishi", region_teachers(fresh_site, "GX0102", 3))
    with fresh_site.factory() as s:
        everything = review_pairs(s)
        assert scoped_review_pairs(s, None) == everything  # same pairs as practice.agreement
        linjiang = scoped_review_pairs(s, _teachers_of(s, "GX0101"))
    new_mine, new_other = with_mine[len(before) :], everything[len(with_mine) :]
    assert len(new_mine) == 6 * 6 and len(new_other) == 3 * 6  # six dimensions per transcript
    assert all(p in linjiang for p in new_mine) and len(linjiang) < len(everything)
    expected = agreement_by_dimension(linjiang)
    if not before:  # a demo without reviews: the panel is exactly the linjiang reviews just made
        assert expected == agreement_by_dimension(new_mine)

    client = fresh_site.client("trainer.linjiang")
    data = client.get("/api/v1/trainer/agreement").json()
    assert data["overall"]["n"] == expected["全部"]["n"]
    assert {r["dimension"] for r in data["rows"]} == set(expected) - {"全部"}
    for row in data["rows"] + [data["overall"] | {"dimension": "全部"}]:
        exp = expected[row["dimension"]]
        assert (row["n"], row["qwk"], row["exact"], row["adjacent"]) == (
            exp["n"],
            exp["qwk"],
            exp["exact"],
            exp["adjacent"],
        )
    page = client.get("/trainer/agreement")
    assert page.status_code == 200 and "data-chart" in page.text and "加权 Kappa" in page.text
    assert f"{expected['全部']['exact'] * 100:.0f}%" in page.text and "提问质量" in page.text


def _teachers_of(s, region_code: str) -> set[int]:
    region = s.scalar(select(Region.id).where(Region.code == region_code))
    return set(
        s.scalars(select(User.id).where(User.role == Role.TEACHER, User.region_id == region))
    )


def test_agreement_page_without_reviews_explains_itself(fresh_site):
    with fresh_site.factory() as s:
        county = Region(code="GX0199", name="新建县", level=RegionLevel.COUNTY)
        s.add(county)
        s.flush()
        trainer = create_user(s, username="trainer.new", display_name="新培训者", role=Role.TRAINER,
                              password_hash=s.scalar(select(User.password_hash).where(User.username == "trainer.linjiang")),
                              region_id=county.id)  # fmt: skip
        s.commit()
        assert trainer.id
    client = fresh_site.client("trainer.new")
    page = client.get("/trainer/agreement")
    assert page.status_code == 200 and "还没有可统计的审核" in page.text
    assert client.get("/api/v1/trainer/agreement").json()["overall"]["n"] == 0
    assert client.get("/trainer").status_code == 200
    assert client.get("/trainer/heatmap").status_code == 200


def test_home_counts_the_review_queue(fresh_site):
    teacher = region_teachers(fresh_site, "GX0101", 1)[0]
    with fresh_site.factory() as s:
        uid = s.scalar(select(User.id).where(User.username == teacher))
        submit_record(s, teacher_id=uid, kind=RecordKind.TRANSCRIPT, data=TRANSCRIPTS[0], filename="实录.txt",
                      title="待审核的实录", stage="小学", subject="数学")  # fmt: skip
        s.commit()
        trainer = s.scalar(select(User).where(User.username == "trainer.linjiang"))
        waiting = len(review_queue(s, reviewer=trainer, limit=10_000))
    assert waiting >= 1
    home = fresh_site.client("trainer.linjiang").get("/trainer").text
    assert f'<div class="stat-value">{waiting}</div><div class="stat-label">条诊断等待审核' in home


def test_heatmap_counts_reviewed_weaknesses_per_school(fresh_site):
    teachers = region_teachers(fresh_site, "GX0101", 4)
    # the edited ones (odd positions) get 提问质量 = 1: certainly weak
    seed_reviews(fresh_site, "trainer.linjiang", teachers, edits={"提问质量": 1})
    client = fresh_site.client("trainer.linjiang")
    page = client.get("/trainer/heatmap", params={"lens": "diagnosis"})
    assert page.status_code == 200
    with fresh_site.factory() as s:
        from yanxiu.reports.cohort import diagnosis_flags

        mine = set(s.scalars(select(User.id).where(User.username.in_(teachers))))
        _, flags = diagnosis_flags(s, _teachers_of(s, "GX0101"))
    assert sum(flags[t]["提问质量"] for t in mine) >= 2  # the two edited ones at least
    weak = sum(1 for f in flags.values() if f.get("提问质量"))
    assessed = sum(1 for f in flags.values() if "提问质量" in f)
    total_row = page.text.split('class="total-row"')[1].split("</tr>")[0]
    columns = re.findall(r"<abbr[^>]*>([^<]+)</abbr>", page.text)
    cells = re.findall(r"<small>(\d+)/(\d+)</small>", total_row)
    assert columns[0] == "提问质量"
    assert cells[columns.index("提问质量")] == (str(weak), str(assessed))


def test_heatmap_hours_lens_covers_every_teacher_in_the_region(demo_site):
    client = demo_site.client("trainer.yunling")
    page = client.get("/trainer/heatmap", params={"lens": "hours"})
    assert page.status_code == 200
    with demo_site.factory() as s:
        region = s.scalar(select(Region.id).where(Region.code == "GX0103"))
        n = len(
            s.scalars(
                select(User.id).where(User.role == Role.TEACHER, User.region_id == region)
            ).all()
        )
    total_row = page.text.split('class="total-row"')[1].split("</tr>")[0]
    assert f'<td class="num">{n}</td>' in total_row
    assert "师德师风" in page.text and "本学年学时" in page.text
    by_programme = client.get("/trainer/heatmap", params={"lens": "hours", "rows": "program"})
    assert "信息技术应用能力提升工程" in by_programme.text
    other = program_id(demo_site, LJ)
    assert client.get("/trainer/heatmap", params={"program": other}).status_code == 403
