"""Subject and stage awareness (issue 20): subject indicators, subject-fitting suggestions,
and growth advice for lessons without a weakness.

The subject comes from the teacher's profile or ``yanxiu score --subject``. Indicators:

- 英语: the target-language share of the teacher's talk (and the students'): English words
  × 1.6 against Chinese characters (the units of :func:`speech_seconds`); an English lesson's
  suggestions are written for an English lesson (classroom English, recasts, pair work), never
  the Chinese-lesson wording (“因为……所以……”);
- 物理, 化学, 生物, 科学: which inquiry steps the lesson shows (猜想, 设计, 实验, 数据, 结论,
  交流);
- 数学: prompts for reasoning (为什么, 你是怎么想的, 依据);
- 语文: prompts back to the text (从哪里看出, 哪个词, 文中).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from yanxiu.practice.draft import SubjectIndicators
from yanxiu.practice.parse import Utterance

SCIENCE = ("物理", "化学", "生物", "科学", "地理")
INQUIRY_STEPS: dict[str, str] = {
    "提出问题": r"(提出问题|有什么问题|想研究|探究.{0,6}(什么|哪些))",
    "猜想假设": r"(猜想|猜测|假设|猜一猜|你猜)",
    "设计实验": r"(设计|方案|控制变量|对比实验|对照)",
    "进行实验": r"(实验|测量|动手|操作|观察|记录)",
    "分析数据": r"(数据|表格|示数|记录单|结果)",
    "得出结论": r"(结论|说明了|得出|发现)",
    "交流评价": r"(汇报|交流|评价|质疑|补充)",
}
_REASON_PROMPT = re.compile(
    r"(为什么|怎么想|你是怎么|依据|理由|怎么知道|怎么判断|why|how do you know)", re.I
)
_TEXT_PROMPT = re.compile(
    r"(从哪里看出|从哪儿看出|哪个词|哪句话|哪些词|文中|课文中|品读|批注|圈画|朗读)"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def subject_group(subject: str) -> str:
    """ "english", "science", "math", "chinese" or "" for other subjects."""
    s = (subject or "").strip()
    if s.startswith("英语") or s.lower() == "english":
        return "english"
    if s.startswith(SCIENCE):
        return "science"
    if s.startswith("数学"):
        return "math"
    if s.startswith("语文"):
        return "chinese"
    return ""


def _english_share(texts: Sequence[str]) -> float | None:
    en = sum(1.6 * len(_WORD.findall(t)) for t in texts)
    zh = sum(len(_CJK.findall(t)) for t in texts)
    return round(en / (en + zh), 3) if en + zh else None


def subject_indicators(utts: Sequence[Utterance], subject: str) -> SubjectIndicators | None:
    """The subject's indicators (None for a subject without any)."""
    group = subject_group(subject)
    if not group:
        return None
    teacher = [u.text for u in utts if u.speaker_role == "teacher" and not u.is_action]
    out = SubjectIndicators(subject=subject)
    if group == "english":
        out.target_language_share = _english_share(teacher)
        students = [u.text for u in utts if u.speaker_role != "teacher" and not u.is_action]
        out.student_target_language_share = _english_share(students)
    elif group == "science":
        text = "\n".join(u.text for u in utts)
        out.inquiry_steps = [
            step for step, pattern in INQUIRY_STEPS.items() if re.search(pattern, text)
        ]
    elif group == "math":
        out.reasoning_prompts = sum(bool(_REASON_PROMPT.search(t)) for t in teacher)
    else:
        out.text_evidence_prompts = sum(bool(_TEXT_PROMPT.search(t)) for t in teacher)
    return out


