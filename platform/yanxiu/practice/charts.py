"""Chart and table data for a diagnosis, built from the stored lesson metrics.

Every chart is a Chart.js config (``{"type", "data", "options"}``) that the page renders with
``<canvas data-chart='…'>``; each comes with the plain numbers for a text or table alternative.
The FIAS matrix is an HTML table heat map (cell colour by count, numbers inside), not a canvas.
All functions are pure: they read the typed diagnosis (:mod:`yanxiu.practice.draft`) and never
touch the database; what they build for a page is a frozen dataclass (the Chart.js configs
themselves are plain JSON objects, :data:`ChartSpec`, handed to the browser as they are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from yanxiu.practice.draft import (
    DimensionScore,
    Evidence,
    PlanAnalytics,
    QuestionStats,
    RegionCount,
    Report,
    STSummary,
    TranscriptAnalytics,
)
from yanxiu.practice.parse import Utterance

ChartSpec = dict[str, object]  # a Chart.js config: {"type", "data", "options"}

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


def st_mode_spec(st: STSummary) -> ChartSpec:
    """The Rt–Ch mode diagram: the four mode regions and this lesson's point."""
    datasets: list[ChartSpec] = []
    for region in st.chart.regions:
        border, fill = MODE_COLOURS.get(region.mode, ("#52606d", "rgba(82, 96, 109, 0.15)"))
        polygon = [{"x": x, "y": y} for x, y in region.polygon]
        datasets.append({
            "label": region.mode, "data": polygon + polygon[:1], "showLine": True,
            "fill": "shape", "borderColor": border, "backgroundColor": fill, "borderWidth": 1,
            "pointRadius": 0, "pointHoverRadius": 0,
        })  # fmt: skip
    rt, ch = st.rt, st.ch
    datasets.append({
        "label": f"本课（Rt={rt:.2f}，Ch={ch:.2f}，{st.mode}）",
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


def st_curve_spec(codes: str) -> ChartSpec:
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


@dataclass(frozen=True)
class HeatCell:
    count: int
    level: int  # colour step 0–5 (:func:`heat_level`)
    region: str  # integrate 积极整合格, defect 缺陷格, content 内容十字格, or ""
    label: str  # "前一编码 → 后一编码"


@dataclass(frozen=True)
class HeatRow:
    code: int
    label: str
    cells: list[HeatCell]
    total: int


@dataclass(frozen=True)
class CodeLabel:
    code: int
    label: str


@dataclass(frozen=True)
class Heatmap:
    codes: list[CodeLabel]
    rows: list[HeatRow]
    col_totals: list[int]
    total: int
    max: int


def fias_heatmap(matrix: Sequence[Sequence[int]]) -> Heatmap:
    """Rows and cells of the 10×10 FIAS matrix for an HTML table heat map.

    Each cell has its count, a colour level 0–5 (:func:`heat_level`) and its region
    (integrate 积极整合格, defect 缺陷格, content 内容十字格); rows and columns carry totals.
    """
    top = max((max(row) for row in matrix), default=0)
    rows = []
    for i, row in enumerate(matrix, start=1):
        cells = [
            HeatCell(count=int(n), level=heat_level(int(n), top), region=_region(i, j),
                     label=f"{FIAS_LABELS[i]} → {FIAS_LABELS[j]}")
            for j, n in enumerate(row, start=1)
        ]  # fmt: skip
        rows.append(HeatRow(code=i, label=FIAS_LABELS[i], cells=cells, total=sum(row)))
    col_totals = [sum(row[j] for row in matrix) for j in range(len(matrix[0]))] if matrix else []
    return Heatmap(
        codes=[CodeLabel(code=k, label=v) for k, v in FIAS_LABELS.items()],
        rows=rows,
        col_totals=col_totals,
        total=sum(col_totals),
        max=top,
    )


@dataclass(frozen=True)
class RatioRow:
    key: str
    label: str
    value: str  # formatted
    hint: str  # how it is computed, and the norm


def fias_ratio_rows(ratios: Mapping[str, float | None]) -> list[RatioRow]:
    return [
        RatioRow(key=k, label=label, value=_fmt_ratio(k, ratios.get(k)), hint=hint)
        for k, (label, hint) in FIAS_RATIO_LABELS.items()
        if k in ratios
    ]


# ---------------------------------------------------------------- rubric and questions


def radar_spec(
    scores: Mapping[str, int],
    *,
    label: str = "得分",
    compare: Mapping[str, int] | None = None,
    compare_label: str = "AI 初评",
) -> ChartSpec:
    """Rubric radar (1–5 per dimension); ``compare`` adds a second outline (e.g. the AI score)."""
    dims = list(scores)
    datasets: list[ChartSpec] = [
        {"label": label, "data": [int(scores[d]) for d in dims], "fill": True,
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


TREND_COLOURS = ("#0b6e4f", "#b7791f", "#2b6cb0", "#9b2c2c", "#553c9a", "#2c7a7b")


def trend_spec(points: Sequence[tuple[str, Mapping[str, int]]]) -> ChartSpec:
    """A teacher's reviewed scores over their lessons (line chart, one line per dimension):
    ``points`` are (lesson label, {dimension: score}) in time order."""
    dims = list(dict.fromkeys(d for _, scores in points for d in scores))
    return {
        "type": "line",
        "data": {
            "labels": [label for label, _ in points],
            "datasets": [
                {"label": d, "data": [scores.get(d) for _, scores in points], "spanGaps": True,
                 "borderColor": TREND_COLOURS[i % len(TREND_COLOURS)], "tension": 0.2}
                for i, d in enumerate(dims)
            ],
        },
        "options": {"scales": {"y": {"min": 1, "max": 5, "ticks": {"stepSize": 1}}},
                    "plugins": {"legend": {"position": "bottom"}}},
    }  # fmt: skip


def bloom_spec(questions: QuestionStats) -> ChartSpec:
    """Teacher questions by Bloom level (bar chart)."""
    bloom = questions.bloom
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


@dataclass(frozen=True)
class STPanel:
    rt: float
    ch: float
    mode: str
    n: int
    codes: str
    estimated: bool
    mode_spec: ChartSpec
    curve_spec: ChartSpec


@dataclass(frozen=True)
class FiasPanel:
    heatmap: Heatmap
    ratios: list[RatioRow]
    regions: dict[str, RegionCount]
    n: int


@dataclass(frozen=True)
class QuestionsPanel:
    count: int
    open: int
    open_share: str  # formatted percentages
    higher_order_share: str
    bloom: dict[str, int]
    bloom_spec: ChartSpec


@dataclass(frozen=True)
class TalkPanel:  # formatted percentages
    teacher_time: str
    student_time: str
    teacher_chars: str
    student_chars: str


@dataclass(frozen=True)
class WaitPanel:
    count: int  # questions answered by a student
    mean: str  # formatted seconds


@dataclass(frozen=True)
class UptakePanel:
    count: int
    opportunities: int
    rate: str


@dataclass(frozen=True)
class SegmentRow:
    """One 环节 on the timeline: its time span, share of the lesson (as a bar) and teacher talk."""

    name: str
    span: str  # "00:00–05:30"
    share: str  # "18%"
    share_pct: int  # the bar's width
    teacher: str  # teacher talk share, "—" unknown


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"


def segment_rows(analytics: TranscriptAnalytics) -> list[SegmentRow]:
    return [
        SegmentRow(
            seg.name,
            f"{_clock(seg.start_s)}–{_clock(seg.end_s)}",
            _pct(seg.share),
            round(seg.share * 100),
            _pct(seg.teacher_share),
        )  # fmt: skip
        for seg in analytics.segments or []
    ]


@dataclass(frozen=True)
class AnalyticsPanel:
    """Everything the analytics panel of a transcript shows: chart specs and their numbers."""

    st: STPanel
    fias: FiasPanel
    questions: QuestionsPanel
    talk: TalkPanel
    wait: WaitPanel
    uptake: UptakePanel
    notes: list[str]
    utterances: int
    segments: list[SegmentRow] = field(default_factory=list)  # the 环节 timeline, if marked


def transcript_analytics(analytics: TranscriptAnalytics) -> AnalyticsPanel:
    """The analytics panel of a transcript (empty analytics render as zeros)."""
    st, fias, questions = analytics.st, analytics.fias, analytics.questions
    talk, waits, up = analytics.talk_share, analytics.wait_times, analytics.uptake
    matrix = fias.matrix or [[0] * 10 for _ in range(10)]
    return AnalyticsPanel(
        st=STPanel(rt=st.rt, ch=st.ch, mode=st.mode, n=st.n, codes=st.codes, estimated=st.estimated,
                   mode_spec=st_mode_spec(st), curve_spec=st_curve_spec(st.codes)),
        fias=FiasPanel(heatmap=fias_heatmap(matrix), ratios=fias_ratio_rows(fias.ratios),
                       regions=fias.regions, n=fias.n),
        questions=QuestionsPanel(count=questions.count, open=questions.open,
                                 open_share=_pct(questions.open_share),
                                 higher_order_share=_pct(questions.higher_order_share),
                                 bloom=questions.bloom, bloom_spec=bloom_spec(questions)),
        talk=TalkPanel(teacher_time=_pct(talk.teacher_time), student_time=_pct(talk.student_time),
                       teacher_chars=_pct(talk.teacher_chars), student_chars=_pct(talk.student_chars)),
        wait=WaitPanel(count=len(waits.items),
                       mean="—" if waits.mean_s is None else f"{waits.mean_s:.1f} 秒"),
        uptake=UptakePanel(count=up.count, opportunities=up.opportunities, rate=_pct(up.rate)),
        notes=list(analytics.notes),
        segments=segment_rows(analytics),
        utterances=analytics.utterances,
    )  # fmt: skip


# ---------------------------------------------------------------- the record itself, with evidence


def evidence_index(
    scores: Mapping[str, DimensionScore], report: Report | None = None
) -> dict[int, list[str]]:
    """Utterance index → the dimensions (and notes) whose evidence cites it."""
    found: dict[int, list[str]] = {}

    def add(dimension: str, items: Sequence[Evidence]) -> None:
        for ev in items:
            if ev.utterance is not None:
                note = f"{dimension}：{ev.note}" if ev.note else dimension
                if note not in found.setdefault(ev.utterance, []):
                    found[ev.utterance].append(note)

    for dim, s in scores.items():
        add(dim, s.evidence)
    if report is not None:
        for weakness in report.weaknesses:
            add(weakness.dimension, weakness.evidence)
        for strength in report.strengths:
            add(strength.dimension, strength.evidence)
    return found


@dataclass(frozen=True)
class TranscriptRow:
    """A line of the transcript with its anchor (``u-<index>``) and the evidence citing it."""

    index: int
    line: int
    time: str
    role: str
    role_label: str
    speaker: str
    text: str
    action: bool
    evidence: list[str]


def transcript_rows(
    utterances: Sequence[Utterance], evidence: Mapping[int, list[str]]
) -> list[TranscriptRow]:
    """The transcript as rows with an anchor per utterance and the evidence that cites it."""
    return [
        TranscriptRow(
            index=u.index, line=u.line_no, time=clock(u.start_s), role=u.speaker_role,
            role_label=ROLE_LABELS.get(u.speaker_role, ""), speaker=u.speaker_label, text=u.text,
            action=u.is_action, evidence=evidence.get(u.index, []),
        )
        for u in utterances
    ]  # fmt: skip


@dataclass(frozen=True)
class Segment:
    text: str
    mark: bool  # quoted as evidence


def _segments(text: str, quotes: Sequence[str]) -> list[Segment]:
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
            out.append(Segment(text[pos:a], mark=False))
        out.append(Segment(text[a:b], mark=True))
        pos = b
    if pos < len(text):
        out.append(Segment(text[pos:], mark=False))
    return out


@dataclass(frozen=True)
class PlanSection:
    key: str
    present: bool
    line: int | None  # the heading's line
    chars: int
    segments: list[Segment]


def plan_sections(
    sections: Mapping[str, str],
    analytics: PlanAnalytics | None,
    scores: Mapping[str, DimensionScore],
) -> list[PlanSection]:
    """The six lesson-plan sections: present or missing, heading line, text with evidence marked."""
    lines: dict[str, int] = {}
    for h in analytics.headings if analytics is not None else []:
        if h.section:
            lines.setdefault(h.section, h.line)
    order = list(scores) or list(sections)
    out = []
    for key in order:
        text = sections.get(key, "")
        cited = scores[key].evidence if key in scores else []
        quotes = [ev.quote or "" for ev in cited if ev.line is not None]
        out.append(PlanSection(key=key, present=key in sections, line=lines.get(key),
                               chars=len("".join(text.split())), segments=_segments(text, quotes)))  # fmt: skip
    return out
