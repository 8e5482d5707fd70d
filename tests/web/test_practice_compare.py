"""The comparison pages: /practice/trend and /practice/compare over the seeded demo (t112 has
two reviewed lessons, trainer.linjiang is her county's trainer, trainer.baishi is not)."""

from __future__ import annotations

import re

from sqlalchemy import select

from yanxiu.accounts.models import User
from yanxiu.practice.compare import compare_picker
from yanxiu.practice.models import PracticeRecord, RecordKind


def _ids(site):
    from yanxiu.accounts.scope import Scope

    with site.factory() as s:
        t112 = s.scalar(select(User).where(User.username == "t112"))
        picker = compare_picker(s, Scope.for_user(s, t112))
        plan = s.scalar(
            select(PracticeRecord.id).where(
                PracticeRecord.teacher_id == t112.id, PracticeRecord.kind == RecordKind.LESSON_PLAN
            )
        )
        return t112.id, picker.default_a, picker.default_b, plan


def test_the_teacher_reads_her_trend_and_compares_two_reviewed_lessons(demo_site):
    teacher_id, a, b, _ = _ids(demo_site)
    t112 = demo_site.client("t112")
    trend = t112.get("/practice/trend")
    assert trend.status_code == 200 and "我的课堂诊断变化" in trend.text
    assert "canvas data-chart" in trend.text and "行程问题" in trend.text
    assert f"/practice/compare?a={a}&amp;b={b}" in trend.text
    page = t112.get(f"/practice/compare?a={a}&b={b}")
    assert page.status_code == 200
    text = page.text
    assert "同一教师的两节课" in text and 'id="cmp-scores"' in text and "个百分点" in text
    assert "AI 初评，待审核" not in text  # both reviewed
    assert "<script>" not in text  # CSP: charts are data attributes, drawn by /static/js
    # the index page links to both
    index = t112.get("/practice").text
    assert 'href="/practice/trend"' in index and 'href="/practice/compare"' in index


def test_a_lesson_not_reviewed_comes_back_with_the_reason(demo_site):
    _, a, _, plan = _ids(demo_site)
    page = demo_site.client("t112").get(f"/practice/compare?a={a}&b={plan}")
    assert page.status_code == 422 and "只能对比两节课堂实录" in page.text
    same = demo_site.client("t112").get(f"/practice/compare?a={a}&b={a}")
    assert same.status_code == 422 and "请选择两节不同的课" in same.text


def test_the_trainer_in_scope_sees_them_and_others_are_refused(demo_site):
    teacher_id, a, b, _ = _ids(demo_site)
    trainer = demo_site.client("trainer.linjiang")
    # without a teacher named, the trainer is sent to choose lessons in scope (not a 404)
    bare = trainer.get("/practice/trend", follow_redirects=False)
    assert bare.status_code == 303 and bare.headers["location"] == "/practice/compare"
    trend = trainer.get(f"/practice/trend?teacher={teacher_id}")
    assert trend.status_code == 200 and "的课堂诊断变化" in trend.text
    picker = trainer.get("/practice/compare")
    assert picker.status_code == 200 and "同课异构" in picker.text
    pair = re.search(
        r'href="/practice/compare\?a=(\d+)&amp;b=(\d+)">《一元一次方程的应用——行程问题》',
        picker.text,
    )
    assert pair, "t047's and t112's 行程问题 are offered as 同课异构"
    same = trainer.get(f"/practice/compare?a={pair.group(1)}&b={pair.group(2)}")
    assert same.status_code == 200 and "同课异构（不同教师、同一课题）" in same.text
    assert (
        f"/practice/trend?teacher={teacher_id}"
        in trainer.get(f"/people/teachers/{teacher_id}").text
    )
    for outsider in ("trainer.baishi", "t077"):
        client = demo_site.client(outsider)
        assert client.get(f"/practice/compare?a={a}&b={b}").status_code == 403
        assert client.get(f"/practice/trend?teacher={teacher_id}").status_code == 403
    assert demo_site.client("host.zhoumin").get("/practice/trend").status_code == 403
