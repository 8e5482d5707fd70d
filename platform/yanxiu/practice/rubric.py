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
| 反馈评价 | evidence only (issue 20): the share of responses making a 表扬激励 or 引导启发 move; once feedback was judged by what it does, weighting it narrowed the dialogic − lecture gap |
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
    question_stats,
    talk_share,
    timeline,
    wait_times,
)
from yanxiu.practice.parse import Utterance
from yanxiu.practice.responses import (
    Response,
    closing_checks,
    effective_questions,
    responses,
    stamp,
    substantial,
)
from yanxiu.practice.rubric_plan import (  # re-exported: the plan rubric's home is rubric_plan
    PLAN_DIMENSIONS as PLAN_DIMENSIONS,
)
from yanxiu.practice.rubric_plan import banded as banded
from yanxiu.practice.rubric_plan import score_lesson_plan as score_lesson_plan
from yanxiu.practice.talk_codes import MIN_MOVE_PROB, TurnCode

TRANSCRIPT_DIMENSIONS = {
    "提问质量": "PRC-QUES", "学生参与": "PRC-ENGAGE", "反馈评价": "PRC-FEEDBACK",
    "课堂互动": "PRC-DIALOG", "思维深度": "PRC-THINK", "教学目标达成": "PRC-GOAL",
}  # fmt: skip
GENERIC_FEEDBACK = re.compile(
    r"^(好|嗯|对|行|可以|OK|ok|Good|good)[，,。.！!]?(坐下|请坐|下一个|还有吗|next)?[。.！!]?$"
)
GENERIC_OPENING = re.compile(
    r"^(好|嗯|对|行|OK|ok|Good|good)[，,。.！!]\s*(坐下|请坐|下一个|还有吗|还有谁|next|sit down)",
    re.I,
)
_COLLABORATIVE = re.compile(
    r"(小组|同桌|合作|讨论|互相|互改|互评|work in groups|in pairs|discuss|survey)", re.I
)
_HIGHER_TASK = re.compile(
    r"(比较|设计|为什么|证据|依据|立场|辩论|评价|哪种更|探究|各表达了|survey|compare|design|why)",
    re.I,
)
_GROUP_LABEL = re.compile(r"组|group", re.I)
_HOMEWORK = re.compile(r"(作业|课后|回家|homework)", re.I)
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
    "依据",
    "证据",
    "发现",
    "同意",
    "补充",
    "回应",
    "because",
    "so ",
    "i think",
    "i agree",
    "we found",
    "if ",
)


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
    utts: Sequence[Utterance],
    codes: Sequence[TurnCode],
    st: STResult,
    judged: Sequence[Response] | None = None,
) -> list[DimensionScore]:
    """Six transcript dimensions from the coded turns and the lesson metrics.

    ``judged``: the teacher responses (:func:`~yanxiu.practice.responses.responses`), computed
    here (with the sentence encoder) when not given.
    """
    items, kinds = effective_questions(utts, codes)
    q = question_stats(items)
    timed = not st.estimated
    teacher_qs = [x for x in items if x.is_question and x.utterance.speaker_role == "teacher"]
    judged = list(responses(utts) if judged is None else judged)
    share = talk_share(utts)
    students = [u for u in utts if u.speaker_role != "teacher" and not u.is_action]
    initiations = [u for u, c in zip(utts, codes, strict=True) if c.fias == 9]
    speakers = {
        u.speaker_label for u in students if u.speaker_label not in ("生", "众生", "S", "学生")
    }
    out: list[DimensionScore] = []
    ms = move_stats(utts, codes)
    stretch = teacher_stretch(utts)  # cited by several dimensions' evidence
    code_of = {id(u): c for u, c in zip(utts, codes, strict=True)}

    # 提问质量: genuine questions only (self-answered and unanswered ones are not asked)
    open_share, higher = q.open_share or 0.0, q.higher_order_share or 0.0
    open_qs = [x for x in teacher_qs if x.is_open]
    guidance = None if ms is None else ms.share("guidance")
    quality = (
        0.35 * min(1.0, open_share / 0.5)
        + 0.35 * min(1.0, higher / 0.4)
        + 0.3 * min(1.0, len(open_qs) / 4)
    )
    quality_score = 1 if not teacher_qs else max(2, banded(quality, (0.2, 0.4, 0.6, 0.8)))
    best = sorted(teacher_qs, key=lambda x: (not x.is_open, x.bloom in ("记忆", "理解")))
    not_asked = [u for u in utts if kinds.get(u.index) in ("self-answered", "unanswered")]
    measure = Measures(questions=q.count, open_share=q.open_share,
                       higher_order_share=q.higher_order_share, bloom=q.bloom)  # fmt: skip
    if not_asked:
        measure.rhetorical_questions = len(not_asked)
    if guidance is not None:
        measure.guidance_share = round(guidance, 3)
    kind_zh = {
        "self-answered": "自问自答，不计为提问",
        "unanswered": "无人回答（设问），不计为提问",
    }
    out.append(DimensionScore(
        dimension="提问质量", competency="PRC-QUES", score=quality_score, measure=measure,
        norm="只计学生得以回答的真问题（自问自答、无人回答的设问不计；齐答一词的问题计为封闭）："
        "开放性问题占比达 50%、高阶问题占比达 40%、开放问题 4 个以上记满分（0.35:0.35:0.3）；有真问题至少 2 分"
        + ("" if ms is None else "；话语编码模型判为“引导启发”的教师话轮占比列为证据，不计分"),
        confidence=_confidence(q.count, 12, timed=True),
        evidence=[_ref(x.utterance, ("开放" if x.is_open else "封闭") + f"·{x.bloom}") for x in (best[:2] + best[-2:] if len(best) > 4 else best)]
        + [_ref(u, kind_zh[kinds[u.index]]) for u in not_asked[:2]]
        + ([] if teacher_qs else _stretch_ref(utts, stretch, "全课未检测到教师提问；"))
        + ([] if ms is None else ms.examples("guidance", k=2)),
    ))  # fmt: skip

    # 学生参与: time, who speaks, initiations, and the class working together
    builds = [b for a, b in zip(utts, utts[1:], strict=False)
              if a.speaker_role != "teacher" and b.speaker_role != "teacher" and not a.is_action and not b.is_action]  # fmt: skip
    student_time = share.student_time or 0.0
    collaborative = [
        u
        for u in utts
        if _COLLABORATIVE.search(u.text) and (u.is_action or u.speaker_role == "teacher")
    ]
    group_speakers = {u.speaker_label for u in students if _GROUP_LABEL.search(u.speaker_label)}
    engage = (
        0.35 * min(1.0, student_time / 0.5)
        + 0.25 * min(1.0, len(speakers) / 6)
        + 0.2 * min(1.0, (len(initiations) + len(group_speakers) + len(builds)) / 3)
        + 0.2 * min(1.0, len(collaborative) / 1)
    )  # fmt: skip
    engage_score = banded(engage, (0.25, 0.45, 0.65, 0.82))
    heard = [
        _ref(u, f"学生发言 {k}/{len(students)}" + ("（集体）" if u.speaker_role == "students" else ""))
        for k, u in enumerate(students[:3], 1)
    ] or [_ref(utts[0], "全课没有学生发言")]  # fmt: skip
    out.append(DimensionScore(
        dimension="学生参与", competency="PRC-ENGAGE", score=engage_score,
        measure=Measures(student_time_share=share.student_time, named_student_speakers=len(speakers),
                         student_initiations=len(initiations), student_turns=len(students),
                         collaborative_activities=len(collaborative)),
        norm="学生时间占比 50%、6 名以上不同学生发言、3 次以上学生主动发起或小组汇报、有小组/同桌合作活动记满分"
        "（0.35:0.25:0.2:0.2；未转写的练习空档计为学生时间）",
        confidence=_confidence(len(students), 15, timed=timed),
        evidence=_weak_first(engage_score, [_ref(u, "学生主动发起") for u in initiations[:2]]
                             + [_ref(u, "合作学习活动") for u in collaborative[:1]], _stretch_ref(utts, stretch) + heard),
    ))  # fmt: skip

    # 反馈评价: judged from what the response does, not its length
    to_individuals = [
        r for r in judged if r.student.speaker_role == "student" or substantial(r.student)
    ]
    specific = [r for r in to_individuals if r.kind != "generic"]
    generic = [r for r in judged if r.kind == "generic"]
    specific_share = len(specific) / len(to_individuals) if to_individuals else None
    uptakes = [r for r in judged if r.uptake]
    uptake_rate = len(uptakes) / len(judged) if judged else None
    responsive = None
    responded = [
        (r.teacher, code_of[id(r.teacher)])
        for r in to_individuals
        if code_of[id(r.teacher)].sentence_moves
    ]
    if responded:
        responsive = sum(c.makes("commending", "guidance") is not None for _, c in responded) / len(
            responded
        )
    # the coder's 表扬激励/引导启发 share is evidence only: with feedback judged by content it
    # narrowed the dialogic − lecture gap on the content's cases (2.17 → 2.00 at weight 0.1)
    feedback = (
        0.4 * min(1.0, len(specific) / 4)
        + 0.3 * (specific_share or 0.0)
        + 0.3 * min(1.0, (uptake_rate or 0.0) / 0.3)
    )
    feedback_score = 1 if not to_individuals else banded(feedback, (0.2, 0.4, 0.6, 0.8))
    if len(to_individuals) >= 2:
        feedback_score = max(2, feedback_score)  # it answers individuals, if only by "对"
    zh = {
        "probe": "追问学生的回答",
        "uptake": "接续学生观点",
        "evaluative": "具体评价（指出好在哪里或还缺什么）",
    }
    measure = Measures(feedback_turns=len(judged), generic=len(generic),
                       specific_share=specific_share, uptake_rate=uptake_rate)  # fmt: skip
    if ms is not None:
        measure.commending_or_guidance_after_student = (
            None if responsive is None else round(responsive, 3)
        )
        measure.commending_share = round(ms.share("commending"), 3)
    out.append(DimensionScore(
        dimension="反馈评价", competency="PRC-FEEDBACK", score=feedback_score, measure=measure,
        norm="对个别学生回答的具体反馈（追问、接续、指出好在哪里或缺什么；“对，坐下”“好”不算，与长短无关）"
        "4 次（0.4）、其占比（0.3）与接续率达 30%（0.3）记满分"
        + ("" if ms is None else "；话语编码模型判为“表扬激励/引导启发”的回应占比列为证据，不计分")
        + "；有两次以上对个别学生的回应至少 2 分",
        confidence=_confidence(len(judged), 12, timed=True),
        evidence=_weak_first(feedback_score,
                             [_ref(r.teacher, f"{zh[r.kind]}：回应{stamp(r.student)}学生发言" + (f"；{r.quote}" if r.quote else "")) for r in specific[:3]]
                             + [_move_ref(t, m) for t, c in responded if (m := c.makes("commending")) is not None][:2],
                             [_ref(r.teacher, f"笼统反馈：回应{stamp(r.student)}学生发言") for r in generic[:3]])
        + ([] if judged else _stretch_ref(utts, stretch, "没有学生发言可回应；")),
    ))  # fmt: skip

    # 课堂互动: S-T conversion, uptake of student ideas, students answering each other
    probes = [r for r in judged if r.kind == "probe"]
    dialog = (
        0.3 * min(1.0, st.ch / 0.4)
        + 0.3 * min(1.0, (uptake_rate or 0.0) / 0.3)
        + 0.2 * min(1.0, len(probes) / 3)
        + 0.2 * min(1.0, len(builds) / 2)
    )
    dialog_score = banded(dialog, (0.2, 0.4, 0.6, 0.8))
    moved_on = [
        _ref(r.teacher, f"未接续第{r.student.line_no}行学生发言")
        for r in sorted(judged, key=lambda r: r.kind != "generic")
        if not r.uptake and r.kind != "probe"
    ][:3]
    taken_up = [
        _ref(r.teacher, "接续：" + (r.quote or f"回应{stamp(r.student)}学生发言"))
        for r in uptakes[:3]
    ]
    out.append(DimensionScore(
        dimension="课堂互动", competency="PRC-DIALOG", score=dialog_score,
        measure=Measures(ch=st.ch, rt=st.rt, mode=st.mode, uptake_rate=uptake_rate,
                         uses_student_ideas=len(uptakes), probes=len(probes), student_builds=len(builds)),
        norm="S-T 转换率 Ch 达 0.4（0.3）、教师接续学生观点达 30%（0.3，语义相似度）、追问 3 次（0.2）、学生之间相互回应 2 次（0.2）记满分",
        confidence=_confidence(len(utts), 40, timed=timed),
        evidence=_weak_first(dialog_score, taken_up + [_ref(u, "学生接着同学发言") for u in builds[:1]],
                             moved_on + _stretch_ref(utts, stretch)),
    ))  # fmt: skip

    # 思维深度: higher-order genuine questions, students giving reasons, wait time
    reasoning = [u for u in students if any(w in u.text.lower() for w in REASONING)]
    wait_of = {w.question: w.seconds for w in wait_times(items)}
    waits = list(wait_of.values())
    mean_wait = sum(waits) / len(waits) if waits else None
    # higher-order prompts: genuine questions, and tasks set to groups that ask for analysis,
    # judgement or design ("比较哪种方法更简便", "设计实验")
    tasks = [
        u for u in collaborative if u.speaker_role == "teacher" and _HIGHER_TASK.search(u.text)
    ]
    high_n = sum(x.bloom in HIGHER_ORDER for x in teacher_qs) + len(tasks)
    think = (
        0.35 * min(1.0, high_n / 3)
        + 0.5 * min(1.0, len(reasoning) / 4)
        + 0.15 * min(1.0, (mean_wait or 0) / 3.0)
    )
    think_score = banded(think, (0.2, 0.4, 0.6, 0.8))
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
        dimension="思维深度", competency="PRC-THINK", score=think_score, measure=measure,
        norm="高阶真问题 3 个（0.35）、学生说理（因为/我认为/依据/because…）的发言 4 次（0.5）、"
        "平均候答（问题结束到学生开口）3 秒（0.15）记满分；按次数而非占比，一两个好问题撑不起整节课"
        + ("" if ms is None else "；含“引导启发/归纳总结/举例说明/回顾旧知”的教师话轮占比列为证据，不计分"),
        confidence=_confidence(len(students), 15, timed=bool(waits)),
        evidence=_weak_first(think_score,
                             [_ref(u, "学生说理") for u in reasoning[:3]]
                             + ([] if ms is None else ms.examples("summarization", "example-giving", "reviewing", k=2)),
                             shallow),
    ))  # fmt: skip

    # 教学目标达成: in-class checks, never the homework
    found = closing_checks(utts, kinds)
    checks = found.items
    summary = found.teacher_summary or next(
        (u for u in utts[int(len(utts) * 0.6) :]
         if u.speaker_role == "teacher" and code_of[id(u)].makes(*CLOSING_MOVES) is not None),
        None,
    )  # fmt: skip  # the coder's 归纳总结/回顾旧知 move late in the lesson is a summary too
    own_summary = any(what == "学生自我小结" for _, what in checks)
    goal_score = 1 + (summary is not None) + min(2, len(checks))
    goal_score = min(5, goal_score + (len(checks) >= 3 and own_summary))
    if not teacher_qs and not checks:
        goal_score = min(goal_score, 2)
    start = int(len(utts) * 0.6)
    tail = utts[start:]
    searched = [u for u in tail if u.speaker_role == "teacher"][-3:] or tail[-2:]
    span = f"第{tail[0].line_no}–{tail[-1].line_no}行" if tail else "末段"
    not_found = [] if checks else [
        _ref(u, f"末段（{span}）未检测到总结或检测" + ("" if u.speaker_role == "teacher" else "；末段没有教师话语"))
        for u in searched
    ]  # fmt: skip
    homework = [u for u in tail if u.speaker_role == "teacher" and _HOMEWORK.search(u.text)]
    out.append(DimensionScore(
        dimension="教学目标达成", competency="PRC-GOAL", score=goal_score,
        measure=Measures(closing_checks=len(checks), teacher_summary=summary is not None),
        norm="课上检测目标的证据：后段由个别学生实质回答的提问、练习的当堂反馈订正、学生自我小结，每处 1 分（至多 2 分），"
        "教师小结 1 分，基础 1 分；3 处以上且含学生自我小结再加 1 分；布置课后作业不算当堂检测；仅凭实录判断，置信度低",
        confidence=0.4,
        evidence=[_ref(u, what) for u, what in checks[:3]]
        + ([_move_ref(summary, m) if (m := code_of[id(summary)].makes(*CLOSING_MOVES)) else _ref(summary, "教师小结")]
           if summary is not None else [])
        + not_found
        + [_ref(u, "布置作业（不计为当堂检测）") for u in homework[:1]],
    ))  # fmt: skip
    return out
