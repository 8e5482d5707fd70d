"""Lesson analytics trainers already know (DESIGN.md §3): S-T, FIAS, questions, talk, uptake.

All functions are pure. Times come from :class:`~yanxiu.practice.parse.Utterance` timestamps;
when a transcript has none, durations are estimated from speech length (see
:func:`speech_seconds`) and results carry ``estimated=True``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from yanxiu.practice.draft import (
    GapSummary,
    ModeRegion,
    QuestionStats,
    RegionCount,
    SegmentShare,
    STChart,
    STPoint,
    STSummary,
    TalkShare,
    Uptake,
    UptakeEvent,
    WaitTime,
)
from yanxiu.practice.parse import Utterance

CHARS_PER_SECOND = 4.0  # typical classroom Mandarin: ~240 characters a minute
WORD_UNITS = 1.6  # one Latin-script word ~ 1.6 character units (~2.5 words a second)
ACTION_SECONDS = 30.0  # an untimed stage direction such as （独立练习） counts as one S-T sample
BLOOM_LEVELS = ("记忆", "理解", "应用", "分析", "评价", "创造")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def speech_seconds(u: Utterance, cps: float = CHARS_PER_SECOND) -> float:
    """Estimated duration of a turn.

    Formula: units = CJK characters + 1.6 × Latin words; seconds = max(1, units / cps).
    A stage direction (``is_action``) lasts ``ACTION_SECONDS``.
    """
    if u.is_action:
        return ACTION_SECONDS
    units = len(_CJK.findall(u.text)) + WORD_UNITS * len(_WORD.findall(u.text))
    return max(1.0, units / cps)


GAP_MIN_S = 15.0  # silence after a turn's estimated speech longer than this is untranscribed
_TRUNCATED = re.compile(r"(……|…|\.\.\.|（略）|\(略\)|等等)[。.]?$")
# a teacher turn announcing a demonstration: the gap after it is the teacher's (S-T counts
# 演示, 板书, playing media as T)
# a teacher turn setting the class to work (or asking): the gap after it is the students'
_STUDENT_WORK = re.compile(
    r"(练习|完成|讨论|思考|想一想|写一写|算一算|做一做|试一试|读一读|默读|自读|朗读|动手|操作|实验|合作|"
    r"交流|小组|同桌|独立|写下|做题|计算|画一画|量一量|开始|work in|discuss|write|practi[cs]e)",
    re.I,
)
_DEMONSTRATION = re.compile(
    r"(视频|播放|看一段|听一段|放一段|录音|演示|板书|动画|微课|课件|listen to|watch)"
)


def _teacher_keeps_gap(last: str) -> bool:
    """The silence after a teacher turn ending in ``last`` is the teacher's: a demonstration,
    or a turn that neither sets the class to work nor asks."""
    asks = "？" in last[-15:] or "?" in last[-15:]
    return bool(_DEMONSTRATION.search(last)) or not (_STUDENT_WORK.search(last) or asks)


def turn_end(
    u: Utterance, nxt: float | None, cps: float = CHARS_PER_SECOND, gaps: str = "student",
    *, behaviour: bool = False,
) -> float:  # fmt: skip
    """When a timed turn ends (see :func:`timeline`)."""
    start = u.start_s if u.start_s is not None else 0.0
    last = u.text.strip()[-40:]
    if u.end_s is not None:  # a stated end is a fact: the speaker stopped there
        # ... but for S-T (teacher *behaviour*), a long silence after a teacher cue that neither
        # sets work nor asks is the teacher's (writing on the board, a lecture the subtitles
        # left out), as it is for a start-only turn below: subtitles end cues where speech
        # ends, and the same lesson must not be 练习型 as SRT/WebVTT and 讲授型 as text. Talk
        # (talk share, 环节 shares) keeps the stated end: nobody spoke in that silence.
        if (
            behaviour and nxt is not None and not u.is_action and u.speaker_role == "teacher"
            and nxt - u.end_s > GAP_MIN_S and (gaps == "teacher" or _teacher_keeps_gap(last))
        ):  # fmt: skip
            return nxt
        return u.end_s
    if nxt is None:
        return start + speech_seconds(u, cps)
    if u.is_action or gaps == "teacher" or _TRUNCATED.search(last):
        return nxt
    if u.speaker_role == "teacher" and _teacher_keeps_gap(last):
        return nxt
    spoken = start + speech_seconds(u, cps)
    return spoken if nxt - spoken > GAP_MIN_S else nxt


def timeline(
    utts: Sequence[Utterance], cps: float = CHARS_PER_SECOND, gaps: str = "student",
    *, behaviour: bool = False,
) -> tuple[list[tuple[float, float]], bool]:  # fmt: skip
    """Start and end of every turn, and whether they were estimated.

    With a start time on every turn: end = stated ``end_s`` (with ``behaviour``, for S-T, a
    silence of more than :data:`GAP_MIN_S` after a teacher cue that neither sets work nor asks
    runs to the next start, as for a start-only turn below); else a stage direction (and, with
    ``gaps="teacher"``, every turn) runs to the next turn's start; a spoken turn runs to the next
    start unless the silence after its estimated speech (:func:`speech_seconds`) exceeds
    :data:`GAP_MIN_S` and is the class's: after a student turn, or after a teacher turn that
    sets work (练习, 讨论, 独立完成…) or asks. Such a gap is untranscribed student activity or
    silence, not the speaker's talk (``gaps="student"``, the default). A teacher turn that
    neither sets work nor asks (lecturing on, writing on the board, a video) keeps its gap, as
    does a turn cut short in the transcript ("……", "（略）"). The last turn: start + speech.
    Otherwise turns are laid end to end from 0 s with :func:`speech_seconds` durations and the
    result is flagged estimated.

    Returns:
        ([(start, end), …], estimated)
    """
    spans: list[tuple[float, float]] = []
    if utts and all(u.start_s is not None for u in utts):
        for i, u in enumerate(utts):
            nxt = utts[i + 1].start_s if i + 1 < len(utts) else None
            start = u.start_s if u.start_s is not None else 0.0  # timed: every start is set
            spans.append((start, turn_end(u, nxt, cps, gaps, behaviour=behaviour)))
        return spans, False
    t = 0.0
    for u in utts:
        d = speech_seconds(u, cps)
        spans.append((t, t + d))
        t += d
    return spans, True


def untranscribed_gaps(
    utts: Sequence[Utterance], cps: float = CHARS_PER_SECOND
) -> list[tuple[int, float]]:
    """(position of the turn before, seconds) of each gap :func:`timeline` does not give to the
    turn before it (timed transcripts only)."""
    spans, estimated = timeline(utts, cps)
    if estimated:
        return []
    out = []
    for i, (_, end) in enumerate(spans[:-1]):
        nxt = utts[i + 1].start_s or 0.0
        if nxt - end > GAP_MIN_S:
            out.append((i, nxt - end))
    return out


def speech_spans(
    utts: Sequence[Utterance], cps: float = CHARS_PER_SECOND
) -> tuple[list[tuple[float, float]], bool]:
    """When each turn is being spoken, for FIAS silence (code 10); and whether ends were guessed.

    As :func:`timeline`, except with start-only timestamps: a spoken turn without a stated end
    ends at start + :func:`speech_seconds` when the next turn starts later, so the rest of the
    gap is silence, the same gap :func:`wait_times` counts as wait time. A stage direction
    (``众生：（独立练习）``) still runs to the next start: the class is working, not silent.
    Untimed transcripts are laid end to end as in :func:`timeline` (no silence at all).

    Returns:
        ([(start, end), …], ends_estimated)
    """
    spans, untimed = timeline(utts, cps, gaps="teacher")
    if untimed:
        return spans, True
    out, guessed = [], False
    for u, (start, end) in zip(utts, spans, strict=True):
        if u.end_s is None and not u.is_action:
            guessed = True
            end = min(end, start + speech_seconds(u, cps))
        out.append((start, end))
    return out, guessed


# ---------------------------------------------------------------- S-T analysis


@dataclass(frozen=True)
class STResult:
    """S-T analysis of one lesson (``codes`` is a string such as "TTSST")."""

    codes: str
    n: int
    n_t: int
    runs: int
    rt: float
    ch: float
    mode: str
    estimated: bool
    interval_s: float

    def summary(self) -> STSummary:
        """What a diagnosis keeps of it, with the Rt–Ch chart data."""
        return STSummary(rt=self.rt, ch=self.ch, mode=self.mode, n=self.n, codes=self.codes,
                         estimated=self.estimated, chart=st_chart(self.rt, self.ch))  # fmt: skip


def st_codes(
    utts: Sequence[Utterance], interval: float = 30.0, gaps: str = "student"
) -> tuple[str, bool]:
    """Sample the lesson every ``interval`` seconds.

    Samples are taken at t = t0, t0 + 30, … while t < the last end. A sample is "T" when the
    turn under way at t (the latest turn with start ≤ t < end) is the teacher's, including
    teacher stage directions such as （板书）; "S" otherwise: student speech, student work
    time written as ``众生：（独立练习）``, and silence between turns (S-T counts every
    non-teacher behaviour as S).

    Returns:
        (codes, estimated)
    """
    spans, estimated = timeline(utts, gaps=gaps, behaviour=True)
    if not spans:
        return "", estimated
    t, stop, k, codes = spans[0][0], max(e for _, e in spans), 0, []
    while t < stop:
        while k + 1 < len(spans) and spans[k + 1][0] <= t:
            k += 1
        teacher = utts[k].speaker_role == "teacher" and spans[k][0] <= t < spans[k][1]
        codes.append("T" if teacher else "S")
        t += interval
    return "".join(codes), estimated


def rt_ch(codes: str) -> tuple[float, float]:
    """Rt = N_T / N and Ch = (g − 1) / N, with g the number of runs of identical codes."""
    if not codes:
        raise ValueError("S-T analysis needs at least one sample")
    runs = 1 + sum(a != b for a, b in zip(codes, codes[1:], strict=False))
    return codes.count("T") / len(codes), (runs - 1) / len(codes)


def st_mode(rt: float, ch: float) -> str:
    """Rt ≤ 0.3 练习型; Rt ≥ 0.7 讲授型; otherwise Ch ≥ 0.4 对话型, else 混合型."""
    if rt <= 0.3:
        return "练习型"
    if rt >= 0.7:
        return "讲授型"
    return "对话型" if ch >= 0.4 else "混合型"


def st_chart(rt: float, ch: float) -> STChart:
    """Rt–Ch chart: the lesson's point and the four mode regions as polygons (x = Rt, y = Ch).

    The reachable area is the triangle (0,0)–(0.5,1)–(1,0) since Ch ≤ 2·min(Rt, 1 − Rt); it is
    cut at Rt = 0.3, Rt = 0.7 and (between them) Ch = 0.4.
    """
    regions = {
        "练习型": [(0, 0), (0.3, 0), (0.3, 0.6)],
        "混合型": [(0.3, 0), (0.7, 0), (0.7, 0.4), (0.3, 0.4)],
        "对话型": [(0.3, 0.4), (0.7, 0.4), (0.7, 0.6), (0.5, 1), (0.3, 0.6)],
        "讲授型": [(0.7, 0), (1, 0), (0.7, 0.6)],
    }
    return STChart(
        x="Rt",
        y="Ch",
        point=STPoint(rt=rt, ch=ch, mode=st_mode(rt, ch)),
        regions=[
            ModeRegion(mode=m, polygon=[list(p) for p in poly]) for m, poly in regions.items()
        ],
    )


def st_analysis(
    utts: Sequence[Utterance], interval: float = 30.0, gaps: str = "student"
) -> STResult:
    """Run the whole S-T analysis: sampling, Rt, Ch, runs and mode."""
    codes, estimated = st_codes(utts, interval, gaps)
    rt, ch = rt_ch(codes)
    runs = 1 + sum(a != b for a, b in zip(codes, codes[1:], strict=False))
    mode = st_mode(rt, ch)
    return STResult(codes, len(codes), codes.count("T"), runs, rt, ch, mode, estimated, interval)


# ---------------------------------------------------------------- FIAS


def expand_fias(coded: Sequence[tuple[int, float, float]], step: float = 3.0) -> list[int]:
    """Expand coded turns ``(code, start_s, end_s)`` into the 3-second FIAS code sequence.

    Each turn yields max(1, round((end − start) / 3)) copies of its code; a gap before a turn
    (its start − the previous end) of ≥ 3 s yields floor(gap / 3) codes 10 (silence).
    """
    out: list[int] = []
    prev_end = None
    for code, start, end in coded:
        if code not in range(1, 11):
            raise ValueError(f"FIAS code must be 1–10, got {code!r}")
        if prev_end is not None and start - prev_end >= step:
            out += [10] * int((start - prev_end) // step)
        out += [code] * max(1, round((end - start) / step))
        prev_end = end if prev_end is None else max(prev_end, end)
    return out


def fias_matrix(codes: Sequence[int]) -> list[list[int]]:
    """10×10 matrix: cell [i−1][j−1] counts consecutive pairs (code i, then code j); N − 1 pairs."""
    if any(c not in range(1, 11) for c in codes):
        raise ValueError("FIAS codes must be integers 1–10")
    m = [[0] * 10 for _ in range(10)]
    for a, b in zip(codes, codes[1:], strict=False):
        m[a - 1][b - 1] += 1
    return m


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def fias_ratios(codes: Sequence[int]) -> dict[str, float | None]:
    """FIAS ratios over N codes (c_k = how many codes equal k); None when a denominator is 0.

    teacher_talk Σc1..c7 / N; student_talk (c8 + c9) / N; silence c10 / N;
    indirect_direct (c1+c2+c3+c4) / (c5+c6+c7); positive_negative (c1+c2+c3) / (c6+c7);
    question c4 / (c4+c5); student_initiative c9 / (c8+c9);
    steady_state = Σ diagonal cells of :func:`fias_matrix` / N.
    """
    n, matrix = len(codes), fias_matrix(codes)
    c = {k: list(codes).count(k) for k in range(1, 11)}
    diag = sum(matrix[i][i] for i in range(10))
    return {
        "teacher_talk": _div(sum(c[k] for k in range(1, 8)), n),
        "student_talk": _div(c[8] + c[9], n),
        "silence": _div(c[10], n),
        "indirect_direct": _div(c[1] + c[2] + c[3] + c[4], c[5] + c[6] + c[7]),
        "positive_negative": _div(c[1] + c[2] + c[3], c[6] + c[7]),
        "question": _div(c[4], c[4] + c[5]),
        "student_initiative": _div(c[9], c[8] + c[9]),
        "steady_state": _div(diag, n),
    }


def fias_regions(matrix: Sequence[Sequence[int]]) -> dict[str, RegionCount]:
    """Region totals of a FIAS matrix and their share of all pairs.

    积极整合格: cells with row and column in 1–3; 缺陷格: row and column in 6–7; content cross:
    cells in rows 4–5 or columns 4–5 (each cell counted once).
    """
    total = sum(map(sum, matrix))
    cells = {
        "积极整合格": [(i, j) for i in (1, 2, 3) for j in (1, 2, 3)],
        "缺陷格": [(i, j) for i in (6, 7) for j in (6, 7)],
        "内容十字格": [(i, j) for i in range(1, 11) for j in range(1, 11) if {i, j} & {4, 5}],
    }
    out = {}
    for name, where in cells.items():
        count = sum(matrix[i - 1][j - 1] for i, j in where)
        out[name] = RegionCount(count=count, share=_div(count, total))
    return out


# ---------------------------------------------------------------- questions and talk


@dataclass(frozen=True)
class Classified:
    """An utterance with the coder's labels (only teacher questions need question fields)."""

    utterance: Utterance
    is_question: bool = False
    is_open: bool | None = None
    bloom: str | None = None  # one of BLOOM_LEVELS


