"""Messy real-world files (issue 20): WebVTT headers and voice tags, ASR speaker labels, DOCX
around a table, 环节 columns, plans with deep headings or no headings, zip bombs."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from yanxiu.practice.parse import (
    SpeakerMappingNeeded,
    TranscriptError,
    parse_lesson_plan,
    read_either,
    read_transcript,
)
from yanxiu.practice.speakers import parse_speaker_map


def read(text: str, name: str = "t.txt", speaker_map=None):
    return read_transcript(text.encode("utf-8"), name, speaker_map)


VTT = """WEBVTT
Kind: captions
Language: zh-CN

STYLE
::cue { color: white }

NOTE 转写自课堂录像

00:00:01.000 --> 00:00:04.000
<v 老师>同学们，今天我们学习圆的面积。

00:00:05.000 --> 00:00:07.000
<v Li Ming>是不是和半径有关？

00:00:08.000 --> 00:00:10.000
<v 老师>你为什么这样想？
"""


def test_webvtt_header_and_unknown_voice_goes_to_mapping():
    with pytest.raises(SpeakerMappingNeeded) as info:
        read(VTT, "t.vtt")
    (speaker,) = info.value.speakers
    assert speaker.label == "Li Ming" and speaker.first_lines[0][0] == 14
    parsed = read(VTT, "t.vtt", {"Li Ming": "生（李明）"})
    assert [(u.speaker_role, u.speaker_label) for u in parsed.utterances] == [
        ("teacher", "老师"), ("student", "生（李明）"), ("teacher", "老师")
    ]  # fmt: skip
    assert "Li Ming→生（李明）" in parsed.warnings[0]


def test_asr_labels_default_mapping_and_ignore():
    text = (
        "[00:00:01] SPEAKER_00：同学们好，今天我们复习一次函数，先请大家看这道题，想一想斜率表示什么。\n"
        "[00:00:09] SPEAKER_01：表示倾斜程度。\n"
        "[00:00:12] 说话人3：（录像员）声音调大一点\n"
        "[00:00:14] SPEAKER_00：很好，倾斜程度具体怎么体现？\n"
    )
    with pytest.raises(SpeakerMappingNeeded) as info:
        read(text)
    assert info.value.default == {"SPEAKER_00": "师", "SPEAKER_01": "生", "说话人3": "生"}
    assert info.value.speakers[0].share > 0.7
    mapping = parse_speaker_map("SPEAKER_00=师, SPEAKER_01=生，说话人3=忽略")
    parsed = read(text, speaker_map=mapping)
    assert [u.speaker_role for u in parsed.utterances] == ["teacher", "student", "teacher"]
    assert any("忽略了 1 个话轮" in w for w in parsed.warnings)


def test_srt_without_speakers_needs_mapping_and_keeps_cues_apart():
    srt = "1\n00:00:01,000 --> 00:00:03,000\n大家好\n\n2\n00:00:04,000 --> 00:00:05,000\n老师好\n"
    with pytest.raises(SpeakerMappingNeeded):
        read(srt, "t.srt")
    parsed = read(srt, "t.srt", {"（未标注说话人）": "师"})
    assert len(parsed.utterances) == 2 and any("没有说话人标注" in w for w in parsed.warnings)


def test_unknown_latin_name_is_refused_not_merged():
    with pytest.raises(TranscriptError) as info:
        read("师：谁来回答？\nLi Ming：我来。\n")
    assert info.value.line_no == 2


def test_title_meta_segments_reflection_and_directions():
    text = (
        "《圆的面积》课堂实录\n执教：王芳\n班级：六（2）班\n【导入】\n"
        "[00:00:05] 师：请大家独立完成学习单第一题。（学生独立练习）\n"
        "[00:03:00] 生A：我算出来是 28.26。\n"
        "【新授】\n[00:03:20] 师：你是怎么想的？\n"
        "（小组讨论）\n[00:06:00] 生B：因为把圆分成小扇形拼成长方形。\n"
        "教学反思\n这节课学生讨论充分……\n"
    )
    parsed = read(text)
    us = parsed.utterances
    assert [(u.speaker_role, u.is_action, u.segment) for u in us] == [
        ("teacher", False, "导入"), ("students", True, "导入"), ("student", False, "导入"),
        ("teacher", False, "新授"), ("students", True, "新授"), ("student", False, "新授"),
    ]  # fmt: skip
    assert us[1].start_s is not None and us[1].start_s > us[0].start_s
    assert any("教学反思" in w for w in parsed.warnings)


def test_teacher_only_transcript_warns():
    parsed = read("师：今天讲分数。\n师：分数表示平均分。\n")
    assert any("只有教师发言" in w for w in parsed.warnings)


def test_docx_transcript_with_title_merged_segment_column_and_reflection():
    docx = pytest.importorskip("docx")
    doc = docx.Document()
    doc.add_heading("《背影》课堂实录", 1)
    doc.add_paragraph("执教：李老师    班级：八（1）班")
    table = doc.add_table(rows=4, cols=4)
    rows = [("导入", "00:00:10", "师", "同学们，读过《背影》吗？"),
            ("导入", "00:00:20", "生A", "读过，很感人。"),
            ("品读", "00:01:00", "师", "哪一处细节最打动你？"),
            ("品读", "00:01:30", "生B", "父亲爬月台买橘子那段。")]  # fmt: skip
    for r, values in enumerate(rows):
        for c, v in enumerate(values):
            table.cell(r, c).text = v
    table.cell(0, 0).merge(table.cell(1, 0))
    table.cell(2, 0).merge(table.cell(3, 0))
    doc.add_paragraph("教学反思：本课朗读时间不足。")
    buf = io.BytesIO()
    doc.save(buf)
    parsed = read_transcript(buf.getvalue(), "t.docx")
    us = parsed.utterances
    assert [(u.speaker_label, u.start_s, u.segment) for u in us] == [
        ("师", 10.0, "导入"), ("生A", 20.0, "导入"), ("师", 60.0, "品读"), ("生B", 90.0, "品读")
    ]  # fmt: skip
    assert any("表格之外" in w for w in parsed.warnings)


def _bomb(part_size: int, paragraphs: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        body = b"<w:p/>" if not paragraphs else b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * paragraphs
        z.writestr("word/document.xml", b"<w:document><w:body>" + body + b" " * part_size)
    return buf.getvalue()


def test_docx_zip_bomb_and_paragraph_flood_refused_fast():
    bomb = _bomb(300 * 1024 * 1024)
    assert len(bomb) < 400_000
    t0 = time.perf_counter()
    with pytest.raises(TranscriptError, match="压缩|解压|过大"):
        read_transcript(bomb, "t.docx")
    flood = _bomb(0, paragraphs=200_000)
    with pytest.raises(TranscriptError, match="段落"):
        read_transcript(flood, "t.docx")
    # A guard, not a benchmark: unguarded, the flood took 67 s of CPU and the bomb +540 MB;
    # guarded both stop within a second on a quiet machine (15 s leaves room for a busy CI).
    assert time.perf_counter() - t0 < 15.0


def test_markdown_plan_keeps_sub_steps_in_process():
    md = (
        "# 圆的面积\n## 教学目标\n能推导圆的面积公式。\n## 教学过程\n### 活动一：复习导入\n"
        "学生回顾长方形面积。\n### 活动二：评价与交流\n小组交流拼图方法。\n## 板书设计\nS=πr²\n"
        "## 作业设计\n基础题与拓展题。\n"
    )
    plan = parse_lesson_plan(md.encode(), "p.md")
    assert "小组交流拼图方法" in plan.sections["教学过程"]
    assert "S=πr²" not in plan.sections["教学过程"] and not plan.guessed
    assert "评价设计" not in plan.sections


def test_one_paragraph_plan_is_segmented_and_marked_guessed():
    text = (
        "本课教学目标是让学生能用自己的话说出光合作用的条件和产物。学生已经知道植物需要阳光和水，"
        "但对二氧化碳的作用理解不足。教学重点是光合作用的条件，难点是设计对照实验。首先出示两盆植物"
        "引发猜想，然后分组设计实验，接着汇报交流。课堂评价采用实验报告量规。课后作业是观察记录一周。"
    )
    plan = parse_lesson_plan(text.encode(), "p.txt")
    assert plan.guessed
    assert {"教学目标", "学情分析", "教学重难点", "教学过程", "评价设计", "作业设计"} <= set(
        plan.sections
    )


def test_plan_is_not_taken_for_speakers_and_mapping_is_not_a_plan():
    with pytest.raises(SpeakerMappingNeeded):
        read_either("SPEAKER_00：好\nSPEAKER_01：嗯\n".encode(), "t.txt")
