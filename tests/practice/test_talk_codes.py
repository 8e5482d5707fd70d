"""Rule-based question and FIAS codes: hand examples and the content's case transcripts."""

from statistics import mean

import pytest

from yanxiu.practice.lesson_metrics import question_stats
from yanxiu.practice.parse import Utterance, parse_transcript
from yanxiu.practice.talk_codes import classified, code_question, code_turns


def u(i, role, text):
    return Utterance(
        index=i,
        line_no=i + 1,
        speaker_role=role,
        speaker_label="师" if role == "teacher" else "生",
        text=text,
    )


@pytest.mark.parametrize(
    ("text", "asks", "is_open", "bloom"),
    [
        ("三角形的内角和是多少度？", True, False, "记忆"),
        ("对不对？", True, False, "记忆"),
        ("你为什么这样想？", True, True, "分析"),
        ("还有没有别的方法？", True, True, "创造"),
        ("其他同学同意他的说法吗？", True, False, "评价"),
        (
            "用自己的话说说这句话是什么意思。",
            True,
            True,
            "理解",
        ),  # a prompt to answer is a question
        ("这句话是什么意思？请用自己的话说说。", True, False, "理解"),
        ("Why does that line matter?", True, True, "分析"),
        ("Does anyone disagree with rule three?", True, False, "评价"),
        ("今天我们学习一元一次方程。", False, None, None),
    ],
)
def test_question_codes(text, asks, is_open, bloom):
    got = code_question(text)
    assert got[:3] == (asks, is_open, bloom)


def test_fias_codes_follow_the_turn_and_its_context():
    turns = [
        u(0, "teacher", "同学们，今天我们学习浮力。物体浸在液体中会受到向上的力。"),  # 5 lecture
        u(1, "teacher", "请打开课本第五十页。"),  # 6 direction
        u(2, "teacher", "为什么铁块会沉下去？"),  # 4 question
        u(3, "student", "因为铁块比水重。"),  # 8 response
        u(
            4, "teacher", "你说铁块比水重，那一大块木头比一小杯水重，为什么浮起来？"
        ),  # 3 uses the idea
        u(5, "student", "老师，我有个问题，船是铁做的为什么不沉？"),  # 9 initiation
        u(6, "teacher", "非常好，这个问题很有价值！"),  # 2 praise
        u(7, "teacher", "安静！不要说话。"),  # 7 criticism
        u(8, "teacher", "别紧张，慢慢说。"),  # 1 accepts feeling
    ]
    assert [c.fias for c in code_turns(turns)] == [5, 6, 4, 8, 3, 9, 2, 7, 1]


def test_dialogic_cases_ask_more_open_and_higher_order_questions_than_lecture_cases(content):
    by_style: dict[str, list[dict]] = {"对话": [], "讲授": []}
    for case in content.cases:
        if case.kind != "transcript":
            continue
        style = next(
            (s for s in by_style if case.summary.startswith(s) or f"{s}型" in case.summary[:12]),
            None,
        )
        if style:
            utts = parse_transcript(case.body.encode("utf-8"), "case.txt")
            by_style[style].append(question_stats(classified(utts, code_turns(utts))))
    assert len(by_style["对话"]) >= 4 and len(by_style["讲授"]) >= 4
    open_share = {s: mean(q["open_share"] or 0 for q in qs) for s, qs in by_style.items()}
    higher = {s: mean(q["higher_order_share"] or 0 for q in qs) for s, qs in by_style.items()}
    assert open_share["对话"] > open_share["讲授"] + 0.15
    assert higher["对话"] > higher["讲授"] + 0.15
