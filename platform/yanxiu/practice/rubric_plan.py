"""Lesson-plan rubric: six dimensions (教学目标 … 作业设计) scored from the detected sections.

Every score lists the evidence (the section's heading line and a quote), a confidence in
[0, 1] (less text, less confidence) and the norm that turned the measure into a score. A
present section scores at least 2 (a vague section is still a section); a plan whose sections
were guessed from one paragraph (:attr:`LessonPlan.guessed`) scores at most 3 on each, with
lower confidence, since its structure is an inference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from yanxiu.practice.draft import DimensionScore, Evidence, Measures
from yanxiu.practice.parse import LessonPlan

PLAN_DIMENSIONS = {
    "教学目标": "PRC-GOAL", "学情分析": "PRC-LEARNER", "教学重难点": "PRC-KEY",
    "教学过程": "PRC-PROCESS", "评价设计": "PRC-ASSESS", "作业设计": "PRC-HOMEWORK",
}  # fmt: skip


def banded(value: float | None, cuts: Sequence[float]) -> int:
    """1 + the number of ascending ``cuts`` that ``value`` reaches (None scores 1)."""
    if value is None:
        return 1
    return 1 + sum(value >= c for c in cuts)


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
        score = max(2, banded(value * (0.6 + 0.4 * length_ok), (0.2, 0.4, 0.6, 0.8)))
        confidence = round(0.5 + 0.4 * length_ok, 2)
        if plan.guessed:  # sections inferred from one paragraph: no more than 3, less sure
            score, confidence = min(score, 3), round(confidence * 0.6, 2)
            norm += "；教案无小标题，该部分由句子和提示词推断，最高记 3 分"
        out.append(DimensionScore(dimension=key, competency=comp, score=score,
                                  measure=measure, norm=norm, confidence=confidence,
                                  evidence=_plan_evidence(plan, key, cues)))  # fmt: skip
    return out