def question_stats(items: Sequence[Classified]) -> QuestionStats:
    """Teacher questions: count, open share = open / (open + closed), Bloom distribution.

    ``higher_order_share`` = (分析 + 评价 + 创造) / questions with a Bloom level.
    """
    qs = [x for x in items if x.is_question and x.utterance.speaker_role == "teacher"]
    judged = [x for x in qs if x.is_open is not None]
    bloom = {level: sum(x.bloom == level for x in qs) for level in BLOOM_LEVELS}
    leveled = sum(bloom.values())
    return QuestionStats(
        count=len(qs),
        open=sum(bool(x.is_open) for x in judged),
        open_share=_div(sum(bool(x.is_open) for x in judged), len(judged)),
        bloom=bloom,
        bloom_share={k: _div(v, leveled) for k, v in bloom.items()},
        higher_order_share=_div(bloom["分析"] + bloom["评价"] + bloom["创造"], leveled),
    )


def wait_times(items: Sequence[Classified]) -> list[WaitTime]:
    """Wait time after each teacher question answered by the very next turn (a student's).

    wait = next student start − question end, clamped at 0. The question end is its stated
    ``end_s``; with start-only timestamps it is start + :func:`speech_seconds` and the entry is
    flagged estimated. Untimed transcripts give no wait times.
    """
    out = []
    for q, nxt in zip(items, items[1:], strict=False):
        u, v = q.utterance, nxt.utterance
        if not (q.is_question and u.speaker_role == "teacher" and v.speaker_role != "teacher"):
            continue
        if u.start_s is None or v.start_s is None:
            continue
        end = u.end_s if u.end_s is not None else u.start_s + speech_seconds(u)
        out.append(WaitTime(question=u.index, seconds=max(0.0, v.start_s - end),
                            estimated=u.end_s is None))  # fmt: skip
    return out