# suggestions written for an English lesson (the report is in Chinese, the examples English)
ENGLISH_SUGGESTIONS: dict[str, str] = {
    "提问质量": "本节课共提问 {questions} 次，开放性问题占 {open_pct}。建议把 Is it…? / Do you understand? 一类问题换成 Why do you think…? How would you…? What if…? 等开放问题，并在读后环节设计 1–2 个需要学生表达观点的问题。",
    "学生参与": "学生活动时间约占 {student_pct}。建议增加 pair work、group survey、role play 等全员开口说英语的活动，让更多学生用完整句子表达。",
    "反馈评价": "学生发言后的 {feedback_turns} 次回应中有 {generic} 次只是 Good / Right / Sit down。建议用 recast（自然重述正确说法）和追问 Can you say more? Why? 回应学生，指出语言用得好的地方。",
    "课堂互动": "S-T 转换率 Ch 为 {ch}，教学模式为{mode}。建议用 Do you agree with him? What would you add? 引导学生之间用英语相互回应，减少教师一问一答后直接讲解。",
    "思维深度": "高阶问题占 {higher_pct}，学生说理的发言 {reasoning} 次。建议鼓励学生用 I think… because… / In my opinion… 说明理由，阅读课多问 Why did the writer…?",
    "教学目标达成": "当堂检测 {checks} 处。建议下课前用 exit ticket（用两三句英语写出今天学到的表达）检测目标是否达成，而不只是布置课后作业。",
}
TARGET_LANGUAGE_MIN = 0.6  # an English lesson taught mostly in Chinese gets a suggestion


def english_language_suggestion(share: float | None) -> str | None:
    if share is None or share >= TARGET_LANGUAGE_MIN:
        return None
    return (
        f"教师课堂用语中英语约占 {share * 100:.0f}%。建议课堂指令、提问和反馈尽量用简单英语（Open your books. "
        "Work in pairs. Can you say more?），讲解语法时再辅以中文，逐步把英语用语提高到七成以上。"
    )


def inquiry_suggestion(steps: list[str] | None) -> str | None:
    if steps is None or len(steps) >= 5:
        return None
    missing = [s for s in INQUIRY_STEPS if s not in (steps or [])]
    return (
        f"本课体现的探究环节：{'、'.join(steps) or '无'}。建议补上{'、'.join(missing[:3])}等环节，"
        "让学生先猜想、再设计并动手验证，用数据得出结论。"
    )


# what to grow on when nothing is weak: the next step for a dimension already at 4–5
GROWTH: dict[str, str] = {
    "提问质量": "提问已较好。下一步可设计一个贯穿全课的核心问题，把零散的问题串成问题链，并留给学生提出问题的机会。",
    "学生参与": "参与面已较广。下一步可关注沉默的学生：用分层任务和小组角色分工让每个人都有必须完成的事。",
    "反馈评价": "反馈已较具体。下一步可把评价标准交给学生，让学生依据量规互评、自评，形成“学生评学生”的反馈。",
    "课堂互动": "互动已较充分。下一步可减少教师在每个学生发言后的“接话”，让学生之间直接回应、质疑和补充。",
    "思维深度": "思维训练已较好。下一步可安排需要迁移运用的开放任务，让学生在新情境中检验和修正自己的想法。",
    "教学目标达成": "目标检测已较充分。下一步可根据当堂检测结果即时调整教学，并把检测数据用于下一课的学情分析。",
    "教学目标": "目标表述已较清楚。下一步可为每条目标写出达成的证据（学生说什么、做什么算达到），与评价设计一一对应。",
    "学情分析": "学情分析已较具体。下一步可用前测或作业数据支撑判断，并据此设计分层的学习任务。",
    "教学重难点": "重难点已较清楚。下一步可为难点设计一个学生自己发现问题的活动，而不只是教师讲清楚。",
    "教学过程": "教学过程已较完整。下一步可写明每个环节的预设学生反应与教师的应对策略。",
    "评价设计": "评价设计已较完整。下一步可设计学生能读懂的量规，并安排课中的形成性评价节点。",
    "作业设计": "作业设计已较好。下一步可加入真实情境的实践性作业，并说明如何反馈作业结果。",
}
