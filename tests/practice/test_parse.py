"""Transcript and lesson-plan parsing: every format, every error path, property tests, fuzzing."""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

import docx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yanxiu.practice.parse import (
    MAX_UTTERANCES,
    TranscriptError,
    canonical_section,
    parse_clock,
    parse_lesson_plan,
    parse_transcript,
)

CASES_DIR = Path(__file__).resolve().parents[2] / "content" / "cases"


def _cases(kind: str) -> list[dict]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        out += [c for c in yaml.safe_load(path.read_text("utf-8"))["cases"] if c["kind"] == kind]
    return out


TRANSCRIPTS = _cases("transcript")
PLANS = _cases("lesson_plan")


def parse_text(text: str, name: str = "t.txt"):
    return parse_transcript(text.encode("utf-8"), name)


def refused(data: bytes | str, name: str = "t.txt") -> TranscriptError:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(TranscriptError) as info:
        parse_transcript(raw, name)
    return info.value


def make_docx(paragraphs: list[tuple[str, str | None, bool]]) -> bytes:
    document = docx.Document()
    for text, style, bold in paragraphs:
        p = document.add_paragraph(style=style)
        p.add_run(text).bold = bold
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- text transcripts


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("师", "teacher"), ("老师", "teacher"), ("教师", "teacher"), ("王老师", "teacher"),
        ("T", "teacher"), ("Teacher", "teacher"),
        ("生", "student"), ("学生", "student"), ("学生A", "student"), ("生A", "student"),
        ("生1", "student"), ("S", "student"), ("S2", "student"), ("Student A", "student"),
        ("众生", "students"), ("全体", "students"), ("全班", "students"), ("Ss", "students"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("colon", ["：", ":"])
def test_speaker_prefixes(label, role, colon):
    [u] = parse_text(f"{label}{colon} 你好")
    assert (u.speaker_role, u.speaker_label, u.text) == (role, label, "你好")


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("老师（王）", "teacher"), ("老师(王)", "teacher"), ("王老师（主讲）", "teacher"),
        ("欧阳老师", "teacher"), ("师问", "teacher"), ("T1", "teacher"), ("T2", "teacher"),
        ("助教", "teacher"), ("主讲", "teacher"), ("主讲教师", "teacher"), ("班主任", "teacher"),
        ("生（张三）", "student"), ("学生（李明）", "student"), ("S1", "student"),
        ("生A答", "student"), ("李明同学", "student"), ("同学A", "student"), ("男生1", "student"),
        ("组长", "student"), ("第一组代表", "student"),
        ("男生", "students"), ("女生", "students"), ("生（齐）", "students"),
        ("学生（齐）", "students"), ("生（齐读）", "students"), ("小组1", "students"),
        ("第二组", "students"), ("一组", "students"), ("各组", "students"), ("A组", "students"),
        ("全班齐", "students"), ("男生齐", "students"), ("全班齐读", "students"),
        ("生齐", "students"), ("齐", "students"), ("众生答", "students"), ("同学们", "students"),
    ],
)  # fmt: skip
def test_classroom_speaker_labels(label, role):
    [u] = parse_text(f"{label}：你好")
    assert (u.speaker_role, u.speaker_label, u.text) == (role, label, "你好")
    [u] = parse_transcript(json.dumps([{"speaker": label, "text": "好"}]).encode(), "t.json")
    assert u.speaker_role == role  # JSON speakers use the same labels


def test_unknown_label_is_not_merged_into_the_previous_turn():
    us = parse_text("师：好\n男生：你好")
    assert [(u.speaker_role, u.text) for u in us] == [("teacher", "好"), ("students", "你好")]


@pytest.mark.parametrize(
    ("text", "line", "label", "fix"),
    [
        ("师：好\n李明：我知道", 2, "李明", "“生（李明）：”或“李明同学：”"),
        ("师：好\n生A：嗯\n[00:01:00] 校长：很好", 3, "校长", "“生（校长）：”"),
        ("家长（王）：你好", 1, "家长（王）", "“生A：”"),  # no valid form with the name in it
        ("师：好\nTom: hello", 2, "Tom", "“生（Tom）：”"),
        ("师：好\n旁白：读题", 2, "旁白", "接在上一行末尾"),  # a continuation can be joined
    ],
)
def test_unknown_labels_are_refused_by_name(text, line, label, fix):
    err = refused(text)
    assert err.line_no == line and str(err).startswith(f"第{line}行：无法识别说话人“{label}”：")
    assert fix in str(err) and "教师请写“师：”" in str(err)


