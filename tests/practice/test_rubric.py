"""Rubric scores: bounded, evidenced, and ordered the way the case authors describe the cases."""

from statistics import mean

from yanxiu.practice.lesson_metrics import st_analysis
from yanxiu.practice.parse import parse_lesson_plan, parse_transcript
from yanxiu.practice.rubric import (
    PLAN_DIMENSIONS,
    TRANSCRIPT_DIMENSIONS,
    banded,
    score_lesson_plan,
    score_transcript,
)
from yanxiu.practice.talk_codes import code_turns


def transcript_scores(case):
    utts = parse_transcript(case.body.encode("utf-8"), "case.txt")
    return {d.dimension: d for d in score_transcript(utts, code_turns(utts), st_analysis(utts))}


def test_banded_norm():
    assert [banded(v, (0.2, 0.4, 0.6, 0.8)) for v in (None, 0.0, 0.2, 0.59, 0.8, 1.0)] == [
        1,
        1,
        2,
        3,
        5,
        5,
    ]


def test_every_transcript_score_is_bounded_and_explained(content):
    for case in (c for c in content.cases if c.kind == "transcript"):
        scores = transcript_scores(case)
        assert set(scores) == set(TRANSCRIPT_DIMENSIONS)
        for d in scores.values():
            assert (
                1 <= d.score <= 5
                and 0 < d.confidence <= 1
                and d.norm
                and d.competency.startswith("PRC-")
            )


def test_dialogic_transcripts_outscore_lecture_ones_on_questions_and_interaction(content):
    groups = {"对话": [], "讲授": []}
    for case in (c for c in content.cases if c.kind == "transcript"):
        for style in groups:
            if case.summary.startswith(style) or f"{style}型" in case.summary[:12]:
                groups[style].append(transcript_scores(case))
    for dim in ("提问质量", "课堂互动", "思维深度"):
        dialogic = mean(s[dim].score for s in groups["对话"])
        lecture = mean(s[dim].score for s in groups["讲授"])
        assert dialogic >= lecture + 1.5, (dim, dialogic, lecture)


def test_weak_lesson_plans_score_below_the_good_ones(content):
    plans = [c for c in content.cases if c.kind == "lesson_plan"]
    total = {
        c.id: sum(d.score for d in score_lesson_plan(parse_lesson_plan(c.body.encode(), "p.md")))
        for c in plans
    }
    weak = [total[c.id] for c in plans if "待改进" in c.title]
    good = [total[c.id] for c in plans if "待改进" not in c.title]
    assert len(weak) >= 5 and mean(good) >= mean(weak) + 4
    for studio in {c.studio for c in plans}:
        mine = [c for c in plans if c.studio == studio]
        if any("待改进" in c.title for c in mine) and any("待改进" not in c.title for c in mine):
            assert max(total[c.id] for c in mine if "待改进" in c.title) < max(
                total[c.id] for c in mine if "待改进" not in c.title
            )


def test_missing_sections_score_one_with_evidence_saying_so():
    plan = parse_lesson_plan(
        "## 教学目标\n能说出三角形内角和定理并运用它解决简单问题。\n## 教学过程\n学生小组讨论。".encode(),
        "p.md",
    )
    scores = {d.dimension: d for d in score_lesson_plan(plan)}
    assert set(scores) == set(PLAN_DIMENSIONS)
    assert (
        scores["学情分析"].score == 1
        and scores["学情分析"].evidence[0]["quote"] == "（未检测到该部分）"
    )
    assert scores["教学目标"].evidence[0]["line"] == 1