def talk_share(utts: Sequence[Utterance], gaps: str = "student") -> TalkShare:
    """Teacher and student shares of talk time and of characters.

    By time: Σ teacher turn durations / Σ all turn durations (from :func:`timeline`, gaps
    excluded; student work time counts as student). By characters: non-space characters of
    spoken (non-action) turns, teacher / all.
    """
    spans, estimated = timeline(utts, gaps=gaps)
    t_time = sum(
        e - s for (s, e), u in zip(spans, utts, strict=True) if u.speaker_role == "teacher"
    )
    all_time = sum(e - s for s, e in spans)
    chars = [(u.speaker_role, len(re.sub(r"\s", "", u.text))) for u in utts if not u.is_action]
    t_chars, all_chars = sum(n for r, n in chars if r == "teacher"), sum(n for _, n in chars)
    teacher_time, teacher_chars = _div(t_time, all_time), _div(t_chars, all_chars)
    return TalkShare(
        teacher_time=teacher_time,
        student_time=None if teacher_time is None else 1 - teacher_time,
        teacher_chars=teacher_chars,
        student_chars=None if teacher_chars is None else 1 - teacher_chars,
        estimated=estimated,
    )


_STOP_CHARS = set(
    "的了是在和与也就都还又吗呢吧啊呀哦嗯我你他她它们这那有没不个么一上下来去说看想很要会能对好"
)
_STOP_WORDS = {"the", "and", "that", "this", "with", "you", "are", "was", "have", "for", "not"}


