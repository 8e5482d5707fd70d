"""From a parsed record to an AI-drafted diagnosis that a trainer reviews.

The draft holds the lesson analytics (S-T, FIAS, questions, wait time, talk share, uptake),
the rubric scores with their evidence, and a Chinese report: strengths, priority weaknesses
with evidence, concrete suggestions, and catalog resources found through semantic search. It
is marked AI-generated with the model version and never reaches the teacher before review.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from yanxiu.practice.coder import UtteranceCoder
from yanxiu.practice.draft import (
    DiagnosisDraft,
    DimensionScore,
    Evidence,
    FiasSummary,
    Heading,
    LessonAnalytics,
    Measures,
    MoveSummary,
    PlanAnalytics,
    Report,
    ResourceLink,
    Strength,
    SubjectIndicators,
    Suggestion,
    TranscriptAnalytics,
    TurnCodeRecord,
    WaitTimes,
    Weakness,
)
from yanxiu.practice.lesson_metrics import (
    expand_fias,
    fias_matrix,
    fias_ratios,
    fias_regions,
    gap_summary,
    question_stats,
    segment_shares,
    speech_spans,
    st_analysis,
    talk_share,
    timeline,
    wait_times,
)
from yanxiu.practice.parse import LessonPlan, Utterance
from yanxiu.practice.responses import Response, effective_questions, responses, semantic_uptake
from yanxiu.practice.rubric import move_stats, score_lesson_plan, score_transcript
from yanxiu.practice.subjects import (
    ENGLISH_SUGGESTIONS,
    GROWTH,
    english_language_suggestion,
    inquiry_suggestion,
    subject_group,
    subject_indicators,
)
from yanxiu.practice.talk_codes import CoderChoice, TurnCode, code_turns, resolve_coder

# stored with each diagnosis (≤ 64 characters); a transcript coded by the learned DialogID
# coder gets ":coder-<first 8 of the model's sha256>" appended
MODEL_VERSION = "yanxiu-rubric-3 (rules v2, rubric v3)"  # v3: question rules, more evidence
# resources for a weakness: (competency id, query text, stage) -> catalog courses (no "for" yet)
ResourceFinder = Callable[..., list[ResourceLink]]  # (competency, query, stage[, subject])

SUGGESTIONS: dict[str, str] = {
    "提问质量": "本节课共提问 {questions} 次，开放性问题占 {open_pct}，高阶问题占 {higher_pct}。建议在新知形成和总结环节各设计 1–2 个“为什么/你是怎么判断的/还有别的方法吗”类问题，并把“对不对”“是不是”改为请学生说明理由。",
    "学生参与": "学生活动时间约占 {student_pct}，有名字记录的发言学生 {speakers} 人。建议增加同桌互说、小组汇报等全员参与的环节，点名时兼顾未发言的学生，并给学生提出疑问的机会。",
    "反馈评价": "学生发言后的 {feedback_turns} 次回应中，有 {generic} 次是“好，坐下”一类笼统反馈。建议指出回答好在哪里或还缺什么，并把学生的说法追问、转述给全班，形成“回答—追问—再回答”的链条。",
    "课堂互动": "S-T 转换率 Ch 为 {ch}，教学模式为{mode}。建议用“你同意他的说法吗？为什么？”引导学生之间相互回应，减少教师一问一答后立即讲解。",
    "思维深度": "高阶问题占 {higher_pct}，学生说理的话轮 {reasoning} 次，平均候答 {wait}。建议提问后留出 3–5 秒思考时间，追问“你的依据是什么”，让学生用“因为……所以……”完整表达思路。",
    "教学目标达成": "实录末段检测到 {checks} 处总结或检测。建议在课尾用 1–2 道与目标对应的小题或“今天你学会了什么”请学生自己小结，以便判断目标是否达成。",
    "教学目标": "目标中可观测的行为动词 {measurable} 个、笼统动词（了解、理解、掌握…）{vague} 个。建议用“能说出/能运用……解决……”等可检测的表述，写明条件与达成程度。",
    "学情分析": "学情分析中提到的学情证据较少。建议写明学生已有的知识经验、可能的困难和易错点、学生之间的差异，最好附上前测或作业数据。",
    "教学重难点": "建议分别写明教学重点和难点，并说明用什么活动或策略突破难点。",
    "教学过程": "建议按环节写清楚学生做什么、教师做什么和时间分配，让学生活动占主要部分。",
    "评价设计": "建议写明与目标对应的评价标准（量规或等级描述）和评价方式（观察、检测、自评互评）。",
    "作业设计": "建议设计基础、拓展等分层作业，注明预计完成时间，并适当加入实践性作业。",
}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def model_version(coder: UtteranceCoder | None) -> str:
    """The version recorded with a diagnosis: the rubric's, plus the coder's."""
    tag = coder.version if coder is not None else None
    return f"{MODEL_VERSION}:coder-{tag}" if tag else MODEL_VERSION


def analyse_transcript(
    utts: Sequence[Utterance],
    *,
    coder: CoderChoice = "default",
    gaps: str = "student",
    judged: Sequence[Response] | None = None,
) -> tuple[TranscriptAnalytics, list[TurnCode]]:
    """All lesson analytics of a transcript, and the per-turn codes.

    ``coder``: the DialogID utterance coder for teacher turns; ``"default"`` loads the shipped
    one once per process (rule codes only if its files are missing), None skips it.
    """
    model = resolve_coder(coder)
    codes = code_turns(utts, coder=model)
    items, kinds = effective_questions(utts, codes)
    judged = list(responses(utts) if judged is None else judged)
    st = st_analysis(utts, gaps=gaps)
    estimated = timeline(utts)[1]
    spans, ends_guessed = speech_spans(utts)
    fias_seq = expand_fias([(c.fias, s, e) for c, (s, e) in zip(codes, spans, strict=True)])
    matrix = fias_matrix(fias_seq)
    waits = wait_times(items)
    analytics = TranscriptAnalytics(
        utterances=len(utts),
        timestamps=not estimated,
        st=st.summary(),
        fias=FiasSummary(matrix=matrix, ratios=fias_ratios(fias_seq), regions=fias_regions(matrix), n=len(fias_seq)),
        questions=question_stats(items),
        uptake=semantic_uptake(judged),
        wait_times=WaitTimes(items=waits, mean_s=sum(w.seconds for w in waits) / len(waits) if waits else None),
        talk_share=talk_share(utts, gaps),
        turn_codes=[TurnCodeRecord(utterance=u.index, fias=c.fias, question=c.is_question, open=c.is_open,
                                   bloom=c.bloom, cues=list(c.cues),
                                   move=None if c.move is None else c.move.name,
                                   move_zh=None if c.move is None else c.move.zh,
                                   move_prob=None if c.move is None else c.move.prob,
                                   move_sentence=None if c.move is None or c.move.text == u.text else c.move.text)
                    for u, c in zip(utts, codes, strict=True)],
    )  # fmt: skip
    ms = move_stats(utts, codes)
    if ms is not None:
        analytics.moves = ms.summary()
    elif model is None:
        analytics.moves = MoveSummary(available=False, note="未加载话语编码模型（models/utterances），教师话语的对话行为未编码，仅用规则编码")  # fmt: skip
    else:
        analytics.moves = MoveSummary(available=False, note="话语编码模型只适用于中文：本实录的教师话语未编码对话行为")  # fmt: skip
    if (segments := segment_shares(utts, gaps)) is not None:
        analytics.segments = segments
    gap = gap_summary(utts, gaps)
    if gap is not None:
        analytics.gaps = gap
    if estimated:
        analytics.notes = [
            "实录没有时间戳：S-T 采样与候答时间按发言字数估算（约每秒 4 字），仅供参考"
        ]
    elif ends_guessed:
        analytics.notes = [
            "实录只有开始时间：每句的说话时长按字数估算（约每秒 4 字），到下一句开始前的空档"
            "计为沉默（FIAS 代码 10）和候答时间，仅供参考"
        ]
    if gap is not None:
        how = (
            "计为学生活动或沉默（S-T 记 S，FIAS 记 10），不计为教师讲话"
            if gaps == "student"
            else "按审核意见计为前一位说话人的时间"
        )
        analytics.notes = [
            *analytics.notes,
            f"实录中有 {gap.count} 处超过 15 秒的未转写空档（共约 {gap.seconds / 60:.1f} 分钟），"
            f"出现在布置练习、提问或学生发言之后，{how}；若空档中其实是教师讲解，"
            "请在审核时更正（命令行：--gaps teacher）",
        ]
    return analytics, codes


def suggestion_text(dimension: str, m: Measures, subject: str = "") -> str:
    """The concrete suggestion for a dimension, filled in with the lesson's own measures (an
    English lesson gets the English-lesson wording)."""
    values = {
        "questions": m.questions or 0, "open_pct": _pct(m.open_share), "higher_pct": _pct(m.higher_order_share),
        "student_pct": _pct(m.student_time_share), "speakers": m.named_student_speakers or 0,
        "feedback_turns": m.feedback_turns or 0, "generic": m.generic or 0, "ch": f"{m.ch or 0:.2f}",
        "mode": m.mode or "", "reasoning": m.reasoning_turns or 0,
        "wait": "—" if m.mean_wait_s is None else f"{m.mean_wait_s:.1f} 秒", "checks": m.closing_checks or 0,
        "measurable": m.measurable_verbs or 0, "vague": m.vague_verbs or 0,
    }  # fmt: skip
    english = subject_group(subject) == "english" and dimension in ENGLISH_SUGGESTIONS
    return (ENGLISH_SUGGESTIONS[dimension] if english else SUGGESTIONS[dimension]).format(**values)


# below this rubric confidence a strength is reported as an inference, not a finding
UNSURE_BELOW = 0.5


def strength(
    dimension: str, score: int, evidence: Sequence[Evidence], confidence: float = 1.0
) -> Strength:
    """One listed strength; a trainer's score counts as sure."""
    unsure = "；仅凭现有材料推断，置信度低" if confidence < UNSURE_BELOW else ""
    return Strength(dimension=dimension, score=score, evidence=list(evidence[:2]),
                    text=f"{dimension}表现较好（{score} 分{unsure}）")  # fmt: skip