@pytest.mark.parametrize(
    "line",
    ["第二行接着说", "http://example.com 请看", "12点30分：下课", "1：先读题", "比例3:2更好",
     "C:\\课件", "注意，这里：要看清", "这一句很长很长很长的话：后面"],
)  # fmt: skip
def test_continuations_without_a_label_still_continue(line):
    [u] = parse_text(f"师：请看\n{line}")
    assert u.speaker_role == "teacher" and u.text.endswith(line.split()[-1])


def test_json_unknown_speaker_names_the_fix():
    err = refused('[{"speaker": "师", "text": "好"}, {"speaker": "李明", "text": "嗯"}]', "t.json")
    assert err.line_no == 2 and str(err).startswith("第2条：无法识别说话人“李明”：")
    assert "“生（李明）”或“李明同学”" in str(err) and "教师请写“师”" in str(err)


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [("[00:01:23]", 83.0), ("00:01:23", 83.0), ("[01:23]", 83.0), ("[1:02:03.5]", 3723.5)],
)
def test_timestamps(stamp, seconds):
    [u] = parse_text(f"{stamp} 师：开始上课")
    assert u.start_s == seconds and u.end_s is None  # text gives start times only


def test_continuation_action_and_order():
    text = "[00:00:01] 师：请看\n第二行接着说\n\n[00:00:09] 众生：（独立练习）\n[00:00:40] 生A：（小组内）我们选深度"
    us = parse_text(text)
    assert [u.text for u in us] == ["请看第二行接着说", "（独立练习）", "（小组内）我们选深度"]
    assert [u.is_action for u in us] == [False, True, False]
    assert [u.index for u in us] == [0, 1, 2] and [u.line_no for u in us] == [1, 4, 5]
    assert parse_text("Teacher: Look\nat this")[0].text == "Look at this"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_encodings(encoding):
    text = "师：同学们好，今天学习《坐井观天》。\r\n生A：老师好！"
    us = parse_transcript(text.encode(encoding), "t.txt")
    assert [u.text for u in us] == ["同学们好，今天学习《坐井观天》。", "老师好！"]


def test_docx_transcript():
    data = make_docx([("[00:00:05] 师：请读课文", None, False), ("", None, False),
                      ("生A：好", None, False)])  # fmt: skip
    us = parse_transcript(data, "lesson.docx")
    assert [(u.speaker_role, u.start_s, u.line_no) for u in us] == [
        ("teacher", 5.0, 1),
        ("student", None, 3),
    ]


def test_json_transcript():
    items = [{"speaker": "师", "text": "问题？", "start": 1, "end": "00:04"},
             {"speaker": "生A", "text": "答案", "start": 6.5}]  # fmt: skip
    us = parse_transcript(json.dumps(items, ensure_ascii=False).encode(), "t.json")
    assert [(u.speaker_role, u.start_s, u.end_s) for u in us] == [
        ("teacher", 1.0, 4.0),
        ("student", 6.5, None),
    ]


def test_srt_and_vtt():
    srt = "1\n00:00:01,000 --> 00:00:04,500\n师：第一句\n接着说\n\n2\n00:00:05,000 --> 00:00:07,000\n生A：回答\n\n3\n00:00:07,000 --> 00:00:09,000\n还在回答\n"
    us = parse_text(srt, "t.srt")
    assert [(u.text, u.start_s, u.end_s) for u in us] == [
        ("第一句接着说", 1.0, 4.5),
        ("回答还在回答", 5.0, 9.0),  # a cue without a speaker extends the previous turn
    ]
    vtt = "WEBVTT\n\nNOTE 注释\n\ncue-1\n00:01.000 --> 00:03.000 align:start\n<v 老师>大家好\n\n00:03.000 --> 00:05.000\n<v 众生>老师好\n"
    us = parse_text(vtt, "t.vtt")
    assert [(u.speaker_role, u.text, u.end_s) for u in us] == [
        ("teacher", "大家好", 3.0),
        ("students", "老师好", 5.0),
    ]
    assert len(parse_text(srt, "t.txt")) == 2  # sniffed from the content


