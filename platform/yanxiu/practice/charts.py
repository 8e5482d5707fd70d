"""Chart and table data for a diagnosis, built from the stored lesson metrics.

Every chart is a Chart.js config (``{"type", "data", "options"}``) that the page renders with
``<canvas data-chart='…'>``; each comes with the plain numbers for a text or table alternative.
The FIAS matrix is an HTML table heat map (cell colour by count, numbers inside), not a canvas.
All functions are pure: they read the JSON stored with a diagnosis and never touch the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FIAS_LABELS: dict[int, str] = {
    1: "接受情感",
    2: "表扬鼓励",
    3: "采纳学生观点",
    4: "提问",
    5: "讲授",
    6: "指令",
    7: "批评或维护权威",
    8: "学生被动应答",
    9: "学生主动说话",
    10: "沉默或混乱",
}
FIAS_RATIO_LABELS: dict[str, tuple[str, str]] = {
    "teacher_talk": ("教师语言比率", "(1–7)/N，常模约 68%"),
    "student_talk": ("学生语言比率", "(8+9)/N，常模约 20%"),
    "silence": ("沉默或混乱比率", "10/N"),
    "indirect_direct": ("间接与直接影响比", "(1+2+3+4)/(5+6+7)，大于 1 说明间接影响为主"),
    "positive_negative": ("积极与消极强化比", "(1+2+3)/(6+7)"),
    "question": ("提问比率", "4/(4+5)，常模约 26%"),
    "student_initiative": ("学生主动比率", "9/(8+9)，常模约 34%"),
    "steady_state": ("稳态格比率", "对角线/N，常模约 50%"),
}
PERCENT_RATIOS = {
    "teacher_talk",
    "student_talk",
    "silence",
    "question",
    "student_initiative",
    "steady_state",
}
MODE_COLOURS: dict[str, tuple[str, str]] = {  # border, translucent fill
    "练习型": ("#2f855a", "rgba(47, 133, 90, 0.16)"),
    "混合型": ("#b7791f", "rgba(183, 121, 31, 0.16)"),
    "对话型": ("#2b6cb0", "rgba(43, 108, 176, 0.16)"),
    "讲授型": ("#9b2c2c", "rgba(155, 44, 44, 0.16)"),
}
HEAT_LEVELS = 5
ROLE_LABELS = {"teacher": "教师", "student": "学生", "students": "全班/小组"}


def _fmt_ratio(key: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if key in PERCENT_RATIOS else f"{value:.2f}"


def clock(seconds: float | None) -> str:
    """``754.0`` → ``"00:12:34"`` (empty when the transcript has no time)."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# ---------------------------------------------------------------- S-T