def summary_line(strengths: Sequence[str], weaknesses: Sequence[str], growth: str = "") -> str:
    """The report's one-line summary: strengths and priority weaknesses by dimension (and,
    with no weakness, the dimension to grow on)."""
    grow = f"；发展方向：{growth}" if growth and not weaknesses else ""
    return (
        f"优势：{'、'.join(strengths) or '暂无突出项'}；"
        f"优先改进：{'、'.join(weaknesses) or '无明显短板'}{grow}。"
    )


def priority_weaknesses(scored: Mapping[str, tuple[int, float]]) -> list[str]:
    """The dimensions a report names to work on, from {dimension: (score, confidence)}: up to
    three at 2 points or below, lowest and surest first; with none, the weakest at 3 points.
    The AI draft and a trainer's edit (yanxiu.practice.service) apply the same rule."""
    ranked = sorted(scored, key=lambda n: (scored[n][0], -scored[n][1]))
    return [n for n in ranked if scored[n][0] <= 2][:3] or [
        n for n in ranked[:1] if scored[n][0] == 3
    ]


def draft_report(
    scores: Sequence[DimensionScore],
    *,
    stage: str,
    find_resources: ResourceFinder | None,
    model_version: str = MODEL_VERSION,
    subject: str = "",
    indicators: SubjectIndicators | None = None,
) -> Report:
    """Strengths, priority weaknesses with evidence, suggestions and resources (Chinese).

    The suggestions fit the subject (an English lesson's are written for an English lesson;
    a low target-language share or missing inquiry steps add one); a lesson with no weakness
    gets growth advice on its lowest dimension; resources are searched for the teacher's stage
    and subject."""
    # best first, the surer of two equal scores first; a strength the rubric can hardly see
    # (教学目标达成 from a transcript alone) says so, for the trainer and the teacher
    strengths = [
        strength(d.dimension, d.score, d.evidence, d.confidence)
        for d in sorted(scores, key=lambda d: (-d.score, -d.confidence)) if d.score >= 4
    ][:3]  # fmt: skip
    by_name = {d.dimension: d for d in scores}
    weak = [
        by_name[n]
        for n in priority_weaknesses({d.dimension: (d.score, d.confidence) for d in scores})
    ]
    weaknesses: list[Weakness] = []
    suggestions: list[Suggestion] = []
    resources: list[ResourceLink] = []

    def find(d: DimensionScore) -> None:
        if find_resources is None:
            return
        query = f"{subject}{d.dimension} 提升方法"
        found = (
            find_resources(d.competency, query, stage, subject)
            if subject
            else find_resources(d.competency, query, stage)
        )
        resources.extend(r.for_(d.dimension) for r in found[:2])

    for d in weak:
        severity = round(min(1.0, (3.5 - d.score) / 2.5) * d.confidence**0.5, 2)
        weaknesses.append(Weakness(dimension=d.dimension, competency=d.competency, score=d.score, severity=severity,
                                   evidence=d.evidence[:3],
                                   text=f"{d.dimension}{'有待加强' if d.score <= 2 else '相对薄弱'}（{d.score} 分）"))  # fmt: skip
        suggestions.append(
            Suggestion(dimension=d.dimension, text=suggestion_text(d.dimension, d.measure, subject))
        )
        find(d)
    growth = ""
    if not weak and scores:
        grow = min(scores, key=lambda d: (d.score, -d.confidence))
        growth = grow.dimension
        suggestions.append(
            Suggestion(dimension=grow.dimension, text=GROWTH.get(grow.dimension, ""))
        )
        find(grow)
    if indicators is not None:
        extra = english_language_suggestion(indicators.target_language_share) or inquiry_suggestion(
            indicators.inquiry_steps
        )
        if extra:
            suggestions.append(Suggestion(dimension=f"{indicators.subject}学科", text=extra))
    summary = summary_line(
        [s.dimension for s in strengths], [w.dimension for w in weaknesses], growth
    )
    return Report(summary=summary, strengths=strengths, weaknesses=weaknesses, suggestions=suggestions,
                  resources=resources, ai_generated=True, model_version=model_version)  # fmt: skip


