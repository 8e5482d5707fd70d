"""Rubric scores (1–5) with evidence, confidence and the norm used.

Transcript dimensions follow the classroom-observation frameworks trainers already use
(S-T, FIAS, questioning and dialogic-teaching research) and each maps to a competency, so a
weakness can be matched to catalog resources:

| dimension | competency | measured by |
|---|---|---|
| 提问质量 | PRC-QUES | open-question share, higher-order (分析/评价/创造) share |
| 学生参与 | PRC-ENGAGE | student share of lesson time, distinct student speakers, initiations |
| 反馈评价 | PRC-FEEDBACK | specific vs generic feedback after student turns, uptake |
| 课堂互动 | PRC-DIALOG | S-T conversion rate Ch, uptake rate, FIAS 3 (uses student ideas) |
| 思维深度 | PRC-THINK | higher-order questions, reasoning words in student turns, wait time |
| 教学目标达成 | PRC-GOAL | checks of understanding and a summary near the end (low confidence) |

When the learned DialogID coder (:mod:`yanxiu.practice.coder`) has coded the teacher turns,
the moves are cited as evidence (the coded sentence and the model's probability) and enter
two scores:

| dimension | DialogID moves used |
|---|---|
| 反馈评价 | scored (weight 0.2): share of teacher turns after a student turn that make a 表扬激励 (commending) or 引导启发 (guidance) move, i.e. praise or a push further; 50 % or more counts in full |
| 教学目标达成 | scored: turns in the last quarter making a 归纳总结 / 回顾旧知 move count as closing checks |
| 提问质量 | evidence only: share of teacher turns making a 引导启发 move, with examples |
| 思维深度 | evidence only: share of teacher turns making a 引导启发, 归纳总结, 举例说明 or 回顾旧知 move, with examples |

Why evidence only for 提问质量 and 思维深度: on the content's case transcripts, teacher-led
worked examples ("我们来看例题一……是多少？") are coded 引导启发 as often in lecture lessons as in
dialogic ones, and giving those shares a weight of 0.2 narrowed the dialogic − lecture gap
(提问质量 2.66 → 2.33 points, 思维深度 2.50 → 2.00; 6 + 6 cases), while the feedback share
widened it for 反馈评价 (1.17 → 1.50). A small sample, so trainers' edits should revisit this.

A turn makes a move when one of its sentences is coded so with probability ≥ 0.5
(:meth:`yanxiu.practice.talk_codes.TurnCode.makes`).

Without the model the rule-only formulas apply unchanged and the norm text leaves the move
part out.

Besides what it found, every transcript dimension cites where a shortfall shows, since a
trainer cannot review a weakness with no evidence (e.g. no student talk, no summary):

| dimension | evidence of what is missing |
|---|---|
| 提问质量 | no question detected: the longest stretch of teacher talk |
| 学生参与 | the longest stretch of teacher-only talk (first–last line, turns, duration) and the first student turns |
| 反馈评价 | generic responses ("好，坐下"), then specific ones (uptake first); no student turn: the longest teacher stretch |
| 课堂互动 | teacher turns right after a student that take nothing up (bare "好，下一个" first), the longest teacher stretch |
| 思维深度 | the questions with open/closed, Bloom level and wait time (low-level first when weak); answers without reasons |
| 教学目标达成 | no closing summary or check: the last three teacher lines of the last quarter, saying none was found |

When 学生参与, 课堂互动 or 思维深度 score 2 or less this evidence comes first, since the report
shows only the first items (elsewhere it comes first anyway). Items have the usual shape
(utterance, line, speaker, text, note).

Lesson plans are scored on 教学目标, 学情分析, 教学重难点, 教学过程, 评价设计, 作业设计 from the
detected sections. Every score lists the evidence (utterance numbers and lines, or the
section's heading line and a quote), a confidence in [0, 1] (less evidence, less confidence)
and the norm that turned the measure into a score, so a trainer can check and overrule it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from yanxiu.practice.coder import LABELS, Move
from yanxiu.practice.draft import DimensionScore, Evidence, Measures, MoveSummary
from yanxiu.practice.lesson_metrics import (
    BLOOM_LEVELS,
    Classified,
    STResult,
    content_units,
    question_stats,
    talk_share,
    timeline,
    uptake,
    wait_times,
)
from yanxiu.practice.parse import LessonPlan, Utterance
from yanxiu.practice.talk_codes import MIN_MOVE_PROB, TurnCode, classified

TRANSCRIPT_DIMENSIONS = {
    "提问质量": "PRC-QUES", "学生参与": "PRC-ENGAGE", "反馈评价": "PRC-FEEDBACK",
    "课堂互动": "PRC-DIALOG", "思维深度": "PRC-THINK", "教学目标达成": "PRC-GOAL",
}  # fmt: skip
PLAN_DIMENSIONS = {
    "教学目标": "PRC-GOAL", "学情分析": "PRC-LEARNER", "教学重难点": "PRC-KEY",
    "教学过程": "PRC-PROCESS", "评价设计": "PRC-ASSESS", "作业设计": "PRC-HOMEWORK",
}  # fmt: skip
GENERIC_FEEDBACK = re.compile(
    r"^(好|嗯|对|行|可以|OK|ok|Good|good)[，,。.！!]?(坐下|请坐|下一个|还有吗|next)?[。.！!]?$"
)
GENERIC_OPENING = re.compile(
    r"^(好|嗯|对|行|OK|ok|Good|good)[，,。.！!]\s*(坐下|请坐|下一个|还有吗|还有谁|next|sit down)",
    re.I,
)
REASONING = (
    "因为",
    "所以",
    "如果",
    "那么",
    "我觉得",
    "我认为",
    "我发现",
    "理由",
    "说明",
    "可能",
    "because",
    "so ",
    "i think",
)


def banded(value: float | None, cuts: Sequence[float]) -> int:
    """1 + the number of ascending ``cuts`` that ``value`` reaches (None scores 1)."""
    if value is None:
        return 1
    return 1 + sum(value >= c for c in cuts)


def _ref(u: Utterance, note: str | None = None) -> Evidence:
    """Evidence citing an utterance (its line, speaker and first 80 characters)."""
    ref = Evidence(utterance=u.index, line=u.line_no, speaker=u.speaker_label, text=u.text[:80])
    if note is not None:
        ref.note = note
    return ref


# DialogID moves that show the teacher pushing thinking forward (思维深度)
DEEPENING_MOVES = ("guidance", "summarization", "example-giving", "reviewing")
# moves in the last quarter that count as a closing summary or check (教学目标达成)
CLOSING_MOVES = ("summarization", "reviewing")
MOVE_NORMS = {"responsive_feedback": 0.5}


@dataclass(frozen=True)
class MoveStats:
    """How many coded teacher turns make each DialogID move (a turn can make several)."""

    n: int  # coded teacher turns
    counts: dict[str, int]  # turns making each specific move; "others": turns making none
    turns: list[tuple[Utterance, TurnCode]]  # the coded teacher turns

    def share(self, *names: str) -> float:
        """Share of coded teacher turns that make at least one of the moves ``names``."""
        return sum(c.makes(*names) is not None for _, c in self.turns) / self.n

    @property
    def shares(self) -> dict[str, float]:
        return {k: v / self.n for k, v in self.counts.items()}

    def examples(self, *names: str, k: int = 2) -> list[Evidence]:
        """Up to ``k`` turns making one of ``names``: the most confident turn of each name first."""
        firsts: list[tuple[Utterance, Move]] = []
        for name in names:
            best = max(
                ((u, m) for u, c in self.turns if (m := c.makes(name)) is not None),
                key=lambda um: um[1].prob,
                default=None,
            )
            if best is not None and all(best[0] is not u for u, _ in firsts):
                firsts.append(best)
        rest = sorted(
            ((u, m) for u, c in self.turns if (m := c.makes(*names)) is not None),
            key=lambda um: -um[1].prob,
        )
        chosen = firsts + [h for h in rest if all(h[0] is not u for u, _ in firsts)]
        return [_move_ref(u, m) for u, m in chosen[:k]]

    def summary(self) -> MoveSummary:
        return MoveSummary(available=True, coded_teacher_turns=self.n, turns_making=self.counts,
                           shares={k: round(v, 3) for k, v in self.shares.items()},
                           min_probability=MIN_MOVE_PROB)  # fmt: skip


def move_stats(utts: Sequence[Utterance], codes: Sequence[TurnCode]) -> MoveStats | None:
    """Move counts and shares over coded teacher turns; None when no turn was coded."""
    turns = [(u, c) for u, c in zip(utts, codes, strict=True) if c.sentence_moves]
    if not turns:
        return None
    counts = {name: sum(c.makes(name) is not None for _, c in turns) for name in LABELS[:-1]}
    counts["others"] = sum(c.makes(*LABELS[:-1]) is None for _, c in turns)
    return MoveStats(len(turns), counts, turns)


def _move_ref(u: Utterance, move: Move) -> Evidence:
    """Evidence from a coded turn: the sentence that carries the move, with its probability."""
    ref = _ref(u, f"{move.zh}（话语编码模型，概率 {move.prob:.2f}）：{move.text[:60]}")
    ref.move, ref.sentence = move.name, move.text[:80]
    return ref


def _blend(rule: float, move: float | None, weight: float = 0.2) -> float:
    """The rule measure alone without a model; else ``(1 - weight)`` rule + ``weight`` move."""
    return rule if move is None else (1 - weight) * rule + weight * move


def _confidence(n: int, full_at: int, *, timed: bool = True) -> float:
    return round(min(1.0, 0.3 + 0.7 * n / full_at) * (1.0 if timed else 0.8), 2)


# ---------------------------------------------------------------- evidence of what is missing
# A weakness is often an absence (no student talk, no take-up, no summary). A trainer cannot
# review "nothing", so each transcript dimension also cites where the absence shows: the
# longest stretch of teacher talk, the turns that moved on, the questions and their levels,
# the closing lines searched. Evidence like any other (:func:`_ref`).
HIGHER_ORDER = BLOOM_LEVELS[3:]  # 分析, 评价, 创造


def _duration(seconds: float, estimated: bool) -> str:
    """A duration such as 约 3 分 10 秒 or 约 45 秒, flagged when estimated from speech length."""
    s = round(seconds)
    text = f"约 {s // 60} 分 {s % 60} 秒" if s >= 60 else f"约 {s} 秒"
    return text + ("（按字数估算）" if estimated else "")


def teacher_stretch(utts: Sequence[Utterance]) -> tuple[int, int, float, bool] | None:
    """The longest run of consecutive teacher turns (stage directions included) by duration.

    Returns (first position, last position, seconds, estimated), or None without teacher turns.
    A student turn or student work time (``众生：（独立练习）``) ends a run.
    """
    spans, estimated = timeline(utts)
    best: tuple[int, int, float, bool] | None = None
    start = None
    for i, u in enumerate([*utts, None]):
        if u is not None and u.speaker_role == "teacher":
            start = i if start is None else start
            continue
        if start is not None:
            seconds = spans[i - 1][1] - spans[start][0]
            if best is None or (seconds, i - start) > (best[2], best[1] - best[0] + 1):
                best = (start, i - 1, seconds, estimated)
            start = None
    return best


def _stretch_ref(
    utts: Sequence[Utterance], found: tuple[int, int, float, bool] | None, prefix: str = ""
) -> list[Evidence]:
    """The longest teacher stretch (:func:`teacher_stretch`) as one item citing its first turn
    (lines and duration)."""
    if found is None:
        return []
    a, b, seconds, estimated = found
    lines = f"第{utts[a].line_no}行" if a == b else f"第{utts[a].line_no}–{utts[b].line_no}行"
    note = f"{prefix}教师连续讲话最长的一段：{lines}，{b - a + 1} 个话轮，{_duration(seconds, estimated)}"
    return [_ref(utts[a], note)]


def _question_ref(x: Classified, waits: dict[int, float]) -> Evidence:
    """A teacher question with its type and level (and wait time when the lesson is timed)."""
    u = x.utterance
    level = "高阶" if x.bloom in HIGHER_ORDER else "低阶"
    wait = f"，候答 {waits[u.index]:.0f} 秒" if u.index in waits else ""
    return _ref(u, f"提问·{'开放' if x.is_open else '封闭'}·{x.bloom}（{level}）{wait}")


def _weak_first(score: int, found: list[Evidence], missing: list[Evidence]) -> list[Evidence]:
    """A weak score (≤ 2) leads with what is missing: the report and CLI show the first items."""
    return missing + found if score <= 2 else found + missing


def score_transcript(
    utts: Sequence[Utterance], codes: Sequence[TurnCode], st: STResult
) -> list[DimensionScore]:
    """Six transcript dimensions from the coded turns and the lesson metrics."""
    items = classified(utts, codes)
    q = question_stats(items)
    timed = not st.estimated
    teacher_qs = [x for x in items if x.is_question and x.utterance.speaker_role == "teacher"]
    up = uptake(utts)
    share = talk_share(utts)
    students = [u for u in utts if u.speaker_role != "teacher" and not u.is_action]
    initiations = [u for u, c in zip(utts, codes, strict=True) if c.fias == 9]
    speakers = {
        u.speaker_label for u in students if u.speaker_label not in ("生", "众生", "S", "学生")
    }
    out: list[DimensionScore] = []
    ms = move_stats(utts, codes)
    stretch = teacher_stretch(utts)  # cited by several dimensions' evidence

    open_share, higher = q.open_share or 0.0, q.higher_order_share or 0.0
    guidance = None if ms is None else ms.share("guidance")
    quality = 0.5 * min(1.0, open_share / 0.4) + 0.5 * min(1.0, higher / 0.4)
    best = sorted(teacher_qs, key=lambda x: (not x.is_open, x.bloom in ("记忆", "理解")))
    measure = Measures(questions=q.count, open_share=q.open_share,
                       higher_order_share=q.higher_order_share, bloom=q.bloom)  # fmt: skip
    if guidance is not None:
        measure.guidance_share = round(guidance, 3)
    out.append(DimensionScore(
        dimension="提问质量", competency="PRC-QUES", score=banded(quality, (0.2, 0.4, 0.6, 0.8)),
        measure=measure,
        norm="开放性问题占比与高阶（分析/评价/创造）问题占比各达到 40% 记满分；两项平均，每 20% 一档"
        + ("" if ms is None else "；话语编码模型判为“引导启发”的教师话轮占比列为证据，不计分"),
        confidence=_confidence(q.count, 12, timed=True),
        evidence=[_ref(x.utterance, ("开放" if x.is_open else "封闭") + f"·{x.bloom}") for x in (best[:2] + best[-2:] if len(best) > 4 else best)]
        + ([] if teacher_qs else _stretch_ref(utts, stretch, "全课未检测到教师提问；"))
        + ([] if ms is None else ms.examples("guidance", k=2)),
    ))  # fmt: skip

    student_time = share.student_time or 0.0
    engage = (
        0.5 * min(1.0, student_time / 0.5)
        + 0.25 * min(1.0, len(speakers) / 6)
        + 0.25 * min(1.0, len(initiations) / 3)
    )
    engage_score = banded(engage, (0.2, 0.4, 0.6, 0.8))
    # what participation there was: the longest teacher-only stretch and the first student turns
    heard = [
        _ref(u, f"学生发言 {k}/{len(students)}" + ("（集体）" if u.speaker_role == "students" else ""))
        for k, u in enumerate(students[:3], 1)
    ] or [_ref(utts[0], "全课没有学生发言")]  # fmt: skip
    out.append(DimensionScore(
        dimension="学生参与", competency="PRC-ENGAGE", score=engage_score,
        measure=Measures(student_time_share=share.student_time, named_student_speakers=len(speakers),
                         student_initiations=len(initiations), student_turns=len(students)),
        norm="学生时间占比 50%、6 名以上不同学生发言、3 次以上学生主动提问或质疑记满分（权重 2:1:1）",
        confidence=_confidence(len(students), 15, timed=timed),
        evidence=_weak_first(engage_score, [_ref(u, "学生主动发起") for u in initiations[:3]], _stretch_ref(utts, stretch) + heard),
    ))  # fmt: skip

    after_student = [
        (s, t) for s, t in zip(utts, utts[1:], strict=False)
        if s.speaker_role != "teacher" and not s.is_action and t.speaker_role == "teacher"
    ]  # fmt: skip
    # generic: opens with "好/对/嗯/OK…(坐下)" or is a bare word, and takes up nothing the student said
    generic = [
        t for s_, t in after_student
        if (GENERIC_FEEDBACK.match(t.text.strip()[:6]) or GENERIC_OPENING.match(t.text.strip()) or len(t.text.strip()) <= 4)
        and len(content_units(s_.text) & content_units(t.text)) < 2
    ]  # fmt: skip
    specific_share = 1 - len(generic) / len(after_student) if after_student else None
    code_of = {id(u): c for u, c in zip(utts, codes, strict=True)}
    responses = [(t, code_of[id(t)]) for _, t in after_student if code_of[id(t)].sentence_moves]
    responsive = (
        sum(c.makes("commending", "guidance") is not None for _, c in responses) / len(responses)
        if responses
        else None
    )
    feedback = _blend(
        0.6 * (specific_share or 0.0) + 0.4 * min(1.0, (up.rate or 0.0) / 0.3),
        None if ms is None else min(1.0, (responsive or 0.0) / MOVE_NORMS["responsive_feedback"]),
    )
    praised = [_move_ref(t, m) for t, c in responses if (m := c.makes("commending")) is not None]
    generic_ids = {id(t) for t in generic}
    # responses that are not generic: those reusing the student's words first (clearly specific)
    shared_with = {e.teacher: e.shared for e in up.events}
    responded = [(s_, t) for s_, t in after_student if id(t) not in generic_ids]
    specific = (
        [_ref(t, f"回应第{s_.line_no}行学生发言，接续：" + "、".join(shared_with[t.index][:3]))
         for s_, t in responded if t.index in shared_with]
        + [_ref(t, f"回应第{s_.line_no}行学生发言（非笼统反馈）")
           for s_, t in responded if t.index not in shared_with]
    )  # fmt: skip
    measure = Measures(feedback_turns=len(after_student), generic=len(generic),
                       specific_share=specific_share, uptake_rate=up.rate)  # fmt: skip
    if ms is not None:
        measure.commending_or_guidance_after_student = (
            None if responsive is None else round(responsive, 3)
        )
        measure.commending_share = round(ms.share("commending"), 3)
    out.append(DimensionScore(
        dimension="反馈评价", competency="PRC-FEEDBACK", score=banded(feedback, (0.3, 0.5, 0.65, 0.8)),
        measure=measure,
        norm="学生发言后的教师回应中具体反馈占比（权重 0.6）与接续学生观点的比率（达 30% 记满，权重 0.4）"
        + ("" if ms is None else "；话语编码模型判为“表扬激励”或“引导启发”的回应占 50% 记满分（权重 0.2，前两项共 0.8）"),
        confidence=_confidence(len(after_student), 12, timed=True),
        evidence=[_ref(t, "笼统反馈") for t in generic[:3]] + praised[:2] + specific[:2]
        + ([] if after_student else _stretch_ref(utts, stretch, "没有学生发言可回应；")),
    ))  # fmt: skip

    uses_ideas = sum(c.fias == 3 for c in codes)
    teacher_turns = sum(u.speaker_role == "teacher" for u in utts) or 1
    dialog = (
        0.4 * min(1.0, st.ch / 0.4)
        + 0.3 * min(1.0, (up.rate or 0.0) / 0.3)
        + 0.3 * min(1.0, uses_ideas / teacher_turns / 0.25)
    )
    dialog_score = banded(dialog, (0.2, 0.4, 0.6, 0.8))
    # teacher turns right after a student that take nothing up ("好，下一个" first), then the
    # longest stretch with no student turn in it
    taken = {e.teacher for e in up.events}
    missed = sorted(
        (
            (s_, t)
            for s_, t in after_student
            if t.index not in taken and code_of[id(t)].fias != 3  # FIAS 3: uses the idea
        ),
        key=lambda st_: id(st_[1]) not in generic_ids,  # bare "好，下一个" first
    )
    moved_on = [_ref(t, f"未接续第{s_.line_no}行学生发言") for s_, t in missed[:3]]
    taken_up = [
        Evidence(utterance=e.teacher, line=utts[e.teacher].line_no, text=utts[e.teacher].text[:80],
                 note="接续：" + "、".join(e.shared[:3]))
        for e in up.events[:3]
    ]  # fmt: skip
    out.append(DimensionScore(
        dimension="课堂互动", competency="PRC-DIALOG", score=dialog_score,
        measure=Measures(ch=st.ch, rt=st.rt, mode=st.mode, uptake_rate=up.rate, uses_student_ideas=uses_ideas),
        norm="S-T 转换率 Ch 达 0.4、接续率达 30%、接纳运用学生观点的教师话轮达 25% 记满分（权重 0.4:0.3:0.3）",
        confidence=_confidence(len(utts), 40, timed=timed),
        evidence=_weak_first(dialog_score, taken_up, moved_on + _stretch_ref(utts, stretch)),
    ))  # fmt: skip

    reasoning = [u for u in students if any(w in u.text.lower() for w in REASONING)]
    wait_of = {w.question: w.seconds for w in wait_times(items)}
    waits = list(wait_of.values())
    mean_wait = sum(waits) / len(waits) if waits else None
    think = (
        0.45 * min(1.0, higher / 0.4)
        + 0.35 * min(1.0, len(reasoning) / max(1, len(students)) / 0.4)
        + 0.2 * min(1.0, (mean_wait or 0) / 3.0)
    )
    think_score = banded(think, (0.2, 0.4, 0.6, 0.8))
    # the questions asked and their levels (low ones first when weak), and answers with no reasons
    high_qs = [x for x in teacher_qs if x.bloom in HIGHER_ORDER]
    low_qs = [x for x in teacher_qs if x.bloom not in HIGHER_ORDER]
    asked = (low_qs[:3] + high_qs[:1]) if think_score <= 2 else (high_qs[:2] + low_qs[:1])
    unreasoned = (
        [] if reasoning else [_ref(u, "学生回答未说理（无“因为/我认为…”）") for u in students[:2]]
    )
    shallow = (
        [_question_ref(x, wait_of) for x in asked]
        if teacher_qs
        else _stretch_ref(utts, stretch, "全课未检测到教师提问；")
    ) + unreasoned
    measure = Measures(higher_order_share=q.higher_order_share, reasoning_turns=len(reasoning),
                       mean_wait_s=mean_wait)  # fmt: skip
    if ms is not None:
        measure.deepening_move_share = round(ms.share(*DEEPENING_MOVES), 3)
        measure.move_shares = {m: round(ms.share(m), 3) for m in DEEPENING_MOVES}
    out.append(DimensionScore(
        dimension="思维深度", competency="PRC-THINK", score=think_score,
        measure=measure,
        norm="高阶问题占比达 40%、学生话轮中说理（因为/我认为/如果…）达 40%、平均候答 3 秒记满分（权重 0.45:0.35:0.2）"
        + ("" if ms is None else "；含“引导启发/归纳总结/举例说明/回顾旧知”的教师话轮占比列为证据，不计分"),
        confidence=_confidence(len(students), 15, timed=bool(waits)),
        evidence=_weak_first(think_score,
                             [_ref(u, "学生说理") for u in reasoning[:3]]
                             + ([] if ms is None else ms.examples("summarization", "example-giving", "reviewing", k=3)),
                             shallow),
    ))  # fmt: skip

    start = int(len(utts) * 0.75)
    tail = utts[start:]
    checks = [
        u
        for u, c in zip(tail, codes[start:], strict=True)
        if u.speaker_role == "teacher"
        and (
            re.search(
                r"(总结|小结|回顾|学到了什么|收获|谁能说说|归纳|练习|检测|summar|what did we learn)",
                u.text,
                re.I,
            )
            or c.makes(*CLOSING_MOVES) is not None
        )
    ]
    goal = min(1.0, len(checks) / 2) * 0.7 + (0.3 if q.count else 0.0)
    # no check found: cite the last teacher lines that were searched, so a trainer can confirm
    searched = [u for u in tail if u.speaker_role == "teacher"][-3:] or tail[-2:]
    span = f"第{tail[0].line_no}–{tail[-1].line_no}行" if tail else "末段"
    not_found = [] if checks else [
        _ref(u, f"末段（{span}）未检测到总结或检测" + ("" if u.speaker_role == "teacher" else "；末段没有教师话语"))
        for u in searched
    ]  # fmt: skip
    out.append(DimensionScore(
        dimension="教学目标达成", competency="PRC-GOAL", score=banded(goal, (0.2, 0.4, 0.6, 0.85)),
        measure=Measures(closing_checks=len(checks)),
        norm="实录末段有总结或检测（2 处及以上记满分，权重 0.7）且课中有提问（0.3）；仅凭实录判断目标达成，置信度低"
        + ("" if ms is None else "；末段被话语编码模型判为“归纳总结/回顾旧知”的教师话语也计为总结"),
        confidence=0.35,
        evidence=[_move_ref(u, m) if (m := code_of[id(u)].makes(*CLOSING_MOVES)) is not None
                  else _ref(u, "末段总结/检测") for u in checks[:2]] + not_found,
    ))  # fmt: skip
    return out


_MEASURABLE = (
    "能",
    "会",
    "说出",
    "写出",
    "列举",
    "解释",
    "运用",
    "设计",
    "比较",
    "归纳",
    "完成",
    "判断",
    "表达",
    "概括",
    "画出",
)
_VAGUE = ("了解", "理解", "掌握", "体会", "感受", "培养", "提高", "渗透")
_LEARNER = (
    "已有",
    "已经",
    "前测",
    "基础",
    "困难",
    "易错",
    "差异",
    "问卷",
    "数据",
    "经验",
    "学生在",
)
_STUDENT_ACTIVITY = ("学生", "小组", "讨论", "探究", "合作", "练习", "展示", "交流", "汇报", "动手")
_ASSESS = (
    "评价标准",
    "量规",
    "自评",
    "互评",
    "评价表",
    "达成",
    "检测",
    "观察",
    "表现",
    "等级",
    "星",
)
_HOMEWORK = ("分层", "基础", "拓展", "选做", "必做", "实践", "分钟", "弹性", "个性")


def _plan_evidence(plan: LessonPlan, key: str, cues: Sequence[str]) -> list[Evidence]:
    """Up to two quotes from the section with the scoring cues (else its first sentence), each
    with the line it stands on."""
    text = plan.sections.get(key, "")
    sentences = [s.strip() for s in re.split(r"[。\n；;]", text) if s.strip()]
    quotes = [s for s in sentences if any(c in s for c in cues)][:2] or sentences[:1]
    return [Evidence(section=key, line=plan.line_of(key, q), quote=q[:80]) for q in quotes]


def score_lesson_plan(plan: LessonPlan) -> list[DimensionScore]:
    """Six lesson-plan dimensions from the detected sections (a missing section scores 1)."""
    out: list[DimensionScore] = []
    for key, comp in PLAN_DIMENSIONS.items():
        # sub-headings such as "重点：" / "难点：" belong to the section's text for scoring
        titles = [h for _, h, k in plan.headings if k == key]
        text = "\n".join([*titles[1:], plan.sections.get(key, "")]) if key in plan.sections else ""
        chars = len(re.sub(r"\s", "", text))
        if not text:
            out.append(DimensionScore(dimension=key, competency=comp, score=1, measure=Measures(present=False),
                                      norm="缺少该部分记 1 分", confidence=0.9,
                                      evidence=[Evidence(section=key, line=None, quote="（未检测到该部分）")]))  # fmt: skip
            continue
        cues: Sequence[str]
        if key == "教学目标":
            good, vague = (
                sum(text.count(w) for w in _MEASURABLE),
                sum(text.count(w) for w in _VAGUE),
            )
            value, measure, norm, cues = (
                good / (good + vague) if good + vague else 0.3,
                Measures(measurable_verbs=good, vague_verbs=vague),
                "可观测行为动词（说出、解释、运用…）占目标动词的比例，每 20% 一档",
                _MEASURABLE,
            )
        elif key == "学情分析":
            hits = sum(w in text for w in _LEARNER)
            value, measure, norm, cues = (
                min(1.0, hits / 5),
                Measures(cues=hits),
                "提到已有基础、困难/易错、差异、前测数据等 5 类学情证据记满分",
                _LEARNER,
            )
        elif key == "教学重难点":
            both = ("重点" in text) + ("难点" in text)
            value, measure, norm, cues = (
                0.35 * both + 0.3 * ("突破" in text or "策略" in text),
                Measures(has_key_and_difficult=both, strategy="突破" in text or "策略" in text),
                "同时写明重点与难点（各 0.35）并说明突破策略（0.3）",
                ("重点", "难点", "突破"),
            )
        elif key == "教学过程":
            student = sum(text.count(w) for w in _STUDENT_ACTIVITY)
            teacher = text.count("讲解") + text.count("讲授") + text.count("教师讲")
            steps = len(re.findall(r"(环节|活动|第[一二三四五六]|^\s*\d+[.、])", text, re.M))
            value = (
                0.5 * min(1.0, student / max(1, student + teacher) / 0.7)
                + 0.3 * min(1.0, steps / 4)
                + 0.2 * ("分钟" in text)
            )
            measure, norm, cues = (
                Measures(student_activity_words=student, lecture_words=teacher, steps=steps),
                "学生活动占比达 70%、4 个以上环节、标注时间分配记满分（0.5:0.3:0.2）",
                _STUDENT_ACTIVITY,
            )
        elif key == "评价设计":
            hits = sum(w in text for w in _ASSESS)
            value, measure, norm, cues = (
                min(1.0, hits / 4),
                Measures(cues=hits),
                "写明评价标准/量规、评价方式（自评互评、观察、检测）等 4 类要素记满分",
                _ASSESS,
            )
        else:
            hits = sum(w in text for w in _HOMEWORK)
            value, measure, norm, cues = (
                min(1.0, hits / 4),
                Measures(cues=hits),
                "分层（基础/拓展/选做）、实践性、时长控制等 4 类要素记满分",
                _HOMEWORK,
            )
        length_ok = min(1.0, chars / 60)  # a one-line section cannot carry much
        measure.chars = chars
        out.append(DimensionScore(dimension=key, competency=comp,
                                  score=banded(value * (0.6 + 0.4 * length_ok), (0.2, 0.4, 0.6, 0.8)),
                                  measure=measure, norm=norm, confidence=round(0.5 + 0.4 * length_ok, 2),
                                  evidence=_plan_evidence(plan, key, cues)))  # fmt: skip
    return out
