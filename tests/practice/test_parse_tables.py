"""DOCX tables in transcripts and lesson plans: rows become lines in document order."""

from __future__ import annotations

import io

import docx
import pytest

from yanxiu.practice.parse import (
    SECTION_SYNONYMS,
    TranscriptError,
    docx_lines,
    parse_lesson_plan,
    parse_transcript,
)
from yanxiu.practice.rubric import score_lesson_plan

Block = str | list[list[str]]  # a paragraph, or a table as rows of cell texts


def make_docx(blocks: list[Block]) -> docx.document.Document:
    document = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            document.add_paragraph(block)
            continue
        table = document.add_table(rows=len(block), cols=max(len(r) for r in block))
        for row, texts in zip(table.rows, block, strict=True):
            for cell, text in zip(row.cells, texts, strict=False):
                cell.text = text  # "\n" becomes a line break inside the cell
    return document


def save(document: docx.document.Document) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


PLAN_ROWS = [
    ["课题", "《背影》"],
    ["教学目标", "1. 理解父爱的深沉\n2. 学会抓住细节描写"],
    ["学情分析", "学生已学过记叙文的基本要素"],
    ["教学重难点", "重点：细节描写\n难点：体会情感"],
    ["教学过程", "一、导入（5分钟）：播放音乐\n二、研读：分组讨论望父买橘段落"],
    ["评价设计", "小组互评，出示评价量表"],
    ["作业设计", "基础：抄写词语\n拓展：写一段细节描写"],
]


def test_lesson_plan_title_and_two_column_table():
    plan = parse_lesson_plan(save(make_docx(["《背影》教学设计", PLAN_ROWS])), "plan.docx")
    assert plan.missing == []
    assert plan.sections["教学目标"] == "1. 理解父爱的深沉\n2. 学会抓住细节描写"  # breaks kept
    assert plan.sections["教学重难点"] == "细节描写\n体会情感"
    assert plan.sections["教学过程"].startswith("一、导入（5分钟）：播放音乐\n二、研读")
    assert plan.sections["作业设计"] == "基础：抄写词语\n拓展：写一段细节描写"
    assert plan.other == {"": "《背影》教学设计\n课题：《背影》"}  # a short label joins its value
    # 段 numbers: the title paragraph is 1, table rows 2, 3, …
    assert [(no, key) for no, _, key in plan.headings][:3] == [(3, "教学目标"), (4, "学情分析"),
                                                              (5, "教学重难点")]  # fmt: skip
    scores = score_lesson_plan(plan)
    assert len(scores) == len(SECTION_SYNONYMS) and all(
        s.measure.present is not False for s in scores
    )
    assert any(s.score > 1 for s in scores)


def test_table_only_transcript_with_header_row():
    rows = [
        ["时间", "说话人", "内容"],
        ["00:00:05", "师", "请大家读课文"],
        ["[00:00:20]", "生（张三）", "我来读\n第二句也读"],
        ["00:01:00", "全班", "（齐读）"],
        ["00:01:30", "老师（王）", "很好"],
    ]
    us = parse_transcript(save(make_docx([rows])), "lesson.docx")
    assert [(u.speaker_role, u.speaker_label, u.text, u.start_s, u.line_no) for u in us] == [
        ("teacher", "师", "请大家读课文", 5.0, 2),
        ("student", "生（张三）", "我来读第二句也读", 20.0, 3),  # a multi-line cell continues
        ("students", "全班", "（齐读）", 60.0, 4),
        ("teacher", "老师（王）", "很好", 90.0, 5),
    ]
    assert us[2].is_action


def test_two_column_transcript_and_index_column():
    data = save(make_docx([[["序号", "说话人", "内容"], ["1", "师", "提问"], ["2", "生A", "回答"]],
                           [["师", "同学们好。\n生：老师好！"]]]))  # fmt: skip
    us = parse_transcript(data, "t.docx")
    assert [(u.speaker_role, u.text, u.line_no) for u in us] == [
        ("teacher", "提问", 2),
        ("student", "回答", 3),
        ("teacher", "同学们好。", 4),
        ("student", "老师好！", 4),  # a label inside a cell starts a new turn, same 段
    ]


def test_merged_cells_are_read_once():
    document = make_docx(
        ["标题", [["", ""], ["教学过程", "导入"], ["", "新授"], ["作业设计", "练习"]]]
    )
    table = document.tables[0]
    title = table.cell(0, 0).merge(table.cell(0, 1))  # spans both columns
    title.text = "《背影》教学设计"
    table.cell(1, 0).merge(table.cell(2, 0))  # "教学过程" spans two rows
    data = save(document)
    lines = docx_lines(data, mark_headings=True)
    assert lines == [
        "标题",
        "《背影》教学设计",
        "**教学过程**",
        "导入",
        "新授",
        "**作业设计**",
        "练习",
    ]
    plan = parse_lesson_plan(data, "plan.docx")
    assert plan.sections == {"教学过程": "导入\n新授", "作业设计": "练习"}


def test_paragraph_table_paragraph_keeps_order():
    data = save(make_docx(["[00:00:01] 师：开始上课", [["00:00:10", "生A", "老师好"]], "[00:00:20] 师：请坐"]))  # fmt: skip
    us = parse_transcript(data, "t.docx")
    assert [(u.speaker_label, u.text, u.line_no) for u in us] == [
        ("师", "开始上课", 1),
        ("生A", "老师好", 2),
        ("师", "请坐", 3),
    ]
    assert docx_lines(data) == [
        "[00:00:01] 师：开始上课",
        "00:00:10 生A：老师好",
        "[00:00:20] 师：请坐",
    ]


@pytest.mark.parametrize(
    ("rows", "line", "fragment"),
    [
        ([["师", "好"], ["李明", "我知道"]], 3, "无法识别说话人“李明”：学生请写“生（李明）："),
        ([["00:00:09", "师", "好"], ["00:00:05", "生", "嗯"]], 3, "按时间顺序"),
        ([["师", "好"], ["生A", ""]], 3, "后面没有内容"),
    ],
)
def test_table_errors_name_the_row(rows, line, fragment):
    with pytest.raises(TranscriptError) as info:
        parse_transcript(save(make_docx(["师：上课", rows])), "t.docx")  # the paragraph is 段 1
    assert info.value.line_no == line and str(info.value).startswith(f"第{line}段：")
    assert fragment in str(info.value)


def test_a_stage_column_before_the_speaker_and_a_number_column_are_skipped():
    rows = [
        ["环节", "说话人", "内容"],
        ["导入", "师", "同学们好，今天学习《背影》。"],
        ["导入", "众生", "老师好。"],
        ["研读", "生（李明）", "父亲爬月台很吃力。"],
    ]
    us = parse_transcript(save(make_docx([rows])), "t.docx")
    assert [(u.speaker_role, u.text, u.line_no) for u in us] == [
        ("teacher", "同学们好，今天学习《背影》。", 2),
        ("students", "老师好。", 3),
        ("student", "父亲爬月台很吃力。", 4),
    ]
    numbered = parse_transcript(
        save(make_docx([[["1", "师：请坐。"], ["2", "生：谢谢老师。"]]])), "t.docx"
    )
    assert [(u.speaker_role, u.text) for u in numbered] == [
        ("teacher", "请坐。"),
        ("student", "谢谢老师。"),
    ]