def test_parse_clock():
    assert parse_clock("01:02:03,250") == 3723.25
    with pytest.raises(TranscriptError, match="小于60"):
        parse_clock("00:75:00", 4)


# ---------------------------------------------------------------- error paths


@pytest.mark.parametrize(
    ("data", "name", "line", "fragment"),
    [
        ("你好", "t.txt", 1, "无法识别说话人"),
        ("师：好\n生A：\n", "t.txt", 2, "后面没有内容"),
        ("师：好\n[00:00:10]\n", "t.txt", 2, "时间戳后面没有发言"),
        ("[00:00:10] 师：好\n[00:00:05] 生：嗯", "t.txt", 2, "按时间顺序"),
        ("师：好\n[00:75:00] 生：嗯", "t.txt", 2, "小于60"),
        ("师：好\n[12:3x:00] 生：嗯", "t.txt", 2, "格式不对"),
        ("师：好\n[00:00:10] 第二行没有说话人", "t.txt", 2, "无法识别说话人"),
        ("1\n00:00:01,000 --> 00:00:02,000\n师：好\n\n2\n师：没有时间轴", "t.srt", 5, "缺少时间轴"),
        ("1\n00:00:01 -> 00:00:02\n师：好", "t.srt", 1, "缺少时间轴"),
        ("1\n00:00:01,000 --> 0:0:02\n师：好", "t.srt", 2, "格式不对"),
        ("1\n00:00:01,000 --> 00:00:02,000\n", "t.srt", 2, "没有文字"),
        ("1\n00:00:05,000 --> 00:00:02,000\n师：好", "t.srt", 3, "结束时间早于开始时间"),
        ("师：好\n", "t.vtt", 1, "WEBVTT"),
        ('[{"speaker": "师", "text": "好"},\n {"speaker": "师" "text": 1}]', "t.json", 2, "JSON格式错误"),
        ('[{"speaker": "师", "text": "好"}, 3]', "t.json", 2, "应为对象"),
        ('[{"speaker": "校长", "text": "好"}]', "t.json", 1, "无法识别说话人"),
        ('[{"speaker": "师"}]', "t.json", 1, "text"),
        ('[{"speaker": "师", "text": "好", "start": -1}]', "t.json", 1, "秒数"),
        ('[{"speaker": "师", "text": "好", "start": true}]', "t.json", 1, "秒数"),
        ('[{"speaker": "师", "text": "好", "start": "1:99"}]', "t.json", 1, "小于60"),
    ],
)  # fmt: skip
def test_errors_name_the_line(data, name, line, fragment):
    err = refused(data, name)
    assert err.line_no == line and f"第{line}" in str(err) and fragment in str(err)


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (b"", "t.txt", "文件为空"),
        (b"  \n ", "t.txt", "文件为空"),
        (b"x" * (2 * 1024 * 1024 + 1), "t.txt", "2 MB"),
        (b"\x00\x01\x02binary\x00", "t.txt", "编码"),
        (b"%PDF-1.4", "t.pdf", "不支持"),
        (b"PK\x03\x04 not really", "t.docx", "DOCX"),
        ('{"speaker": "师"}'.encode(), "t.json", "列表"),
        (b"[" * 5000 + b"]" * 5000, "t.json", "JSON"),
        (b"[]", "t.json", "没有找到任何发言"),
    ],
)
def test_file_level_errors(data, name, fragment):
    err = refused(data, name)
    assert fragment in str(err)


def test_utterance_limit():
    ok = "\n".join("师：好" for _ in range(MAX_UTTERANCES))
    assert len(parse_text(ok)) == MAX_UTTERANCES
    err = refused(ok + "\n生：多一句")
    assert err.line_no == MAX_UTTERANCES + 1 and "5000" in str(err)


# ---------------------------------------------------------------- lesson plans


