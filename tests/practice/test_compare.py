"""Comparisons (issue 20): two lessons side by side and a teacher's scores over time.

Differences are B − A on the scores the viewer may see (the trainer's, once reviewed), a
teacher never sees an unreviewed draft here, and nobody outside the scope sees anything.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role
from yanxiu.accounts.scope import Scope
from yanxiu.accounts.service import create_user
from yanxiu.errors import Conflict, Invalid, NotAllowed
from yanxiu.practice.compare import (
    compare_lessons,
    compare_picker,
    figure,
    topic_of,
    trend_page,
    trend_points,
)
from yanxiu.practice.models import RecordKind, ReviewDecision
from yanxiu.practice.review import review_diagnosis
from yanxiu.practice.service import submit_record

PLAN = "教学目标\n能用方程解行程问题。\n教学重难点\n找等量关系。\n教学过程\n一、导入\n二、新授\n"


def _case(content, case_id: str) -> bytes:
    return next(c for c in content.cases if c.id == case_id).body.encode("utf-8")


@pytest.fixture
def world(session, content):
    """A county with two teachers and its trainer; another county's trainer; three lessons of
    the first teacher (a lecture accepted, group work edited, one still pending) and one
    lecture of the same topic by the second teacher (accepted)."""
    school = make_school(session)
    teacher = make_teacher(session, school=school)
    colleague = make_teacher(session, school=school)
    trainer = create_user(session, username="trainer.cmp", display_name="韦老师", role=Role.TRAINER,
                          password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
    elsewhere = make_school(session)
    stranger = create_user(session, username="trainer.far", display_name="莫老师", role=Role.TRAINER,
                           password_hash=password_hash(), region_id=elsewhere.county_id)  # fmt: skip

    def submit(who, data, title, day, kind=RecordKind.TRANSCRIPT):
        record, diagnosis = submit_record(session, teacher_id=who.id, kind=kind, data=data,
                                          filename="课.txt", title=title)  # fmt: skip
        record.created_at = datetime(2026, 11, day, 12, tzinfo=UTC)
        return record, diagnosis

    lecture = submit(
        teacher, _case(content, "CASE-001"), "《一元一次方程的应用——行程问题》课堂实录片段", 2
    )
    group = submit(teacher, _case(content, "CASE-004"), "《一次函数的图象与性质》小组探究", 9)
    pending = submit(teacher, _case(content, "CASE-003"), "《勾股定理》课堂实录片段", 12)
    plan = submit(teacher, PLAN.encode(), "行程问题教学设计", 13, kind=RecordKind.LESSON_PLAN)
    other = submit(
        colleague, _case(content, "CASE-001"), "《一元一次方程的应用——行程问题》第二课时", 5
    )
    review_diagnosis(session, diagnosis_id=lecture[1].id, reviewer=trainer,
                     decision=ReviewDecision.ACCEPT)  # fmt: skip
    ai = group[1].scores["教学目标达成"].score
    edited = 2 if ai != 2 else 3
    review_diagnosis(session, diagnosis_id=group[1].id, reviewer=trainer,
                     decision=ReviewDecision.EDIT, scores={"教学目标达成": edited})  # fmt: skip
    review_diagnosis(session, diagnosis_id=other[1].id, reviewer=trainer,
                     decision=ReviewDecision.ACCEPT)  # fmt: skip
    session.flush()
    return {
        "teacher": teacher, "colleague": colleague, "trainer": trainer, "stranger": stranger,
        "lecture": lecture, "group": group, "pending": pending, "plan": plan, "other": other,
        "edited": edited,
    }  # fmt: skip


def scope_of(session, user):
    return Scope.for_user(session, user)


def test_differences_are_b_minus_a_on_the_reviewed_scores(session, world):
    (la, da), (lb, db) = world["lecture"], world["group"]
    c = compare_lessons(session, scope_of(session, world["teacher"]), la.id, lb.id)
    assert c.kind == "before_after" and c.a.record_id == la.id and c.b.record_id == lb.id
    rows = {r.dimension: r for r in c.scores}
    assert list(rows) == list(da.scores)
    for dim, row in rows.items():
        assert row.a == da.scores[dim].score and row.diff == row.b - row.a
    # the trainer's edit, not the AI's score, is what the teacher compares
    goal = rows["教学目标达成"]
    assert goal.b == world["edited"] != goal.ai_b
    assert c.total_b - c.total_a == sum(r.diff for r in c.scores)
    # S-T and FIAS figures are the stored analytics, differences in the figure's own unit
    st = {r.key: r for r in c.st}
    assert st["rt"].a_value == da.analytics.st.rt and st["rt"].b_value == db.analytics.st.rt
    assert st["rt"].delta == pytest.approx(db.analytics.st.rt - da.analytics.st.rt)
    assert da.analytics.st.mode == "讲授型" and db.analytics.st.mode != "讲授型"
    assert st["mode"].diff == f"讲授型 → {db.analytics.st.mode}"
    fias = {r.key: r for r in c.fias}
    want = db.analytics.fias.ratios["student_talk"] - da.analytics.fias.ratios["student_talk"]
    assert fias["student_talk"].delta == pytest.approx(want) and want > 0
    assert fias["student_talk"].diff.endswith("个百分点")
    indicators = {r.key: r for r in c.indicators}
    assert indicators["questions"].a_value == da.analytics.questions.count
    assert indicators["feedback_specific"].b_value == db.scores["反馈评价"].measure.specific_share
    # evidence quoted side by side, with the transcript's times
    quotes = [q for pair in c.evidence for q in pair.a]
    assert quotes and all(q.time.startswith("00:") for q in quotes)
    assert c.radar["type"] == "radar" and len(c.radar["data"]["datasets"]) == 2


def test_a_teacher_never_sees_an_unreviewed_draft(session, world):
    teacher = scope_of(session, world["teacher"])
    pending = world["pending"][0]
    with pytest.raises(Conflict, match="尚未经培训者审核"):
        compare_lessons(session, teacher, world["lecture"][0].id, pending.id)
    picker = compare_picker(session, teacher)
    ids = [x.record_id for x in picker.lessons]
    assert ids == [world["lecture"][0].id, world["group"][0].id]  # oldest first, no draft
    assert (picker.default_a, picker.default_b) == tuple(ids)
    assert [p.record_id for p in trend_points(session, world["teacher"].id)] == ids
    page = trend_page(session, teacher, world["teacher"].id)
    assert page.waiting == 1 and page.chart is not None and page.is_self
    assert page.points[-1].scores["教学目标达成"] == world["edited"]


def test_a_trainer_in_scope_may_include_a_draft_marked_as_such(session, world):
    trainer = scope_of(session, world["trainer"])
    c = compare_lessons(session, trainer, world["lecture"][0].id, world["pending"][0].id)
    assert c.a.reviewed and not c.b.reviewed
    assert any("AI 初评" in note for note in c.notes)
    picker = compare_picker(session, trainer, teacher_id=world["teacher"].id)
    assert world["pending"][0].id in [x.record_id for x in picker.lessons]
    assert (
        trend_page(session, trainer, world["teacher"].id).teacher_name
        == world["teacher"].display_name
    )


def test_two_teachers_of_one_topic_is_same_topic(session, world):
    trainer = scope_of(session, world["trainer"])
    c = compare_lessons(session, trainer, world["other"][0].id, world["lecture"][0].id)
    assert c.kind == "same_topic" and c.a.teacher_id != c.b.teacher_id
    assert all(r.diff == 0 for r in c.scores)  # the same transcript, both accepted as drafted
    (pair,) = compare_picker(session, trainer).pairs
    assert pair.topic == "一元一次方程的应用——行程问题"
    assert {pair.a.record_id, pair.b.record_id} == {world["other"][0].id, world["lecture"][0].id}
    c = compare_lessons(session, trainer, world["other"][0].id, world["group"][0].id)
    assert c.kind == "two_teachers" and any("课题不同" in n for n in c.notes)


def test_access_outside_the_scope_is_refused(session, world):
    lecture, group = world["lecture"][0].id, world["group"][0].id
    for who in ("stranger", "colleague"):
        scope = scope_of(session, world[who])
        with pytest.raises(NotAllowed):
            compare_lessons(session, scope, lecture, group)
        with pytest.raises(NotAllowed):
            trend_page(session, scope, world["teacher"].id)
        with pytest.raises(NotAllowed):
            compare_picker(session, scope, teacher_id=world["teacher"].id)
    assert compare_picker(session, scope_of(session, world["stranger"])).lessons == []
    # a teacher's own picker never lists a colleague's lesson, even one of the same topic
    mine = compare_picker(session, scope_of(session, world["teacher"]))
    assert world["other"][0].id not in [x.record_id for x in mine.lessons] and not mine.pairs


def test_plans_and_the_same_lesson_twice_are_refused(session, world):
    teacher = scope_of(session, world["teacher"])
    lecture = world["lecture"][0].id
    with pytest.raises(Invalid, match="不同的课"):
        compare_lessons(session, teacher, lecture, lecture)
    with pytest.raises(Invalid, match="课堂实录"):
        compare_lessons(session, scope_of(session, world["trainer"]), lecture, world["plan"][0].id)


def test_topics_and_figures():
    assert topic_of("《勾股定理》课堂实录片段") == "勾股定理"
    assert topic_of("分数的初步认识 第二课时课堂实录") == "分数的初步认识"
    assert topic_of("议题式教学（研修后重上）") == "议题式教学"
    share = figure("x", "占比", 0.25, 0.4, "share")
    assert (share.a, share.b, share.diff) == ("25%", "40%", "+15 个百分点")
    assert figure("w", "候答", 3.0, None, "seconds").diff == "—"
    assert figure("r", "比", 1.5, 1.5, "ratio").diff == "持平"
    assert figure("n", "次", 4.0, 1.0, "count").diff == "-3"