def diagnose_transcript(
    utts: Sequence[Utterance],
    *,
    stage: str = "",
    subject: str = "",
    find_resources: ResourceFinder | None = None,
    calibration: Mapping[str, Mapping[int, int]] | None = None,
    coder: CoderChoice = "default",
    notes: Sequence[str] = (),
    gaps: str = "student",
) -> DiagnosisDraft:
    """Analytics, rubric scores and the Chinese report of a transcript (an AI draft).

    ``notes``: the parser's warnings (skipped lines, the speaker mapping), shown first.
    """
    model = resolve_coder(coder)
    judged = responses(utts)
    analytics, codes = analyse_transcript(utts, coder=model, gaps=gaps, judged=judged)
    indicators = subject_indicators(utts, subject)
    if indicators is not None:
        analytics.subject_indicators = indicators
    if notes:
        analytics.notes = [*notes, *analytics.notes]
    st = st_analysis(utts, gaps=gaps)
    scores = score_transcript(utts, codes, st, judged)
    used = model if any(c.move is not None for c in codes) else None
    return _package(
        scores, analytics, stage, find_resources, calibration, version=model_version(used),
        subject=subject, indicators=indicators,
    )  # fmt: skip


def diagnose_lesson_plan(
    plan: LessonPlan,
    *,
    stage: str = "",
    subject: str = "",
    find_resources: ResourceFinder | None = None,
    calibration: Mapping[str, Mapping[int, int]] | None = None,
) -> DiagnosisDraft:
    analytics = PlanAnalytics(sections={k: len(v) for k, v in plan.sections.items()}, missing_sections=plan.missing,
                              headings=[Heading(line=no, heading=h, section=k) for no, h, k in plan.headings])  # fmt: skip
    if plan.guessed:
        analytics.structure_guessed = True
    return _package(
        score_lesson_plan(plan), analytics, stage, find_resources, calibration, subject=subject
    )


def _package(
    scores: list[DimensionScore],
    analytics: LessonAnalytics,
    stage: str,
    find: ResourceFinder | None,
    calibration: Mapping[str, Mapping[int, int]] | None = None,
    *,
    version: str = MODEL_VERSION,
    subject: str = "",
    indicators: SubjectIndicators | None = None,
) -> DiagnosisDraft:
    for d in scores:  # what trainers have taught us (yanxiu train rubric), recorded visibly
        calibrated = (
            calibration.get(d.dimension, {}).get(d.score, d.score) if calibration else d.score
        )
        # raw_score is always recorded: the rule's score when calibration moved it, else None
        d.raw_score, d.score = (d.score if calibrated != d.score else None), calibrated
    confidence = round(sum(d.confidence for d in scores) / len(scores), 3) if scores else 0.0
    return DiagnosisDraft(
        scores={d.dimension: d for d in scores},
        analytics=analytics,
        report=draft_report(
            scores,
            stage=stage,
            find_resources=find,
            model_version=version,
            subject=subject,
            indicators=indicators,
        ),  # fmt: skip
        confidence=confidence,
        model_version=version,
    )