def test_lesson_plan_styles():
    text = (
        "《测试》教学设计\n一、教学目标\n1. 掌握法则\n【学情分析】学生已学过加法\n"
        "**教学重点与难点**\n重点：法则\n难点：符号\n## 教学环节\n1. 复习导入：提问\n"
        "2. 分享评价（5分钟）：同桌互评\n- 目标1：能说出法则\n课后作业：习题1\n"
    )
    plan = parse_lesson_plan(text.encode("gbk"), "plan.txt")
    assert plan.sections["教学目标"] == "1. 掌握法则"
    assert plan.sections["学情分析"] == "学生已学过加法"
    assert plan.sections["教学重难点"] == "法则\n符号"
    assert "同桌互评" in plan.sections["教学过程"] and "目标1" in plan.sections["教学过程"]
    assert plan.sections["作业设计"] == "习题1"
    assert plan.missing == ["评价设计"] and plan.other == {"": "《测试》教学设计"}


def test_lesson_plan_docx_and_cases():
    data = make_docx([("教学目标", "Heading 1", False), ("理解比喻", None, False),
                      ("教学过程", None, True), ("朗读", None, False)])  # fmt: skip
    plan = parse_lesson_plan(data, "plan.docx")
    assert plan.sections == {"教学目标": "理解比喻", "教学过程": "朗读"}
    assert len(plan.missing) == 4
    for case in PLANS:
        plan = parse_lesson_plan(case["body"].encode(), "plan.md")
        assert plan.missing in ([], ["学情分析"]), case["id"]
        assert "目标1" not in plan.sections["教学目标"], case["id"]  # list items are not headings


@pytest.mark.parametrize(
    ("title", "key"),
    [("教学重点", "教学重难点"), ("三、学习评价", "评价设计"), ("教学环节", "教学过程"),
     ("作业布置", "作业设计"), ("学生情况分析", "学情分析"), ("板书设计", "")],
)  # fmt: skip
def test_canonical_section(title, key):
    assert canonical_section(title) == key


def test_lesson_plan_errors():
    for data, name in [(b"", "p.md"), (b"x", "p.pdf"), (b"\x00\x00", "p.txt"), (b"zz", "p.docx")]:
        with pytest.raises(TranscriptError):
            parse_lesson_plan(data, name)


# ---------------------------------------------------------------- content cases


@pytest.mark.parametrize("case", TRANSCRIPTS, ids=[c["id"] for c in TRANSCRIPTS])
def test_content_transcripts_parse(case):
    us = parse_text(case["body"])
    assert len(us) >= 20 and all(u.start_s is not None for u in us)
    assert {u.speaker_role for u in us} >= {"teacher", "student"}


# ---------------------------------------------------------------- properties and fuzzing

SUFFIXES = ["t.txt", "t.docx", "t.json", "t.srt", "t.vtt", "t.md"]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=400), name=st.sampled_from(SUFFIXES))
def test_random_bytes_only_transcript_error(data, name):
    for parse in (parse_transcript, parse_lesson_plan):
        try:
            parse(data, name)
        except TranscriptError as err:
            assert str(err)  # any other exception type fails the test


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("师生众：:[]0123456789 -->\n（）,.WEBVTT{}\"好")), max_size=200),
       name=st.sampled_from(SUFFIXES))  # fmt: skip
def test_structured_text_only_transcript_error(text, name):
    try:
        parse_transcript(text.encode("utf-8"), name)
    except TranscriptError as err:
        assert str(err)


TURN = st.tuples(st.sampled_from(["师", "老师", "生A", "学生", "众生", "S1", "T"]),
                 st.text(alphabet=st.characters(whitelist_categories=["Lo"]), min_size=1, max_size=12))  # fmt: skip


@FUZZ
@given(turns=st.lists(TURN, min_size=1, max_size=30), step=st.integers(0, 90))
def test_well_formed_transcripts_round_trip(turns, step):
    lines = [f"[{i * step // 60:02d}:{i * step % 60:02d}] {label}：{text}" for i, (label, text) in enumerate(turns)]  # fmt: skip
    us = parse_text("\n".join(lines))
    assert [(u.speaker_label, u.text) for u in us] == [(lb, t.strip()) for lb, t in turns]
    assert [u.start_s for u in us] == [float(i * step) for i in range(len(turns))]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op, pos = rng.randrange(4), rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[pos % len(b)] = rng.randrange(256)
        elif op == 1:
            b[pos:pos] = rng.choice(
                [b"\n", b"[", b"]", "：".encode(), b"-->", bytes([rng.randrange(256)])]
            )
        elif op == 2:
            del b[pos : pos + rng.randint(1, 40)]
        else:
            b = b[:pos]
    return bytes(b)


