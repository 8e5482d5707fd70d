"""Lesson plans for the validation set: a well-designed and a weak plan per subject pair, and
plans pasted as one paragraph, in Markdown (### sub-steps), DOCX (heading styles) and text."""

from __future__ import annotations

import io
from pathlib import Path

from material import TOPICS

OUT = Path(__file__).resolve().parent / "files"

STRONG = {
    "教学目标": 5,
    "学情分析": 4,
    "教学重难点": 5,
    "教学过程": 5,
    "评价设计": 4,
    "作业设计": 4,
}
WEAK = {"教学目标": 2, "学情分析": 1, "教学重难点": 3, "教学过程": 2, "评价设计": 1, "作业设计": 1}
PARAGRAPH = {
    "教学目标": 3,
    "学情分析": 3,
    "教学重难点": 3,
    "教学过程": 3,
    "评价设计": 2,
    "作业设计": 2,
}


def strong_sections(subject: str, m: dict) -> list[tuple[str, list[str]]]:
    o = m["open"]
    return [
        ("教学目标", [
            f"1. 能结合具体材料说出“{m['topic']}”的核心概念，并用自己的话解释其含义；",
            f"2. 能运用所学方法分析“{o[0][0][:18]}……”一类问题，写出判断依据；",
            "3. 能在小组合作中比较不同观点，完成一份有依据的汇报。",
        ]),
        ("学情分析", [
            "学生已经具备相关的基础知识和生活经验，前测显示约 70% 的学生能说出基本概念，",
            f"但只有 35% 能说明理由；易错点是“{m['misconception'][0][:16]}”。班级学生差异较大，",
            "约五分之一的学生需要借助学习单上的提示卡。",
        ]),
        ("教学重难点", [
            "重点：理解核心概念并能运用于具体情境。",
            "难点：用证据说明自己的判断。突破策略：先让学生独立猜想，再用对比材料或实验检验，最后组内互评。",
        ]),
        ("教学过程", [
            "### 环节一：情境导入（5分钟）",
            f"教师出示情境，提出问题：{o[0][0]}学生独立思考后同桌交流。",
            "### 环节二：合作探究（15分钟）",
            f"学生四人小组活动：{m['group_task']}教师巡视，收集典型想法。",
            "### 环节三：展示交流（10分钟）",
            "各组汇报，其他组补充或质疑；教师追问依据，引导学生比较不同方法。",
            "### 环节四：练习巩固（10分钟）",
            f"学生独立完成分层练习：{m['task']}",
            "### 环节五：总结反思（5分钟）",
            f"学生用一句话总结收获：{m['check'][0]}",
        ]),
        ("评价设计", [
            "采用课堂表现量规（观点、依据、表达三项，每项三个等级）进行自评和互评；",
            "教师通过观察记录和课堂检测题了解目标达成情况，当堂反馈。",
        ]),
        ("作业设计", [
            "基础作业（必做，约10分钟）：完成学习单上的基础题；",
            "拓展作业（选做，约15分钟）：结合生活实际完成一项小调查或小实践，下节课分享。",
        ]),
    ]  # fmt: skip


def weak_sections(subject: str, m: dict) -> list[tuple[str, list[str]]]:
    return [
        ("教学目标", [f"了解{m['topic']}的基本内容，理解相关概念，培养学生的学习兴趣。"]),
        ("教学重难点", ["重点：掌握本课知识。难点：理解本课知识。"]),
        ("教学过程", [
            "一、复习导入",
            "教师讲解本课内容，板书重点。",
            "二、新课讲授",
            m["lecture"][0],
            "三、课堂小结",
            "教师总结本课内容。",
        ]),
        ("作业设计", ["完成课后习题。"]),
    ]  # fmt: skip


def paragraph(m: dict) -> str:
    return (
        f"本课教学目标是让学生能说出{m['topic']}的主要内容，并能运用到具体问题中。"
        f"学生已经学过相关的基础内容，但对“{m['misconception'][0][:12]}”容易出错。"
        "教学重点是理解核心概念，难点是用证据说明理由。"
        f"首先创设情境导入，然后学生小组讨论：{m['group_task']}接着各组汇报交流，"
        f"教师追问，最后学生独立练习并小结。课堂评价主要看学生的汇报和练习完成情况。"
        f"课后作业：{m['homework'].split('：')[-1]}"
    )


def _md(sections: list[tuple[str, list[str]]], title: str) -> str:
    out = [f"# {title}", ""]
    for head, lines in sections:
        out += [f"## {head}", *lines, ""]
    return "\n".join(out)


def _docx(sections: list[tuple[str, list[str]]], title: str) -> bytes:
    import docx

    doc = docx.Document()
    doc.add_heading(title, 0)
    doc.add_paragraph("执教：教研组    课时：第1课时")
    for head, lines in sections:
        doc.add_heading(head, 2)
        for line in lines:
            if line.startswith("### "):
                doc.add_heading(line[4:], 3)
            else:
                doc.add_paragraph(line)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _txt(sections: list[tuple[str, list[str]]], title: str) -> str:
    nums = "一二三四五六"
    out = [title]
    for i, (head, lines) in enumerate(sections):
        out += [f"{nums[i]}、{head}", *[ln.removeprefix("### ") for ln in lines]]
    return "\n".join(out) + "\n"


def build_plans() -> list[dict]:
    OUT.mkdir(exist_ok=True)
    entries = []
    for i, (subject, m) in enumerate(TOPICS.items()):
        strong = i % 2 == 0
        sections = strong_sections(subject, m) if strong else weak_sections(subject, m)
        title = f"{m['topic']}教学设计"
        fmt = ("md", "docx", "txt")[i % 3]
        name = f"P{i + 1:02d}_{'strong' if strong else 'weak'}.{fmt}"
        if fmt == "md":
            (OUT / name).write_text(_md(sections, title), encoding="utf-8")
        elif fmt == "docx":
            (OUT / name).write_bytes(_docx(sections, title))
        else:
            (OUT / name).write_text(_txt(sections, title), encoding="utf-8")
        entries.append({"file": name, "kind": "lesson_plan", "subject": subject, "stage": m["stage"],
                        "style": "strong_plan" if strong else "weak_plan", "format": fmt,
                        "split": "dev" if i % 2 == (i // 2) % 2 else "test",
                        "scores": dict(STRONG if strong else WEAK)})  # fmt: skip
    for j, (subject, m) in enumerate(list(TOPICS.items())[1::2]):
        name = f"P{7 + j:02d}_paragraph.txt"
        (OUT / name).write_text(paragraph(m), encoding="utf-8")
        entries.append({"file": name, "kind": "lesson_plan", "subject": subject, "stage": m["stage"],
                        "style": "paragraph_plan", "format": "txt", "split": "dev" if j != 1 else "test",
                        "scores": dict(PARAGRAPH), "structure_guessed": True})  # fmt: skip
    return entries
