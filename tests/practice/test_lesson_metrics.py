"""Lesson analytics: every formula on a hand-computed example, and the content transcripts."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from yanxiu.practice.draft import RegionCount, STPoint, UptakeEvent, WaitTime
from yanxiu.practice.lesson_metrics import (
    Classified,
    content_units,
    expand_fias,
    fias_matrix,
    fias_ratios,
    fias_regions,
    question_stats,
    rt_ch,
    speech_seconds,
    st_analysis,
    st_chart,
    st_codes,
    st_mode,
    talk_share,
    timeline,
    uptake,
    wait_times,
)
from yanxiu.practice.parse import Utterance, parse_transcript

CASES_DIR = Path(__file__).resolve().parents[2] / "content" / "cases"
MODES = ("练习型", "讲授型", "对话型", "混合型")


def U(i, role, text, start=None, end=None):  # noqa: N802 - reads like a table row
    label = {"teacher": "师", "student": "生A", "students": "众生"}[role]
    action = bool(re.fullmatch(r"（[^（）]*）", text))
    return Utterance(i, i + 1, role, label, text, start, end, action)


# ---------------------------------------------------------------- durations


def test_speech_seconds():
    assert speech_seconds(U(0, "teacher", "一二三四五六七八九十一二")) == 3.0  # 12 chars / 4
    assert speech_seconds(U(0, "teacher", "好")) == 1.0  # max(1, 1/4)
    assert speech_seconds(U(0, "student", "I like it")) == pytest.approx(1.2)  # 3 × 1.6 / 4
    assert speech_seconds(U(0, "students", "（独立练习）")) == 30.0  # action


def test_timeline_timed_and_estimated():
    us = [
        U(0, "teacher", "好", 0),
        U(1, "student", "好", 10, 12),
        U(2, "teacher", "八个字八个字八个", 25),
    ]
    # ends: next start (10); stated end (12); last = 25 + 8/4 = 27
    assert timeline(us) == ([(0, 10), (10, 12), (25, 27.0)], False)
    untimed = [replace(u, start_s=None, end_s=None) for u in us]
    # laid end to end: 1 s, 1 s, 2 s
    assert timeline(untimed) == ([(0, 1), (1, 2), (2, 4)], True)


# ---------------------------------------------------------------- S-T


def test_st_codes_from_timestamps():
    us = [
        U(0, "teacher", "讲", 0),  # T 0–70
        U(1, "students", "（独立练习）", 70),  # S 70–100
        U(2, "teacher", "讲" * 39 + "？", 100, 105),  # T 100–105 (stated end), a question
        U(3, "student", "答" * 8, 125),  # S 125–127
    ]
    # samples at 0, 30, 60, 90, 120: T T T S S (120 is the silence after the question → S)
    assert st_codes(us) == ("TTTSS", False)
    # 10-s sampling: 0..120 → T×7 (0–60), S×3 (70,80,90), T (100), S (110, 120)
    assert st_codes(us, 10)[0] == "TTTTTTTSSSTSS"
    # a cue that neither asks nor sets work keeps the long silence after it, as a start-only
    # turn does (the teacher writes on the board): 100–125 is T, and 120 with it
    lecture = [*us[:2], replace(us[2], text="讲" * 40), us[3]]
    assert st_codes(lecture) == ("TTTST", False)
    assert st_codes(lecture, gaps="teacher")[0] == "TTTST"
    # ... as behaviour (S-T) only: talk keeps the stated end, nobody spoke in that silence
    assert timeline(lecture)[0][2] == (100, 105)
    assert timeline(lecture, behaviour=True)[0][2] == (100, 125)
    # a short silence after a stated end (≤ 15 s) stays silence: 110 (105–118) is S; the
    # lesson stops at 120 (118 + 2 s of speech)
    short = [*lecture[:3], replace(us[3], start_s=118.0)]
    assert st_codes(short, 10)[0] == "TTTTTTTSSSTS"


def test_st_codes_estimated():
    us = [
        U(0, "teacher", "讲" * 240),
        U(1, "students", "（独立练习）"),
        U(2, "teacher", "讲" * 120),
    ]
    # durations 60, 30, 30 → T 0–60, S 60–90, T 90–120; samples 0,30,60,90 → TTST
    assert st_codes(us) == ("TTST", True)


@pytest.mark.parametrize(
    ("codes", "rt", "ch", "mode"),
    [
        ("TTSSST", 3 / 6, 2 / 6, "混合型"),  # runs TT|SSS|T = 3 → Ch = (3−1)/6
        ("TSTSTS", 3 / 6, 5 / 6, "对话型"),  # 6 runs → Ch = 5/6
        ("TTTTTTTTS", 8 / 9, 1 / 9, "讲授型"),  # 2 runs
        ("SSST", 1 / 4, 1 / 4, "练习型"),
        ("T", 1.0, 0.0, "讲授型"),
    ],
)
def test_rt_ch_mode(codes, rt, ch, mode):
    got_rt, got_ch = rt_ch(codes)
    assert (got_rt, got_ch) == (pytest.approx(rt), pytest.approx(ch))
    assert st_mode(got_rt, got_ch) == mode


def test_mode_boundaries_and_empty():
    assert st_mode(0.3, 0.9) == "练习型" and st_mode(0.7, 0.9) == "讲授型"
    assert st_mode(0.5, 0.4) == "对话型" and st_mode(0.5, 0.39) == "混合型"
    with pytest.raises(ValueError):
        rt_ch("")


def test_st_chart_and_result():
    chart = st_chart(0.5, 0.5)
    assert chart.point == STPoint(rt=0.5, ch=0.5, mode="对话型")
    polygons = {r.mode: r.polygon for r in chart.regions}
    assert set(polygons) == set(MODES)
    assert polygons["练习型"] == [[0, 0], [0.3, 0], [0.3, 0.6]]  # Ch ≤ 2·Rt at Rt = 0.3
    us = [U(0, "teacher", "讲", 0), U(1, "student", "答", 30), U(2, "teacher", "讲", 60)]
    result = st_analysis(us)  # samples 0,30,60 → TST: N 3, N_T 2, g 3, Rt 2/3, Ch 2/3
    assert (result.codes, result.n, result.n_t, result.runs) == ("TST", 3, 2, 3)
    assert result.mode == "对话型" and not result.estimated
    assert result.summary().chart.point.mode == "对话型"


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="TS", min_size=1, max_size=80))
def test_rt_ch_properties(codes):
    rt, ch = rt_ch(codes)
    assert 0 <= rt <= 1 and 0 <= ch < 1
    assert ch <= 2 * min(rt, 1 - rt) + 1 / len(codes) + 1e-9  # the chart's reachable triangle
    assert st_mode(rt, ch) in MODES


# ---------------------------------------------------------------- FIAS


def test_expand_fias():
    coded = [(5, 0, 9), (4, 9, 12), (8, 17, 23), (2, 23, 24), (9, 26.9, 30)]
    # 5: 9/3 = 3 slots; 4: 1; gap 12→17 = 5 s → 1 × 10; 8: 6/3 = 2; 2: round(1/3)=0 → 1;
    # gap 24→26.9 = 2.9 s < 3 → none; 9: round(3.1/3) = 1
    assert expand_fias(coded) == [5, 5, 5, 4, 10, 8, 8, 2, 9]
    with pytest.raises(ValueError):
        expand_fias([(11, 0, 3)])


def test_fias_matrix_and_ratios():
    codes = [5, 5, 5, 4, 10, 8, 8]
    m = fias_matrix(codes)  # pairs: (5,5)×2, (5,4), (4,10), (10,8), (8,8) → 6 pairs
    assert m[4][4] == 2 and m[4][3] == 1 and m[3][9] == 1 and m[9][7] == 1 and m[7][7] == 1
    assert sum(map(sum, m)) == 6
    r = fias_ratios([1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10])  # N = 12
    assert r["teacher_talk"] == pytest.approx(8 / 12)  # codes 1–7: 1+1+1+2+1+1+1
    assert r["student_talk"] == pytest.approx(3 / 12)  # 8, 8, 9
    assert r["silence"] == pytest.approx(1 / 12)
    assert r["indirect_direct"] == pytest.approx(5 / 3)  # (1+1+1+2)/(1+1+1)
    assert r["positive_negative"] == pytest.approx(3 / 2)  # (1+1+1)/(1+1)
    assert r["question"] == pytest.approx(2 / 3)  # 2/(2+1)
    assert r["student_initiative"] == pytest.approx(1 / 3)  # 1/(2+1)
    assert r["steady_state"] == pytest.approx(2 / 12)  # diagonal pairs (4,4), (8,8)
    empty = fias_ratios([5, 5])
    assert empty["positive_negative"] is None and empty["student_initiative"] is None
    assert empty["steady_state"] == pytest.approx(1 / 2)  # one (5,5) pair over N = 2
    with pytest.raises(ValueError):
        fias_matrix([0, 3])


def test_fias_regions():
    m = fias_matrix([1, 2, 3, 3, 6, 7, 4, 5, 5])
    # pairs (1,2) (2,3) (3,3) (3,6) (6,7) (7,4) (4,5) (5,5): 8 in all
    regions = fias_regions(m)
    assert regions["积极整合格"] == RegionCount(count=3, share=3 / 8)  # (1,2) (2,3) (3,3)
    assert regions["缺陷格"] == RegionCount(count=1, share=1 / 8)  # (6,7)
    assert regions["内容十字格"] == RegionCount(count=3, share=3 / 8)  # (7,4) (4,5) (5,5)


# ---------------------------------------------------------------- questions, talk, uptake


def test_question_stats():
    items = [
        Classified(U(0, "teacher", "是什么？"), True, True, "记忆"),
        Classified(U(1, "teacher", "对吗？"), True, False, "分析"),
        Classified(U(2, "teacher", "为什么？"), True, True, "创造"),
        Classified(U(3, "teacher", "谁来？"), True, None, None),
        Classified(U(4, "student", "为什么？"), True, True, "评价"),  # student: ignored
        Classified(U(5, "teacher", "好。")),
    ]
    s = question_stats(items)
    assert (s.count, s.open) == (4, 2)
    assert s.open_share == pytest.approx(2 / 3)  # 2 open of 3 judged
    assert s.bloom["记忆"] == 1 and s.bloom["评价"] == 0
    assert s.higher_order_share == pytest.approx(2 / 3)  # 分析 + 创造 of 3 levelled


def test_wait_times():
    items = [
        Classified(U(0, "teacher", "问题一？", 10, 14), True),
        Classified(U(1, "student", "答", 17)),  # 17 − 14 = 3.0, stated end
        Classified(U(2, "teacher", "八个字八个字八个", 30), True),
        Classified(U(3, "student", "答", 35)),  # end 30 + 8/4 = 32 → 3.0, estimated
        Classified(U(4, "teacher", "问题三？", 40), True),
        Classified(U(5, "teacher", "我来说", 50)),  # teacher answers: no wait time
        Classified(U(6, "teacher", "一二三四五六七八", 60), True),
        Classified(U(7, "students", "答", 61)),  # 61 − 62 < 0 → 0
    ]
    assert wait_times(items) == [
        WaitTime(question=0, seconds=3.0, estimated=False),
        WaitTime(question=2, seconds=3.0, estimated=True),
        WaitTime(question=6, seconds=0.0, estimated=True),
    ]
    assert (
        wait_times([Classified(U(0, "teacher", "问？"), True), Classified(U(1, "student", "答"))])
        == []
    )


def test_talk_share():
    us = [U(0, "teacher", "一二三四五六", 0), U(1, "student", "一二", 30),
          U(2, "teacher", "讲" * 40, 40), U(3, "students", "（练习）", 50, 50)]  # fmt: skip
    # time: T 0–30 + 40–50 = 40; S 30–40 + 0 = 10 → teacher 40/50 = 0.8
    # chars (actions excluded): T 6 + 40 = 46, S 2 → 46/48
    s = talk_share(us)
    assert s.teacher_time == pytest.approx(0.8) and s.student_time == pytest.approx(0.2)
    assert s.teacher_chars == pytest.approx(46 / 48) and not s.estimated


def test_content_units_and_uptake():
    # 青蛙只看到井口: bigrams 青蛙 蛙只 [只看 看到: 看 is a function char] 到井 井口
    assert content_units("青蛙只看到井口") == {"青蛙", "蛙只", "到井", "井口"}
    assert content_units("The frog was in the well") == {"frog", "well"}
    us = [
        U(0, "student", "青蛙只看到井口"),
        U(1, "teacher", "你说青蛙只看到井口，对吗"),  # shares all four → uptake
        U(2, "student", "对的"),
        U(3, "teacher", "好，请坐。"),  # shares nothing
        U(4, "students", "（齐读）"),  # actions are not ideas to take up
        U(5, "teacher", "齐读"),
    ]
    u = uptake(us)
    assert (u.count, u.opportunities, u.rate) == (1, 2, 0.5)
    assert u.events == [UptakeEvent(student=0, teacher=1, shared=["井口", "到井", "蛙只", "青蛙"])]


# ---------------------------------------------------------------- content transcripts


def _transcripts() -> list[dict]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        out += [
            c for c in yaml.safe_load(path.read_text("utf-8"))["cases"] if c["kind"] == "transcript"
        ]
    return out


def test_content_transcripts_have_sensible_st_modes():
    """Modes are computed from 30-s samples of short fragments, so they are checked against the
    case summaries loosely: declared lectures are teacher-dominated, declared practice lessons
    student-dominated, declared dialogues in between, and most modes agree exactly."""
    agree, cases = 0, _transcripts()
    for case in cases:
        us = parse_transcript(case["body"].encode("utf-8"), "case.txt")
        r = st_analysis(us)
        declared = next((m for m in MODES if m in case["summary"][:12]), None)
        assert r.n >= 15 and not r.estimated and r.mode in MODES, case["id"]
        if declared == "讲授型":
            assert r.rt >= 0.6, case["id"]
        elif declared == "练习型":
            assert r.rt <= 0.4, case["id"]
        elif declared == "对话型":
            assert 0.3 < r.rt < 0.7 and r.ch >= 0.25, case["id"]
        agree += r.mode == declared
        untimed = st_analysis([replace(u, start_s=None, end_s=None) for u in us])
        assert untimed.estimated and untimed.mode in MODES
    assert agree / len(cases) >= 0.6