def test_fuzz_mutated_content_transcripts():
    rng = random.Random(20261128)
    bodies = [c["body"].encode("utf-8") for c in TRANSCRIPTS]
    outcomes = {"ok": 0, "refused": 0}
    for i in range(400):
        data = _mutate(rng, rng.choice(bodies))
        try:
            parse_transcript(data, SUFFIXES[i % len(SUFFIXES)])
            outcomes["ok"] += 1
        except TranscriptError as err:
            assert "第" in str(err) or err.line_no is None
            outcomes["refused"] += 1
    assert outcomes["ok"] and outcomes["refused"]


@pytest.mark.parametrize(
    "data",
    [b"[" + b"1:" * 400_000, b"[" + b"1:1" * 300_000 + b"]", b"# " + b"#" * 500_000 + b"x"],
)
def test_pathological_lines_are_refused_quickly(data):
    """Regexes must not backtrack catastrophically on long lines (each case < 1 s)."""
    start = time.perf_counter()
    for parse, name in ((parse_transcript, "t.txt"), (parse_lesson_plan, "p.md")):
        try:
            parse(data, name)
        except TranscriptError as err:
            assert len(str(err)) < 200  # long values are cut in messages
    assert time.perf_counter() - start < 1.0


def test_guess_kind_by_name_then_by_content():
    from yanxiu.practice.parse import guess_kind

    plan = "《背影》教学设计\n教学目标\n体会父爱。\n教学过程\n一、导入\n".encode()
    lesson = "师：今天我们学习《背影》。\n生：好。\n".encode()
    assert guess_kind(lesson, "a.txt") == "transcript"
    assert guess_kind(plan, "a.txt") == "lesson_plan"
    assert guess_kind(plan, "a.md") == "lesson_plan"
    assert guess_kind('[{"speaker": "师", "text": "好"}]'.encode(), "a.json") == "transcript"
    # neither: the transcript's error, which names the line
    with pytest.raises(TranscriptError, match="第1行"):
        guess_kind("只有一行说明文字\n".encode(), "a.txt")
    # one section heading is not enough to call it a plan
    with pytest.raises(TranscriptError):
        guess_kind("教学目标\n体会父爱。\n".encode(), "a.txt")


@pytest.mark.parametrize(
    "line", ["注意：单位要统一", "答案：3", "第二题：求速度", "板书：v=s/t", "例如：西施"]
)
def test_board_and_discourse_words_continue_the_turn(line):
    (turn,) = parse_transcript(f"师：好。\n{line}\n".encode(), "a.txt")
    assert turn.speaker_role == "teacher" and turn.text.endswith(line)


def test_only_a_name_like_label_is_offered_the_by_name_forms():
    with pytest.raises(TranscriptError, match="生（李明）") as named:
        parse_transcript("师：好。\n李明：我觉得是三。\n".encode(), "a.txt")
    assert "第2行" in str(named.value)
    with pytest.raises(TranscriptError) as other:
        parse_transcript("师：好。\n问：为什么？\n".encode(), "a.txt")
    assert "生（问）" not in str(other.value) and "“生A：”" in str(other.value)


@pytest.mark.parametrize(
    ("line", "label"),
    [("Teacher A: Open your books.", "Teacher A"), ("Ms Wang: Good morning.", "Ms Wang"),
     ("Mr. Li: Sit down, please.", "Mr. Li")],
)  # fmt: skip
def test_english_lesson_teacher_labels(line, label):
    first, second = parse_transcript(f"生：Hello.\n{line}\n".encode(), "a.txt")
    assert (second.speaker_role, second.speaker_label) == ("teacher", label)


def test_a_name_typed_with_spaces_is_refused_not_merged():
    with pytest.raises(TranscriptError, match="第2行：无法识别说话人“李 明”"):
        parse_transcript("师：好。\n李 明：我觉得是三。\n".encode(), "a.txt")
