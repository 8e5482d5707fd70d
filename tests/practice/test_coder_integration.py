"""The DialogID moves in the product: talk codes, rubric evidence, diagnosis, bench."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import mean

import pytest

from yanxiu.config import PROJECT_ROOT
from yanxiu.lab.score_bench import bench_score
from yanxiu.practice.coder import LABELS, LABELS_ZH, Move, load_coder
from yanxiu.practice.diagnosis import MODEL_VERSION, diagnose_transcript
from yanxiu.practice.lesson_metrics import st_analysis
from yanxiu.practice.parse import Utterance, parse_transcript
from yanxiu.practice.rubric import move_stats, score_transcript
from yanxiu.practice.talk_codes import code_turns, is_chinese, sentences, turn_move

KEYWORDS = {"同学们好": "greeting", "为什么": "guidance", "总结": "summarization",
            "比如": "example-giving", "上节课": "reviewing", "好": "commending"}  # fmt: skip


class KeywordCoder:
    """Stands in for the learned coder: a keyword per move, records what it was asked."""

    version = "abcdef12"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def code(self, texts: Sequence[str]) -> list[Move]:
        self.seen += list(texts)
        out = []
        for t in texts:
            name = next((m for k, m in KEYWORDS.items() if k in t), "others")
            out.append(Move(LABELS.index(name), name, LABELS_ZH[name], 0.9, t))
        return out


def u(i: int, role: str, text: str, *, action: bool = False) -> Utterance:
    return Utterance(index=i, line_no=i + 1, speaker_role=role,
                     speaker_label="师" if role == "teacher" else "生", text=text, is_action=action)  # fmt: skip


LESSON = [
    u(0, "teacher", "同学们好，上课。"),
    u(1, "teacher", "我们先看看上节课学的浮力。"),
    u(2, "teacher", "为什么铁块会沉下去？"),
    u(3, "student", "因为铁块比水重。"),
    u(4, "teacher", "很好！那一艘铁船呢？"),
    u(5, "students", "（小组讨论）", action=True),
    u(6, "student", "船是空心的。"),
    u(7, "teacher", "比如一块橡皮泥，捏成碗状就能浮起来。"),
    u(8, "teacher", "我们总结一下：浮力与排开液体的体积有关。"),
]


def test_teacher_turns_get_moves_and_fias_codes_do_not_change():
    coder = KeywordCoder()
    with_moves = code_turns(LESSON, coder=coder)  # type: ignore[arg-type]
    rules = code_turns(LESSON, coder=None)
    assert [c.fias for c in with_moves] == [c.fias for c in rules]
    assert all(c.move is None for c in rules)
    moves = [c.move.name if c.move else None for c in with_moves]
    assert moves == [
        "greeting",
        "reviewing",
        "guidance",
        None,
        "commending",
        None,
        None,
        "example-giving",
        "summarization",
    ]
    # only spoken teacher turns are sent to the model, sentence by sentence, in one batch
    assert coder.seen == ["同学们好，上课。", "我们先看看上节课学的浮力。", "为什么铁块会沉下去？",
                          "很好！", "那一艘铁船呢？", "比如一块橡皮泥，捏成碗状就能浮起来。",
                          "我们总结一下：浮力与排开液体的体积有关。"]  # fmt: skip
    # the turn "很好！那一艘铁船呢？" takes its specific move and names the sentence
    assert with_moves[4].move.text == "很好！"


def test_sentences_language_and_the_move_of_a_turn():
    assert sentences("好。例题二，电压是多少？用哪个公式？") == [
        "好。",
        "例题二，电压是多少？",
        "用哪个公式？",
    ]
    assert sentences("没有句末标点") == ["没有句末标点"]
    assert is_chinese("I表示什么？") and not is_chinese("How would you say 参考文献 in English?")
    assert not is_chinese("OK")
    m = lambda name, p: Move(LABELS.index(name), name, LABELS_ZH[name], p)  # noqa: E731
    assert turn_move([m("others", 0.9), m("guidance", 0.6)]).name == "guidance"
    assert turn_move([m("others", 0.9), m("guidance", 0.4)]).name == "others"
    assert turn_move([m("commending", 0.7), m("guidance", 0.8)]).name == "guidance"


def test_english_turns_are_not_coded():
    lesson = [u(0, "teacher", "Why does the boat float?"), u(1, "teacher", "这节课我们学习浮力。")]
    coder = KeywordCoder()
    codes = code_turns(lesson, coder=coder)  # type: ignore[arg-type]
    assert codes[0].move is None and codes[1].move is not None
    assert coder.seen == ["这节课我们学习浮力。"]
    english = [u(0, "teacher", "Why does the boat float?"), u(1, "student", "It is hollow.")]
    moves = diagnose_transcript(english, coder=KeywordCoder()).analytics.moves  # type: ignore[arg-type, union-attr]
    assert moves.available is False and "只适用于中文" in moves.note


def test_move_distribution_is_evidence_in_the_rubric():
    codes = code_turns(LESSON, coder=KeywordCoder())  # type: ignore[arg-type]
    ms = move_stats(LESSON, codes)
    assert ms is not None and ms.n == 6 and ms.counts["commending"] == 1
    scores = {d.dimension: d for d in score_transcript(LESSON, codes, st_analysis(LESSON))}
    quality = scores["提问质量"]
    assert quality.measure.guidance_share == pytest.approx(1 / 6, abs=1e-3)
    assert "引导启发" in quality.norm
    assert any(e.move == "guidance" and e.utterance == 2 for e in quality.evidence)
    feedback = scores["反馈评价"]
    # teacher turns right after a student: #4 (commending) and #7 (example-giving, after #6)
    assert feedback.measure.commending_or_guidance_after_student == 0.5
    assert any(e.move == "commending" and "表扬激励" in e.note for e in feedback.evidence)
    think = scores["思维深度"]
    assert think.measure.deepening_move_share == pytest.approx(4 / 6, abs=1e-3)
    assert any(e.move == "summarization" for e in think.evidence)
    goal = scores["教学目标达成"]
    # a closing summary (the coder's 归纳总结 move) is the teacher's summary, not an in-class
    # check of the goals (issue 20: only checks answered by students count as checks)
    assert goal.measure.teacher_summary and any(e.move == "summarization" for e in goal.evidence)


def test_question_and_thinking_scores_take_moves_as_evidence_only():
    rule = {d.dimension: d for d in score_transcript(LESSON, code_turns(LESSON, coder=None), st_analysis(LESSON))}  # fmt: skip
    moved = {d.dimension: d for d in score_transcript(LESSON, code_turns(LESSON, coder=KeywordCoder()), st_analysis(LESSON))}  # type: ignore[arg-type]  # fmt: skip
    for dim in ("提问质量", "思维深度", "学生参与", "课堂互动"):
        assert moved[dim].score == rule[dim].score
    assert len(moved["提问质量"].evidence) > len(rule["提问质量"].evidence)


def test_without_a_model_the_rubric_is_rule_only():
    codes = code_turns(LESSON, coder=None)
    assert move_stats(LESSON, codes) is None
    for d in score_transcript(LESSON, codes, st_analysis(LESSON)):
        assert "话语编码模型" not in d.norm and "moves" not in d.measure.model_fields_set
        assert not any(e.move is not None for e in d.evidence)


def test_moves_shift_case_scores_by_at_most_one_band(content):
    """The moves weigh 0.2: on the case transcripts no dimension moves by more than one band."""
    for case in (c for c in content.cases if c.kind == "transcript"):
        utts = parse_transcript(case.body.encode("utf-8"), "case.txt")
        st = st_analysis(utts)
        rule = {
            d.dimension: d.score for d in score_transcript(utts, code_turns(utts, coder=None), st)
        }
        moved = {d.dimension: d.score for d in score_transcript(utts, code_turns(utts, coder=KeywordCoder()), st)}  # type: ignore[arg-type]  # fmt: skip
        assert all(abs(moved[k] - rule[k]) <= 1 for k in rule), case.id


def test_diagnosis_reports_the_moves_and_the_coder_version():
    result = diagnose_transcript(LESSON, coder=KeywordCoder())  # type: ignore[arg-type]
    moves = result.analytics.moves
    assert moves.available and moves.turns_making["greeting"] == 1
    assert result.analytics.turn_codes[2].move_zh == "引导启发"
    assert result.model_version == f"{MODEL_VERSION}:coder-abcdef12"
    assert len(result.model_version) <= 64
    plain = diagnose_transcript(LESSON, coder=None)
    assert plain.model_version == MODEL_VERSION and plain.analytics.moves.available is False


def needs_model(test):  # type: ignore[no-untyped-def]
    """The model is shipped in models/utterances: without it these tests fail, never skip."""
    return test


@pytest.mark.slow
@needs_model
def test_shipped_coder_keeps_dialogic_lessons_ahead_of_lecture_ones(content):
    """The reason the moves are scored only where they are: they must not blur the styles."""
    coder = load_coder(PROJECT_ROOT / "models")
    gaps: dict[bool, dict[str, float]] = {}
    for with_moves in (False, True):
        by_style: dict[str, list[dict[str, int]]] = {"对话": [], "讲授": []}
        for case in (c for c in content.cases if c.kind == "transcript"):
            style = next((s for s in by_style if case.summary.startswith(s) or f"{s}型" in case.summary[:12]), None)  # fmt: skip
            if style is None:
                continue
            utts = parse_transcript(case.body.encode("utf-8"), "case.txt")
            codes = code_turns(utts, coder=coder if with_moves else None)
            by_style[style].append({d.dimension: d.score for d in score_transcript(utts, codes, st_analysis(utts))})  # fmt: skip
        gaps[with_moves] = {
            dim: mean(r[dim] for r in by_style["对话"]) - mean(r[dim] for r in by_style["讲授"])
            for dim in ("提问质量", "思维深度", "反馈评价", "课堂互动")
        }
    assert all(gaps[True][dim] >= gaps[False][dim] for dim in gaps[True]), gaps


@pytest.mark.slow
@needs_model
def test_bench_scores_a_long_lesson_with_the_shipped_coder():
    # Speed itself is measured by `yanxiu bench score` (make bench), not asserted in a test.
    result = bench_score(PROJECT_ROOT / "content", utterances=600, repeats=1)
    assert result["coder"] and result["coder"].startswith(MODEL_VERSION + ":coder-")
    assert result["coder"].endswith("-e5int8")  # the shipped e5 runs with int8 weights
    assert result["utterances"] == 600 and result["teacher_utterances"] > 200
    assert result["target_s"] == 2.0 and result["parse_and_score_s"] > result["parse_s"] > 0