def content_units(text: str) -> set[str]:
    """Content units of a turn: CJK character bigrams with no function character (的, 了, 我,
    这, 不 …), plus lower-cased Latin words of ≥ 3 letters that are not stop words."""
    units = set()
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        units |= {
            run[i : i + 2] for i in range(len(run) - 1) if not set(run[i : i + 2]) & _STOP_CHARS
        }
    words = {w.lower() for w in _WORD.findall(text)}
    return units | {w for w in words if len(w) >= 3 and w not in _STOP_WORDS}


def uptake(utts: Sequence[Utterance], min_shared: int = 2) -> Uptake:
    """Uptake of student ideas: a teacher turn right after a student turn that reuses ≥ 2 of
    its content units (:func:`content_units`). rate = uptakes / student→teacher transitions.
    """
    events, chances = [], 0
    for s, t in zip(utts, utts[1:], strict=False):
        if s.speaker_role == "teacher" or s.is_action or t.speaker_role != "teacher":
            continue
        chances += 1
        shared = sorted(content_units(s.text) & content_units(t.text))
        if len(shared) >= min_shared:
            events.append(UptakeEvent(student=s.index, teacher=t.index, shared=shared))
    return Uptake(count=len(events), opportunities=chances, rate=_div(len(events), chances),
                  events=events)  # fmt: skip


