"""Rule-based question and FIAS codes: hand examples and the content's case transcripts."""

import time
from statistics import mean

import pytest

from yanxiu.practice.lesson_metrics import question_stats
from yanxiu.practice.parse import Utterance, parse_transcript
from yanxiu.practice.talk_codes import classified, code_question, code_turns

# Statements and questions as typed transcripts and ASR give them: (text, is_question, open).
# Each case is one that a plausible wrong rule gets wrong (checked by the test below it).
QUESTION_TABLE = [
    # wh-words in statements
    ("这就是为什么要移项。", False, None),  # explains, does not ask
    ("这就是为什么要移项", False, None),  # the same from ASR, no punctuation
    ("这几个例子都说明，浮力的大小和物体浸入液体的体积有关。", False, None),  # 这几 = these
    ("为什么铁块会沉下去，是因为它的密度比水大。", False, None),  # asked and answered at once
    ("不知道为什么，很多同学这一步总是忘了变号。", False, None),
    ("什么方法都可以，只要能说清楚理由。", False, None),  # 什么都 = any
    ("无论用哪种方法，最后都要检验。", False, None),  # concessive
    ("有几个同学还没有交作业。", False, None),  # 几个 = a few
    ("老师还要说几句。", False, None),
    ("这个结论几乎所有同学都同意。", False, None),
    ("多少有些同学会觉得这一步难。", False, None),
    ("没什么，大家继续写。", False, None),
    ("想说什么就说什么。", False, None),
    ("表示“谁的”要用 whose。", False, None),  # a quotation
    ("今天我们学习如何列方程解行程问题。", False, None),  # announces the topic
    ("大家看看会有什么变化。", False, None),  # a direction to observe
    ("挑一条你觉得最有用的建议改一改。", False, None),  # 你觉得 in a relative clause
    ("That's a perfect example of showing.", False, None),  # "how" inside "showing"
    # particles that do not ask
    ("我们开始吧。", False, None),  # 吧 of a suggestion
    ("我还没讲完呢", False, None),  # declarative 呢
    ("这个问题呢，我们待会儿再说。", False, None),  # topic 呢
    # questions without a question mark (ASR) or with a wrong 。
    ("一共有几个三角形", True, False),
    ("为什么要移项", True, True),
    ("x等于几。", True, False),  # 。 in place of ？, nothing non-asking about 几
    ("大家听懂了吗。", True, False),
    ("三乘四等于十二，对吧", True, False),  # tag 吧
    ("那第二题呢", True, False),  # elliptical 呢
    ("你是怎么想的", True, True),
    ("你们知不知道为什么", True, True),  # 知不知道 asks, unlike 不知道
    ("还有没有别的方法", True, True),
    ("你觉得他说得对", True, True),
    ("Why does that line matter", True, True),
    ("用自己的话说说这句话是什么意思。", True, True),  # a prompt to answer
    ("这几个数有什么共同点。", True, True),  # 这几 does not ask, 什么 does
    # questions: open or closed judged without the non-asking part
    ("这就是为什么要移项，对吗？", True, False),
    ("你刚才说“怎么努力都没用”，这是你当时的想法，对吗？", True, False),
]
# readable test ids: q07 (a question) / s03 (a statement)
TABLE_IDS = [("q" if asks else "s") + f"{i:02d}" for i, (_, asks, _) in enumerate(QUESTION_TABLE)]

# Rules a reviewer could plausibly write instead, as (is_question, open); see the table test.
_OLD_CUES = ("为什么", "怎么", "如何", "什么", "哪", "谁", "几", "多少", "是不是", "对不对",
             "有没有", "能不能", "吗", "吧", "呢", "你觉得", "why", "how", "what")  # fmt: skip
_OPEN_WORDS = ("为什么", "怎么", "如何", "说说", "你觉得", "别的", "why")


def _naive(asks: bool, text: str) -> tuple[bool, bool | None]:
    return asks, (any(w in text.lower() for w in _OPEN_WORDS) if asks else None)


WRONG_RULES = {
    "any cue word asks": lambda t: _naive("？" in t or any(c in t.lower() for c in _OLD_CUES), t),
    "only a question mark asks": lambda t: _naive("？" in t or "?" in t, t),
    "a final 。 never asks": lambda t: _naive(
        "？" in t or (t[-1] not in "。！." and any(c in t.lower() for c in _OLD_CUES)), t
    ),
}


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


@pytest.mark.parametrize(("text", "asks", "is_open"), QUESTION_TABLE, ids=TABLE_IDS)
def test_statements_are_not_questions_and_questions_need_no_question_mark(text, asks, is_open):
    got = code_question(text)
    assert (got[0], got[1]) == (asks, is_open), got
    if not asks:
        assert got == (False, None, None, [])  # a statement keeps the 4-tuple shape


@pytest.mark.parametrize(("text", "asks", "is_open"), QUESTION_TABLE, ids=TABLE_IDS)
def test_every_table_case_catches_a_wrong_rule(text, asks, is_open):
    wrong = [name for name, rule in WRONG_RULES.items() if rule(text) != (asks, is_open)]
    assert wrong, f"{text!r}: no wrong rule fails it, so it tests nothing"


def test_statements_do_not_inflate_question_counts_or_fias():
    turns = [
        u(0, "teacher", "两边同时加上同一个数，等式仍然成立。这就是为什么要移项。"),
        u(1, "teacher", "这几个例子都说明，移项要变号。"),
        u(2, "teacher", "为什么移项要变号？"),
        u(3, "student", "因为是在等式两边同时减去这一项。"),
        u(4, "teacher", "你说是两边同时减去，那x等于几"),
    ]
    codes = code_turns(turns, coder=None)
    assert [c.fias for c in codes] == [5, 5, 4, 8, 3]
    stats = question_stats(classified(turns, codes))
    assert stats.count == 2 and stats.open == 1
    assert stats.bloom["分析"] == 1 and stats.bloom["记忆"] == 1


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
    open_share = {s: mean(q.open_share or 0 for q in qs) for s, qs in by_style.items()}
    higher = {s: mean(q.higher_order_share or 0 for q in qs) for s, qs in by_style.items()}
    assert open_share["对话"] > open_share["讲授"] + 0.15
    assert higher["对话"] > higher["讲授"] + 0.15


@pytest.mark.parametrize(
    "line",
    ["为什么" * 20_000 + "。", "着" * 60_000 + "，呢", "“" * 60_000 + "。", "因为" + "为什么" * 20_000 + "。",
     "为什么“着呢，几个 " * 6_000 + "。"],
    ids=["why-no-because", "zhe-ne", "open-quotes", "because-first", "mixed"],
)  # fmt: skip
def test_question_rules_stay_linear_on_long_lines(line):
    """A guard, not a benchmark: with an unbounded span each of these took 1–8 s (quadratic
    re-scanning from every opening); bounded, about 0.03 s."""
    start = time.perf_counter()
    code_question(line)
    assert time.perf_counter() - start < 1.0


def test_a_suggestion_with_ba_is_not_a_question():
    assert code_question("你就这么理解吧。")[0] is False
    assert code_question("这下理解了吧")[0] is True