def st_mode_spec(st: Mapping[str, Any]) -> dict[str, Any]:
    """The Rt–Ch mode diagram: the four mode regions and this lesson's point."""
    chart = st.get("chart") or {}
    datasets: list[dict[str, Any]] = []
    for region in chart.get("regions", []):
        border, fill = MODE_COLOURS.get(region["mode"], ("#52606d", "rgba(82, 96, 109, 0.15)"))
        polygon = [{"x": x, "y": y} for x, y in region["polygon"]]
        datasets.append({
            "label": region["mode"], "data": polygon + polygon[:1], "showLine": True,
            "fill": "shape", "borderColor": border, "backgroundColor": fill, "borderWidth": 1,
            "pointRadius": 0, "pointHoverRadius": 0,
        })  # fmt: skip
    rt, ch = float(st.get("rt", 0.0)), float(st.get("ch", 0.0))
    datasets.append({
        "label": f"本课（Rt={rt:.2f}，Ch={ch:.2f}，{st.get('mode', '')}）",
        "data": [{"x": round(rt, 4), "y": round(ch, 4)}], "pointRadius": 7, "pointHoverRadius": 9,
        "pointStyle": "rectRot", "backgroundColor": "#1f2933", "borderColor": "#1f2933",
    })  # fmt: skip
    return {
        "type": "scatter",
        "data": {"datasets": datasets},
        "options": {
            "scales": {
                "x": {"min": 0, "max": 1, "title": {"display": True, "text": "Rt 教师行为占有率"}},
                "y": {"min": 0, "max": 1, "title": {"display": True, "text": "Ch 师生行为转换率"}},
            },
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


def st_curve_points(codes: str) -> list[dict[str, int]]:
    """The cumulative S-T curve: from (0, 0), each S sample steps right and each T steps up."""
    x = y = 0
    points = [{"x": 0, "y": 0}]
    for c in codes:
        if c == "T":
            y += 1
        else:
            x += 1
        points.append({"x": x, "y": y})
    return points


def st_curve_spec(codes: str) -> dict[str, Any]:
    """The classic S-T diagram (S on the horizontal axis, T on the vertical, same scale)."""
    top = max(codes.count("S"), codes.count("T"), 1)
    return {
        "type": "scatter",
        "data": {
            "datasets": [
                {"label": "S-T 曲线（每 30 秒一个采样点）", "data": st_curve_points(codes),
                 "showLine": True, "borderColor": "#0b6e4f", "backgroundColor": "#0b6e4f",
                 "pointRadius": 1.5, "borderWidth": 2},
            ]
        },
        "options": {
            "scales": {
                "x": {"min": 0, "max": top, "title": {"display": True, "text": "S（学生行为，累计采样数）"}},
                "y": {"min": 0, "max": top, "title": {"display": True, "text": "T（教师行为，累计采样数）"}},
            },
            "plugins": {"legend": {"display": False}},
        },
    }  # fmt: skip


# ---------------------------------------------------------------- FIAS


def _region(i: int, j: int) -> str:
    if i <= 3 and j <= 3:
        return "integrate"  # 积极整合格
    if i in (6, 7) and j in (6, 7):
        return "defect"  # 缺陷格
    if i in (4, 5) or j in (4, 5):
        return "content"  # 内容十字格
    return ""


def heat_level(count: int, top: int) -> int:
    """0 for an empty cell; otherwise 1–5 on a square-root scale of ``count / top``."""
    if count <= 0 or top <= 0:
        return 0
    return max(1, min(HEAT_LEVELS, round((count / top) ** 0.5 * HEAT_LEVELS)))


def fias_heatmap(matrix: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Rows and cells of the 10×10 FIAS matrix for an HTML table heat map.

    Each cell has its count, a colour level 0–5 (:func:`heat_level`) and its region
    (integrate 积极整合格, defect 缺陷格, content 内容十字格); rows and columns carry totals.
    """
    top = max((max(row) for row in matrix), default=0)
    rows = []
    for i, row in enumerate(matrix, start=1):
        cells = [
            {"count": int(n), "level": heat_level(int(n), top), "region": _region(i, j),
             "label": f"{FIAS_LABELS[i]} → {FIAS_LABELS[j]}"}
            for j, n in enumerate(row, start=1)
        ]  # fmt: skip
        rows.append({"code": i, "label": FIAS_LABELS[i], "cells": cells, "total": sum(row)})
    col_totals = [sum(row[j] for row in matrix) for j in range(len(matrix[0]))] if matrix else []
    return {
        "codes": [{"code": k, "label": v} for k, v in FIAS_LABELS.items()],
        "rows": rows,
        "col_totals": col_totals,
        "total": sum(col_totals),
        "max": top,
    }


def fias_ratio_rows(ratios: Mapping[str, float | None]) -> list[dict[str, str]]:
    return [
        {"key": k, "label": label, "value": _fmt_ratio(k, ratios.get(k)), "hint": hint}
        for k, (label, hint) in FIAS_RATIO_LABELS.items()
        if k in ratios
    ]


# ---------------------------------------------------------------- rubric and questions


def radar_spec(
    scores: Mapping[str, Mapping[str, Any]],
    *,
    label: str = "得分",
    compare: Mapping[str, int] | None = None,
    compare_label: str = "AI 初评",
) -> dict[str, Any]:
    """Rubric radar (1–5 per dimension); ``compare`` adds a second outline (e.g. the AI score)."""
    dims = list(scores)
    datasets = [
        {"label": label, "data": [int(scores[d]["score"]) for d in dims], "fill": True,
         "borderColor": "#0b6e4f", "backgroundColor": "rgba(11, 110, 79, 0.2)", "pointBackgroundColor": "#0b6e4f"},
    ]  # fmt: skip
    if compare is not None:
        datasets.append(
            {"label": compare_label, "data": [int(compare.get(d, 0)) for d in dims], "fill": False,
             "borderColor": "#b7791f", "borderDash": [5, 4], "pointBackgroundColor": "#b7791f"}
        )  # fmt: skip
    return {
        "type": "radar",
        "data": {"labels": dims, "datasets": datasets},
        "options": {
            "scales": {"r": {"min": 0, "max": 5, "ticks": {"stepSize": 1}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


def bloom_spec(questions: Mapping[str, Any]) -> dict[str, Any]:
    """Teacher questions by Bloom level (bar chart)."""
    bloom = questions.get("bloom", {}) or {}
    return {
        "type": "bar",
        "data": {
            "labels": list(bloom),
            "datasets": [{"label": "提问次数", "data": list(bloom.values()),
                          "backgroundColor": ["#9aa5b1", "#9aa5b1", "#52606d", "#0b6e4f", "#0b6e4f", "#0b6e4f"]}],
        },
        "options": {"scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0}}},
                    "plugins": {"legend": {"display": False}}},
    }  # fmt: skip


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def transcript_analytics(analytics: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the analytics panel of a transcript shows: chart specs and their numbers."""
    st = analytics.get("st", {}) or {}
    fias = analytics.get("fias", {}) or {}
    questions = analytics.get("questions", {}) or {}
    talk = analytics.get("talk_share", {}) or {}
    waits = analytics.get("wait_times", {}) or {}
    up = analytics.get("uptake", {}) or {}
    matrix = fias.get("matrix") or [[0] * 10 for _ in range(10)]
    mean_wait = waits.get("mean_s")
    return {
        "st": {
            "rt": st.get("rt", 0.0), "ch": st.get("ch", 0.0), "mode": st.get("mode", ""),
            "n": st.get("n", 0), "codes": st.get("codes", ""), "estimated": bool(st.get("estimated")),
            "mode_spec": st_mode_spec(st), "curve_spec": st_curve_spec(st.get("codes", "")),
        },
        "fias": {
            "heatmap": fias_heatmap(matrix), "ratios": fias_ratio_rows(fias.get("ratios", {}) or {}),
            "regions": fias.get("regions", {}) or {}, "n": fias.get("n", 0),
        },
        "questions": {
            "count": questions.get("count", 0), "open": questions.get("open", 0),
            "open_share": _pct(questions.get("open_share")),
            "higher_order_share": _pct(questions.get("higher_order_share")),
            "bloom": questions.get("bloom", {}) or {}, "bloom_spec": bloom_spec(questions),
        },
        "talk": {
            "teacher_time": _pct(talk.get("teacher_time")), "student_time": _pct(talk.get("student_time")),
            "teacher_chars": _pct(talk.get("teacher_chars")), "student_chars": _pct(talk.get("student_chars")),
        },
        "wait": {"count": len(waits.get("items", []) or []),
                 "mean": "—" if mean_wait is None else f"{mean_wait:.1f} 秒"},
        "uptake": {"count": up.get("count", 0), "opportunities": up.get("opportunities", 0),
                   "rate": _pct(up.get("rate"))},
        "notes": list(analytics.get("notes", []) or []),
        "utterances": analytics.get("utterances", 0),
    }  # fmt: skip


# ---------------------------------------------------------------- the record itself, with evidence


def evidence_index(
    scores: Mapping[str, Mapping[str, Any]], report: Mapping[str, Any] | None = None
) -> dict[int, list[str]]:
    """Utterance index → the dimensions (and notes) whose evidence cites it."""
    found: dict[int, list[str]] = {}

    def add(dimension: str, items: Sequence[Mapping[str, Any]]) -> None:
        for ev in items or []:
            idx = ev.get("utterance")
            if isinstance(idx, int):
                note = f"{dimension}：{ev['note']}" if ev.get("note") else dimension
                if note not in found.setdefault(idx, []):
                    found[idx].append(note)

    for dim, s in scores.items():
        add(dim, s.get("evidence", []))
    for key in ("weaknesses", "strengths"):
        for item in (report or {}).get(key, []) or []:
            add(item.get("dimension", ""), item.get("evidence", []))
    return found


def transcript_rows(
    utterances: Sequence[Mapping[str, Any]], evidence: Mapping[int, list[str]]
) -> list[dict[str, Any]]:
    """The transcript as rows with an anchor per utterance and the evidence that cites it."""
    return [
        {
            "index": u["index"], "line": u["line_no"], "time": clock(u.get("start_s")),
            "role": u["speaker_role"], "role_label": ROLE_LABELS.get(u["speaker_role"], ""),
            "speaker": u["speaker_label"], "text": u["text"], "action": bool(u.get("is_action")),
            "evidence": evidence.get(u["index"], []),
        }
        for u in utterances
    ]  # fmt: skip


def _segments(text: str, quotes: Sequence[str]) -> list[dict[str, Any]]:
    """``text`` cut into plain and marked segments around each quote (first occurrence)."""
    spans = []
    for q in quotes:
        q = q.strip()
        at = text.find(q) if q else -1
        if at >= 0:
            spans.append((at, at + len(q)))
    spans.sort()
    out, pos = [], 0
    for a, b in spans:
        if a < pos:
            continue
        if a > pos:
            out.append({"text": text[pos:a], "mark": False})
        out.append({"text": text[a:b], "mark": True})
        pos = b
    if pos < len(text):
        out.append({"text": text[pos:], "mark": False})
    return out


def plan_sections(
    parsed: Mapping[str, Any],
    analytics: Mapping[str, Any],
    scores: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The six lesson-plan sections: present or missing, heading line, text with evidence marked."""
    sections = parsed.get("sections", {}) or {}
    lines: dict[str, int] = {}
    for h in analytics.get("headings", []) or []:
        if h.get("section"):
            lines.setdefault(h["section"], h["line"])
    order = list(scores) or list(sections)
    out = []
    for key in order:
        text = sections.get(key, "")
        quotes = [
            ev.get("quote", "")
            for ev in scores.get(key, {}).get("evidence", [])
            if ev.get("line") is not None
        ]
        out.append({
            "key": key, "present": key in sections, "line": lines.get(key),
            "chars": len("".join(text.split())), "segments": _segments(text, quotes),
        })  # fmt: skip
    return out