def gap_summary(utts: Sequence[Utterance], gaps: str = "student") -> GapSummary | None:
    """How many untranscribed gaps a timed transcript has, their length and how they count."""
    found = untranscribed_gaps(utts)
    if not found:
        return None
    return GapSummary(count=len(found), seconds=round(sum(s for _, s in found), 1), treated_as=gaps)


def segment_shares(utts: Sequence[Utterance], gaps: str = "student") -> list[SegmentShare] | None:
    """The 环节 timeline: each marked segment's time span, share of the lesson and teacher talk
    share (None when the source marks no 环节)."""
    if not any(u.segment for u in utts):
        return None
    spans, _ = timeline(utts, gaps=gaps)
    lesson_start, lesson_end = spans[0][0], max(e for _, e in spans)
    total = max(1e-9, lesson_end - lesson_start)
    out: list[SegmentShare] = []
    i = 0
    while i < len(utts):
        name, j = utts[i].segment or "（未标环节）", i
        while j + 1 < len(utts) and utts[j + 1].segment == utts[i].segment:
            j += 1
        start = spans[i][0]
        end = spans[j + 1][0] if j + 1 < len(utts) else lesson_end
        talk = sum(
            min(e, end) - s
            for (s, e), u in zip(spans[i : j + 1], utts[i : j + 1], strict=True)
            if u.speaker_role == "teacher" and not u.is_action
        )
        out.append(SegmentShare(name=name, start_s=round(start, 1), end_s=round(end, 1),
                                share=round((end - start) / total, 3),
                                teacher_share=round(talk / (end - start), 3) if end > start else None))  # fmt: skip
        i = j + 1
    return out
