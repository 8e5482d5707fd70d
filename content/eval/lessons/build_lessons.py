"""Build the rubric validation lessons (issue 20) from `material.py`: 30 transcripts (6 subjects ×
5 teaching styles) and 9 lesson plans, in the messy formats teachers upload (TXT with 环节
markers, WebVTT with headers and voice tags, SRT, DOCX with a title, 执教 line, a merged 环节
column and a reflection, ASR exports labelled SPEAKER_00), and the expert labels in
`labels.yaml`. The labels are a 教研员's judgement of each style as written here, fixed
before anything was scored (see the git history: this script and labels.yaml were committed
before `yanxiu eval rubric` existed). Run: python content/eval/lessons/build_lessons.py
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from material import TOPICS  # noqa: E402

OUT = HERE / "files"
STYLES = ("lecture", "dialogic", "practice", "mixed", "group")
# the expected rubric scores of each style as written below (a 教研员's reading of it)
EXPECTED = {
    "lecture": {"mode": "讲授型", "提问质量": 2, "学生参与": 1, "反馈评价": 1, "课堂互动": 1, "思维深度": 1, "教学目标达成": 2},
    "dialogic": {"mode": "对话型", "提问质量": 5, "学生参与": 4, "反馈评价": 5, "课堂互动": 5, "思维深度": 5, "教学目标达成": 4},
    "practice": {"mode": "练习型", "提问质量": 2, "学生参与": 3, "反馈评价": 2, "课堂互动": 2, "思维深度": 2, "教学目标达成": 4},
    "mixed": {"mode": "混合型", "提问质量": 3, "学生参与": 2, "反馈评价": 3, "课堂互动": 3, "思维深度": 3, "教学目标达成": 3},
    "group": {"mode": "练习型", "提问质量": 3, "学生参与": 5, "反馈评价": 4, "课堂互动": 4, "思维深度": 4, "教学目标达成": 4},
}  # fmt: skip
NAMES = [
    "生（张华）",
    "生（李明）",
    "生（王雨）",
    "生（陈思）",
    "生（刘洋）",
    "生（赵琳）",
    "生（孙浩）",
    "生（周敏）",
]
PINYIN = {"生（张华）": "Zhang Hua", "生（李明）": "Li Ming", "生（王雨）": "Wang Yu", "生（陈思）": "Chen Si",
          "生（刘洋）": "Liu Yang", "生（赵琳）": "Zhao Lin", "生（孙浩）": "Sun Hao", "生（周敏）": "Zhou Min"}  # fmt: skip
FORMATS = ("txt", "vtt", "docx", "srt", "asr")

TRUTH: dict[str, dict[str, int]] = {}  # what a correct parse gives (parse_truth.yaml)
Turn = tuple[str, str, float, str]  # speaker, text, seconds until the next turn, 环节


def _en(m: dict) -> bool:
    return m["topic"].startswith("Unit")


def lecture(m: dict) -> list[Turn]:
    ok, sit = ("Yes, right.", "OK, sit down.") if _en(m) else ("对。", "对，坐下。")
    c = m["closed"]
    return [
        ("师", m["intro"], 40, "导入"),
        ("师", m["lecture"][0], 150, "讲授新课"),
        ("师", c[0][0], 6, "讲授新课"), ("众生", c[0][1], 4, "讲授新课"),
        ("师", ok + m["lecture"][1], 160, "讲授新课"),
        ("师", c[1][0], 6, "讲授新课"), ("众生", c[1][1], 4, "讲授新课"),
        ("师", m["lecture"][2], 170, "讲授新课"),
        ("师", c[2][0], 8, "讲授新课"), ("生（张华）", c[2][1], 4, "讲授新课"),
        ("师", sit + m["lecture"][3], 150, "讲授新课"),
        ("师", c[3][0], 5, "讲授新课"), ("众生", c[3][1], 4, "讲授新课"),
        ("师", m["summary"] + m["homework"], 40, "课堂小结"),
    ]  # fmt: skip


def dialogic(m: dict) -> list[Turn]:
    o, (wrong, probe, fix) = m["open"], m["misconception"]
    en = _en(m)
    agree = (
        "Do you agree with him? Why or why not?" if en else "大家同意他的说法吗？谁有不同的想法？"
    )
    link = ("So one of you talked about safety, and the other about worry. Both ideas come from the text. "
            if en else "刚才一位同学从动作里读出了吃力，另一位联系了自己的生活，")  # fmt: skip
    back = (
        "You changed your mind. What made you change it?"
        if en
        else "你刚才改变了想法，是什么让你改变的？"
    )
    return [
        ("师", m["intro"] + o[0][0], 25, "导入"),
        (NAMES[0], o[0][1][0], 25, "导入"),
        ("师", f"你说“{o[0][1][0].split('，')[1]}”，能再说说你的依据吗？{agree}" if not en else f"You said “{o[0][1][0][:40]}”. Can you tell us more? {agree}", 12, "导入"),
        (NAMES[1], o[0][1][1], 25, "合作探究"),
        ("师", link + o[1][0], 20, "合作探究"),
        (NAMES[2], o[1][1][0], 25, "合作探究"),
        (NAMES[3], o[1][1][-1], 25, "合作探究"),
        (NAMES[4], wrong, 10, "合作探究"),
        ("师", probe, 15, "合作探究"),
        (NAMES[5], fix, 20, "合作探究"),
        ("师", back, 8, "合作探究"),
        (NAMES[4], "我听了她的说法，又看了书上的证据，发现自己刚才只看到了一个方面。" if not en else "I listened to Zhao Lin and I found my answer was not right.", 15, "合作探究"),
        ("师", o[2][0], 20, "拓展延伸"),
        (NAMES[6], o[2][1][0], 25, "拓展延伸"),
        ("师", m["check"][0], 15, "课堂小结"),
        (NAMES[7], m["check"][1], 25, "课堂小结"),
        ("师", m["summary"] + m["homework"], 30, "课堂小结"),
    ]  # fmt: skip


def practice(m: dict, directions: bool) -> list[Turn]:
    c = m["closed"]
    en = _en(m)
    stop = "Time is up. Let's check the answers. " if en else "停笔，我们来对答案。"
    ok, sit = ("Right.", "Good, sit down.") if en else ("对，坐下。", "好。")
    more = (
        "Now finish the next exercise by yourselves."
        if en
        else "下面请大家独立完成第二组练习，做完同桌互相批改。"
    )
    turns: list[Turn] = [("师", m["intro"] + m["task"], 20, "独立练习")]
    if directions:
        turns.append(
            ("众生", "（独立练习）" if not en else "（独立练习，教师巡视）", 400, "独立练习")
        )
    else:
        turns[-1] = ("师", m["intro"] + m["task"], 420, "独立练习")
    turns += [
        ("师", stop + c[0][0], 8, "反馈订正"), (NAMES[0], c[0][1], 5, "反馈订正"),
        ("师", ok + c[1][0], 8, "反馈订正"), (NAMES[1], c[1][1], 5, "反馈订正"),
        ("师", sit + c[2][0], 8, "反馈订正"), ("众生", c[2][1], 5, "反馈订正"),
        ("师", more, 20, "巩固练习"),
    ]  # fmt: skip
    if directions:
        turns.append(("众生", "（独立练习，同桌互改）", 330, "巩固练习"))
    else:
        turns[-1] = ("师", more, 350, "巩固练习")
    turns += [
        ("师", m["check"][0], 20, "课堂检测"), (NAMES[2], m["check"][1], 20, "课堂检测"),
        ("师", ok + m["homework"], 20, "课堂检测"),
    ]  # fmt: skip
    return turns


def mixed(m: dict) -> list[Turn]:
    c, o, (wrong, _, fix) = m["closed"], m["open"], m["misconception"]
    en = _en(m)
    good = "Good, you mentioned an important point." if en else "很好，你说到了一个关键点。"
    no = "No, that's not right. " if en else "不对，"
    return [
        ("师", m["intro"] + m["lecture"][0], 130, "讲授新课"),
        ("师", c[0][0], 6, "讲授新课"), ("众生", c[0][1], 4, "讲授新课"),
        ("师", m["lecture"][1] + o[0][0], 25, "讲授新课"),
        (NAMES[0], o[0][1][0], 25, "讲授新课"),
        ("师", good + m["lecture"][2], 140, "讲授新课"),
        ("师", c[1][0], 6, "讲授新课"), (NAMES[1], wrong, 8, "讲授新课"),
        ("师", no + fix + m["lecture"][3], 120, "讲授新课"),
        ("师", o[1][0], 20, "讲授新课"), (NAMES[2], o[1][1][0], 25, "讲授新课"),
        ("师", ("Yes. " if en else "有道理。") + m["task"], 180, "练习"),
        ("师", c[3][0], 6, "练习"), ("众生", c[3][1], 4, "练习"),
        ("师", m["summary"] + m["homework"], 30, "课堂小结"),
    ]  # fmt: skip


def group(m: dict) -> list[Turn]:
    r = m["reports"]
    en = _en(m)
    who = "Which group wants to share first?" if en else "时间到，哪个小组先来汇报？"
    fb1 = (f"Group 1 gave us real numbers: “{r[0][9:45]}”. Group 2, do you have different findings?"
           if en else f"第一组抓住了“{r[0][4:16]}”，讲得很具体，还缺了一点依据。第二组有不同的发现吗？")  # fmt: skip
    fb2 = ("Good point about Tom. Group 3, do you want to respond to them?"
           if en else f"第二组补充了“{r[1][4:14]}”，和第一组的说法正好可以对照。第三组想回应吗？")  # fmt: skip
    return [
        ("师", m["intro"] + m["group_task"], 20, "小组合作"),
        ("众生", "（小组讨论）", 420, "小组合作"),
        ("师", who, 6, "汇报交流"), ("第一组", r[0], 30, "汇报交流"),
        ("师", fb1, 15, "汇报交流"), ("第二组", r[1], 30, "汇报交流"),
        ("师", fb2, 10, "汇报交流"), ("第三组", r[2], 30, "汇报交流"),
        ("师", m["check"][0], 15, "总结提升"), (NAMES[3], m["check"][1], 25, "总结提升"),
        ("师", m["summary"] + m["homework"], 30, "总结提升"),
    ]  # fmt: skip


def _clock(t: float, sep: str = ",") -> str:
    s = int(t)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}{sep}{int((t % 1) * 1000):03d}"


def _times(turns: list[Turn]) -> list[tuple[float, float]]:
    t, out = 5.0, []
    for _, text, dt, _ in turns:
        speech = max(2.0, min(dt, len(text) / 4.0))
        out.append((t, t + speech))
        t += dt
    return out


def write_txt(turns: list[Turn], path: Path) -> None:
    lines, seg = ["课堂实录（节选）", ""], ""
    for (who, text, _, s), (a, _) in zip(turns, _times(turns), strict=True):
        if s != seg:
            lines.append(f"【{s}】")
            seg = s
        lines.append(f"[{_clock(a)[:8]}] {who}：{text}")
    lines += ["", "教学反思", "本节课……（略）"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_vtt(turns: list[Turn], path: Path) -> dict[str, str]:
    out = [
        "WEBVTT",
        "Kind: captions",
        "Language: zh-CN",
        "",
        "NOTE 由课堂录像转写，学生以拼音姓名标注",
        "",
    ]
    mapping: dict[str, str] = {}
    for i, ((who, text, _, _), (a, b)) in enumerate(zip(turns, _times(turns), strict=True), 1):
        voice = PINYIN.get(who, "老师" if who == "师" else who)
        if voice != who and who != "师":
            mapping[voice] = who
        out += [f"cue-{i}", f"{_clock(a, '.')} --> {_clock(b, '.')}", f"<v {voice}>{text}", ""]
    path.write_text("\n".join(out), encoding="utf-8")
    return mapping


def write_srt(turns: list[Turn], path: Path) -> None:
    out = []
    for i, ((who, text, _, _), (a, b)) in enumerate(zip(turns, _times(turns), strict=True), 1):
        out += [str(i), f"{_clock(a)} --> {_clock(b)}", f"{who}：{text}", ""]
    path.write_text("\n".join(out), encoding="utf-8")


def write_asr(turns: list[Turn], path: Path) -> dict[str, str]:
    labels: dict[str, str] = {}
    lines = []
    for (who, text, _, _), (a, _) in zip(turns, _times(turns), strict=True):
        label = labels.setdefault(who, f"SPEAKER_{len(labels):02d}")
        lines.append(f"[{_clock(a)[:8]}] {label}: {text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {label: who for who, label in labels.items()}


def write_docx(turns: list[Turn], path: Path, m: dict) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading(f"{m['topic']} 课堂实录", 1)
    doc.add_paragraph(f"执教：{m['subject']}教研组    班级：{m['stage']}二年级（3）班")
    table = doc.add_table(rows=1, cols=4)
    for c, h in enumerate(("环节", "时间", "说话人", "内容")):
        table.cell(0, c).text = h
    first_row_of: dict[str, int] = {}
    for (who, text, _, seg), (a, _) in zip(turns, _times(turns), strict=True):
        row = table.add_row()
        if seg not in first_row_of:
            first_row_of[seg] = len(table.rows) - 1
            row.cells[0].text = seg
        row.cells[1].text, row.cells[2].text, row.cells[3].text = _clock(a)[:8], who, text
    rows = sorted(first_row_of.values()) + [len(table.rows)]
    for start, end in zip(rows, rows[1:], strict=False):
        if end - 1 > start:
            table.cell(start, 0).merge(table.cell(end - 1, 0))
            table.cell(start, 0).text = table.cell(start, 0).text.split("\n")[0]
    doc.add_paragraph("教学反思：本节课学生的表现……课后需要进一步改进。")
    buf = io.BytesIO()
    doc.save(buf)
    path.write_bytes(buf.getvalue())


def build() -> dict:
    OUT.mkdir(exist_ok=True)
    lessons = []
    for s_i, (subject, m) in enumerate(TOPICS.items()):
        m = {**m, "subject": subject}
        for k, style in enumerate(STYLES):
            turns = {"lecture": lecture, "dialogic": dialogic, "mixed": mixed, "group": group}.get(
                style
            )
            turns_ = practice(m, directions=(s_i % 2 == 0)) if style == "practice" else turns(m)  # type: ignore[misc]
            fmt = FORMATS[(s_i + k) % len(FORMATS)]
            name = f"L{s_i * 5 + k + 1:02d}_{style}.{ {'asr': 'txt'}.get(fmt, fmt) }"
            mapping: dict[str, str] = {}
            if fmt == "txt":
                write_txt(turns_, OUT / name)
            elif fmt == "vtt":
                mapping = write_vtt(turns_, OUT / name)
            elif fmt == "srt":
                write_srt(turns_, OUT / name)
            elif fmt == "asr":
                mapping = write_asr(turns_, OUT / name)
            else:
                write_docx(turns_, OUT / name, m)
            expected = dict(EXPECTED[style])
            entry = {
                "file": name, "kind": "transcript", "subject": subject, "stage": m["stage"],
                "style": style, "format": fmt, "split": "dev" if (s_i + k) % 2 == 0 else "test",
                "mode": expected.pop("mode"), "scores": expected,
                "evidence": _evidence(style, m),
            }  # fmt: skip
            if mapping:
                entry["speaker_map"] = mapping
            lessons.append(entry)
            TRUTH[name] = {"turns": len(turns_), "student_turns": sum(t[0] != "师" for t in turns_)}
    lessons += build_plans()
    return {"lessons": lessons}


def _evidence(style: str, m: dict) -> dict[str, list[str]]:
    """Words the diagnosis should cite for some dimensions (a quote of the key line)."""
    if style == "lecture":
        return {"提问质量": [m["closed"][0][0][:8]], "学生参与": [m["lecture"][0][:8]]}
    if style == "dialogic":
        return {"思维深度": [m["open"][0][1][0][:8]], "课堂互动": [m["misconception"][1][:8]]}
    if style == "practice":
        return {
            "反馈评价": ["坐下" if not _en(m) else "sit down"],
            "教学目标达成": [m["check"][0][:8]],
        }
    if style == "group":
        return {"学生参与": [m["reports"][0][:6]], "教学目标达成": [m["check"][0][:8]]}
    return {"提问质量": [m["open"][0][0][:8]]}


from plans import build_plans  # noqa: E402

if __name__ == "__main__":
    data = build()
    (HERE / "labels.yaml").write_text(
        "# Expert labels for the rubric validation lessons (issue 20), fixed before scoring.\n"
        "# split: dev (tune on) / test (looked at once). scores: 1–5 per rubric dimension;\n"
        "# evidence: words a cited evidence item should contain. Generated by build_lessons.py.\n"
        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120),
        encoding="utf-8",
    )
    (HERE / "parse_truth.yaml").write_text(
        "# Turns a correct parse of each transcript yields (not a judgement: how it was built).\n"
        + yaml.safe_dump(TRUTH, allow_unicode=True, sort_keys=True),
        encoding="utf-8",
    )
    print(json.dumps({"lessons": len(data["lessons"])}, ensure_ascii=False))
