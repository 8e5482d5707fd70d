"""Comparisons: a teacher's rubric scores over their lessons, and two lessons side by side.

- :func:`trend_page`: one teacher's transcript lessons in time order with their rubric scores
  (a Chart.js line chart and the same numbers as a table), for the teacher and for the trainers
  and admins whose :class:`~yanxiu.accounts.scope.Scope` covers them. Only reviewed scores are
  drawn (what a trainer accepted or edited, contested ones included, since the teacher reads
  them too); lessons still waiting are counted, never plotted.
- :func:`compare_lessons`: two transcript lessons side by side (before/after training for one
  teacher, or 同课异构: two teachers' lessons of the same topic), as a typed
  :class:`LessonComparison`: per-dimension scores with differences, S-T (Rt, Ch, mode), FIAS
  ratios, question, wait-time, feedback and uptake indicators, the 环节 timelines and the
  evidence quoted for each dimension.
- :func:`compare_picker`: the lessons the viewer may pick from, and the 同课异构 pairs.

Who sees what: a teacher compares only their own lessons, and only those whose diagnosis a
trainer reviewed (an unreviewed AI draft never reaches a teacher, here as on the record page);
a trainer or admin compares lessons of teachers in scope, and may include a draft still
waiting for review, marked as the AI's unreviewed score. Differences are always B − A.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, User
from yanxiu.accounts.scope import Scope
from yanxiu.errors import Conflict, Invalid, NotAllowed, NotFound
from yanxiu.practice.charts import (
    FIAS_RATIO_LABELS,
    PERCENT_RATIOS,
    ChartSpec,
    SegmentRow,
    clock,
    radar_spec,
    segment_rows,
    trend_spec,
)
from yanxiu.practice.draft import DimensionScore, Evidence, TranscriptAnalytics
from yanxiu.practice.models import Diagnosis, DiagnosisStatus, PracticeRecord, RecordKind
from yanxiu.practice.service import (
    SHOWN_TO_TEACHER,
    can_review,
    latest_diagnosis,
    latest_review,
    reviewed_view,
    status_label,
    stored_utterances,
)

NOT_TRANSCRIPT = "只能对比两节课堂实录（教学设计没有 S-T、FIAS 等课堂指标）。"
SAME_LESSON = "请选择两节不同的课。"
NOT_REVIEWED = "“{title}”的诊断尚未经培训者审核，审核后才能用于对比。"
NO_DIAGNOSIS = "“{title}”还没有可用的诊断（已退回或尚未分析），不能用于对比。"
RECORD_NOT_FOUND = "没有找到这份实践记录。"
EVIDENCE_PER_SIDE = 3

KIND_LABELS = {
    "before_after": "同一教师的两节课（前后对比）",
    "same_topic": "同课异构（不同教师、同一课题）",
    "two_teachers": "不同教师、不同课题",
}


# ---------------------------------------------------------------- topics


_BOOK_TITLE = re.compile(r"《([^》]+)》")
_TITLE_TAIL = re.compile(
    r"(（[^）]*）|\([^)]*\)|课堂实录片段|课堂实录|实录片段|实录|片段|第[一二三四五六七八九十\d]+课时|"
    r"新授课|复习课|练习课|教学设计|研修后重上|重上|\s)+$"
)


def topic_of(title: str) -> str:
    """The lesson's topic, for 同课异构: the first 《…》 in the title, else the title without
    trailing words such as 课堂实录片段, 第二课时 or a parenthesis."""
    found = _BOOK_TITLE.search(title)
    if found:
        return found.group(1).strip()
    return _TITLE_TAIL.sub("", title.strip()) or title.strip()


# ---------------------------------------------------------------- one lesson, as the viewer may see it


@dataclass(frozen=True)
class _Lesson:
    record: PracticeRecord
    teacher: User
    diagnosis: Diagnosis
    scores: dict[str, int]  # what the viewer sees: reviewed, or the draft for a reviewer
    ai_scores: dict[str, int]
    evidence: dict[str, list[Evidence]]
    analytics: TranscriptAnalytics
    measures: dict[str, DimensionScore]
    reviewed: bool


def _viewer_may_see_draft(session: Session, scope: Scope, record: PracticeRecord) -> bool:
    return scope.role != Role.TEACHER and can_review(session, scope, record)


def _lesson(session: Session, scope: Scope, record_id: int) -> _Lesson:
    """One transcript lesson as this viewer may see it (NotFound, NotAllowed, Invalid, Conflict)."""
    record = session.get(PracticeRecord, record_id)
    if record is None:
        raise NotFound(RECORD_NOT_FOUND)
    scope.require(session, record)
    if record.kind != RecordKind.TRANSCRIPT:
        raise Invalid(NOT_TRANSCRIPT)
    diagnosis = latest_diagnosis(session, record.id)
    teacher = session.get(User, record.teacher_id)
    assert teacher is not None
    if diagnosis is None or diagnosis.status == DiagnosisStatus.REJECTED:
        raise Conflict(NO_DIAGNOSIS.format(title=record.title))
    reviewed = (
        diagnosis.status in SHOWN_TO_TEACHER and latest_review(session, diagnosis.id) is not None
    )
    if not reviewed and not _viewer_may_see_draft(session, scope, record):
        raise Conflict(NOT_REVIEWED.format(title=record.title))
    ai = {dim: s.score for dim, s in diagnosis.scores.items()}
    if reviewed:
        view = reviewed_view(session, diagnosis)
        scores = {dim: s.score for dim, s in view.scores.items()}
    else:
        scores = dict(ai)
    analytics = diagnosis.analytics
    return _Lesson(
        record=record, teacher=teacher, diagnosis=diagnosis, scores=scores, ai_scores=ai,
        evidence={dim: list(s.evidence) for dim, s in diagnosis.scores.items()},
        analytics=analytics if isinstance(analytics, TranscriptAnalytics) else TranscriptAnalytics(),
        measures=dict(diagnosis.scores), reviewed=reviewed,
    )  # fmt: skip


# ---------------------------------------------------------------- the comparison


@dataclass(frozen=True)
class Side:
    """Who taught the lesson, when, and whether its scores are reviewed or the AI's draft."""

    record_id: int
    title: str
    topic: str
    teacher_id: int
    teacher_name: str
    submitted_at: datetime
    status_label: str
    reviewed: bool  # False: the AI's unreviewed draft (shown to a reviewer only)
    mode: str


@dataclass(frozen=True)
class ScoreRow:
    dimension: str
    a: int | None
    b: int | None
    diff: int | None  # b − a
    ai_a: int | None
    ai_b: int | None


@dataclass(frozen=True)
class FigureRow:
    """A figure of both lessons, formatted, with the difference (B − A) when it is a number."""

    key: str
    label: str
    a: str
    b: str
    diff: str  # "+0.12", "+8 个百分点", "—" (unknown), "" (not a number), "模式改变"
    a_value: float | None = None
    b_value: float | None = None
    delta: float | None = None  # b − a, in the figure's own unit (shares as fractions)
    hint: str = ""


@dataclass(frozen=True)
class Quote:
    time: str
    line: int | None
    speaker: str
    text: str
    note: str


@dataclass(frozen=True)
class EvidencePair:
    dimension: str
    a: list[Quote]
    b: list[Quote]


@dataclass(frozen=True)
class LessonComparison:
    kind: str  # before_after | same_topic | two_teachers
    kind_label: str
    a: Side
    b: Side
    scores: list[ScoreRow]
    total_a: int
    total_b: int
    st: list[FigureRow]
    fias: list[FigureRow]
    indicators: list[FigureRow]
    timeline_a: list[SegmentRow]
    timeline_b: list[SegmentRow]
    evidence: list[EvidencePair]
    radar: ChartSpec
    notes: list[str] = field(default_factory=list)


Unit = str  # "share" (fraction shown in %), "ratio", "seconds", "count"


def _fmt(value: float | None, unit: Unit) -> str:
    if value is None:
        return "—"
    if unit == "share":
        return f"{value * 100:.0f}%"
    if unit == "seconds":
        return f"{value:.1f} 秒"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.2f}"


def _fmt_delta(delta: float | None, unit: Unit) -> str:
    if delta is None:
        return "—"
    if unit == "share":
        points = round(delta * 100)
        return "持平" if points == 0 else f"{points:+d} 个百分点"
    if unit == "seconds":
        return "持平" if round(delta, 1) == 0 else f"{delta:+.1f} 秒"
    if unit == "count":
        return "持平" if round(delta) == 0 else f"{delta:+.0f}"
    return "持平" if round(delta, 2) == 0 else f"{delta:+.2f}"


def figure(
    key: str, label: str, a: float | None, b: float | None, unit: Unit, hint: str = ""
) -> FigureRow:
    """A numeric figure of both lessons with its difference (B − A); unknown on either side
    leaves the difference unknown."""
    delta = None if a is None or b is None else b - a
    return FigureRow(key=key, label=label, a=_fmt(a, unit), b=_fmt(b, unit),
                     diff=_fmt_delta(delta, unit), a_value=a, b_value=b, delta=delta, hint=hint)  # fmt: skip


def _measure(lesson: _Lesson, dimension: str, name: str) -> float | None:
    score = lesson.measures.get(dimension)
    value = getattr(score.measure, name, None) if score is not None else None
    return None if value is None else float(value)


def _st_rows(a: TranscriptAnalytics, b: TranscriptAnalytics) -> list[FigureRow]:
    mode_changed = a.st.mode != b.st.mode
    return [
        figure("rt", "Rt（教师行为占有率）", a.st.rt, b.st.rt, "ratio", "Rt ≥ 0.7 讲授型，≤ 0.3 练习型"),
        figure("ch", "Ch（师生行为转换率）", a.st.ch, b.st.ch, "ratio", "Ch ≥ 0.4 且 Rt 居中为对话型"),
        FigureRow(key="mode", label="教学模式", a=a.st.mode or "—", b=b.st.mode or "—",
                  diff=f"{a.st.mode} → {b.st.mode}" if mode_changed else "相同"),
        figure("samples", "采样点（每 30 秒）", float(a.st.n), float(b.st.n), "count"),
    ]  # fmt: skip


def _fias_rows(a: TranscriptAnalytics, b: TranscriptAnalytics) -> list[FigureRow]:
    rows = []
    for key, (label, hint) in FIAS_RATIO_LABELS.items():
        unit = "share" if key in PERCENT_RATIOS else "ratio"
        rows.append(figure(key, label, a.fias.ratios.get(key), b.fias.ratios.get(key), unit, hint))
    return rows


Indicator = tuple[str, str, Unit, Callable[[_Lesson], float | None], str]

INDICATORS: tuple[Indicator, ...] = (
    ("questions", "真实提问（次）", "count", lambda x: float(x.analytics.questions.count), "自问自答、无人回答的不计"),
    ("rhetorical", "自问自答或无人回答（次）", "count", lambda x: _measure(x, "提问质量", "rhetorical_questions"), ""),
    ("open_share", "开放性问题占比", "share", lambda x: x.analytics.questions.open_share, ""),
    ("higher_order", "高阶问题占比（分析、评价、创造）", "share", lambda x: x.analytics.questions.higher_order_share, ""),
    ("wait", "平均候答时间", "seconds", lambda x: x.analytics.wait_times.mean_s, "从问题结束到学生开口"),
    ("feedback_turns", "对学生回答的反馈（次）", "count", lambda x: _measure(x, "反馈评价", "feedback_turns"), ""),
    ("feedback_specific", "具体反馈占比", "share", lambda x: _measure(x, "反馈评价", "specific_share"), "追问、采纳或说明理由的评价；“对，坐下”为笼统反馈"),
    ("probes", "追问（次）", "count", lambda x: _measure(x, "课堂互动", "probes"), ""),
    ("uptake_rate", "采纳学生观点比率", "share", lambda x: x.analytics.uptake.rate, "教师接话与前一学生话语的语义相似度"),
    ("student_time", "学生发言时间占比", "share", lambda x: x.analytics.talk_share.student_time, ""),
)  # fmt: skip


def _evidence_quotes(lesson: _Lesson, dimension: str, times: Mapping[int, str]) -> list[Quote]:
    quotes = []
    for ev in lesson.evidence.get(dimension, [])[:EVIDENCE_PER_SIDE]:
        text = ev.text or ev.quote or ev.sentence or ""
        if not text:
            continue
        time = times.get(ev.utterance, "") if ev.utterance is not None else ""
        quotes.append(Quote(time=time, line=ev.line, speaker=ev.speaker or "", text=text,
                            note=ev.note or ""))  # fmt: skip
    return quotes


def _times(record: PracticeRecord) -> dict[int, str]:
    return {u.index: clock(u.start_s) for u in stored_utterances(record)}


def _side(lesson: _Lesson) -> Side:
    return Side(
        record_id=lesson.record.id, title=lesson.record.title, topic=topic_of(lesson.record.title),
        teacher_id=lesson.teacher.id, teacher_name=lesson.teacher.display_name,
        submitted_at=lesson.record.created_at, status_label=status_label(lesson.diagnosis.status),
        reviewed=lesson.reviewed, mode=lesson.analytics.st.mode,
    )  # fmt: skip


def comparison_kind(a: Side, b: Side) -> str:
    if a.teacher_id == b.teacher_id:
        return "before_after"
    return "same_topic" if a.topic == b.topic else "two_teachers"


def compare_lessons(session: Session, scope: Scope, a_id: int, b_id: int) -> LessonComparison:
    """Lessons ``a_id`` and ``b_id`` side by side, as this viewer may see them.

    Raises NotFound, NotAllowed (a lesson outside the scope), Invalid (the same lesson twice,
    or a lesson plan) and Conflict (a lesson without a diagnosis this viewer may read: for a
    teacher, one not yet reviewed).
    """
    if a_id == b_id:
        raise Invalid(SAME_LESSON)
    la, lb = _lesson(session, scope, a_id), _lesson(session, scope, b_id)
    a, b = _side(la), _side(lb)
    dims = list(dict.fromkeys([*la.scores, *lb.scores]))
    scores = []
    for dim in dims:
        sa, sb = la.scores.get(dim), lb.scores.get(dim)
        scores.append(ScoreRow(dimension=dim, a=sa, b=sb,
                               diff=None if sa is None or sb is None else sb - sa,
                               ai_a=la.ai_scores.get(dim), ai_b=lb.ai_scores.get(dim)))  # fmt: skip
    ta, tb = _times(la.record), _times(lb.record)
    evidence = [
        EvidencePair(
            dimension=dim, a=_evidence_quotes(la, dim, ta), b=_evidence_quotes(lb, dim, tb)
        )
        for dim in dims
    ]
    notes = []
    if not (la.reviewed and lb.reviewed):
        notes.append("标“AI 初评”的一侧尚未审核：分数是 AI 草稿，教师看不到。")
    kind = comparison_kind(a, b)
    if kind == "two_teachers":
        notes.append("两节课课题不同，指标差异也反映内容和课型的不同，解读时请注意。")
    if la.analytics.st.estimated or lb.analytics.st.estimated:
        notes.append("至少一节课没有时间戳，S-T 与 FIAS 按字数估算时间。")
    radar = radar_spec(
        {d: la.scores.get(d, 0) for d in dims}, label=f"A：{a.title[:14]}",
        compare={d: lb.scores.get(d, 0) for d in dims}, compare_label=f"B：{b.title[:14]}",
    )  # fmt: skip
    return LessonComparison(
        kind=kind, kind_label=KIND_LABELS[kind], a=a, b=b, scores=scores,
        total_a=sum(la.scores.values()), total_b=sum(lb.scores.values()),
        st=_st_rows(la.analytics, lb.analytics), fias=_fias_rows(la.analytics, lb.analytics),
        indicators=[figure(key, label, get(la), get(lb), unit, hint)
                    for key, label, unit, get, hint in INDICATORS],
        timeline_a=segment_rows(la.analytics), timeline_b=segment_rows(lb.analytics),
        evidence=evidence, radar=radar, notes=notes,
    )  # fmt: skip


# ---------------------------------------------------------------- what may be picked


@dataclass(frozen=True)
class LessonChoice:
    record_id: int
    title: str
    topic: str
    teacher_id: int
    teacher_name: str
    submitted_at: datetime
    reviewed: bool


@dataclass(frozen=True)
class TopicPair:
    """Two teachers' lessons of one topic (同课异构), suggested to a trainer."""

    topic: str
    a: LessonChoice
    b: LessonChoice


@dataclass(frozen=True)
class ComparePicker:
    lessons: list[LessonChoice]  # oldest first
    pairs: list[TopicPair]
    default_a: int | None
    default_b: int | None
    teacher_id: int | None  # the teacher the choice is narrowed to, if any
    teacher_name: str
    error: str = ""


def _choices(
    session: Session, scope: Scope, *, teacher_id: int | None, limit: int = 300
) -> list[LessonChoice]:
    query = (
        select(PracticeRecord, Diagnosis, User)
        .join(Diagnosis, Diagnosis.record_id == PracticeRecord.id)
        .join(User, User.id == PracticeRecord.teacher_id)
        .where(PracticeRecord.kind == RecordKind.TRANSCRIPT)
        .order_by(PracticeRecord.created_at.desc(), PracticeRecord.id.desc(), Diagnosis.id.desc())
    )
    if scope.role == Role.TEACHER:
        query = query.where(
            PracticeRecord.teacher_id == scope.user_id,
            Diagnosis.status.in_(SHOWN_TO_TEACHER),
        )
    else:
        query = scope.filter(query, PracticeRecord.teacher_id).where(
            Diagnosis.status != DiagnosisStatus.REJECTED
        )
    if teacher_id is not None:
        query = query.where(PracticeRecord.teacher_id == teacher_id)
    latest: dict[int, LessonChoice] = {}  # newest first; the record's latest diagnosis decides
    for record, diagnosis, teacher in session.execute(query.limit(limit * 2)):
        if record.id in latest:
            continue
        latest[record.id] = LessonChoice(
            record_id=record.id, title=record.title, topic=topic_of(record.title),
            teacher_id=teacher.id, teacher_name=teacher.display_name,
            submitted_at=record.created_at, reviewed=diagnosis.status in SHOWN_TO_TEACHER,
        )  # fmt: skip
    if scope.role == Role.TEACHER:  # a newer, unreviewed redraft hides the lesson again
        for rid in list(latest):
            current = latest_diagnosis(session, rid)
            if current is None or current.status not in SHOWN_TO_TEACHER:
                del latest[rid]
    return list(reversed(list(latest.values())[:limit]))  # oldest first


def compare_picker(
    session: Session, scope: Scope, *, teacher_id: int | None = None, error: str = ""
) -> ComparePicker:
    """The lessons this viewer may compare (a teacher: their own reviewed ones; a trainer or
    admin: those in scope, narrowed to one teacher with ``teacher_id``), oldest first, with
    同课异构 pairs and a default choice (the teacher's two latest lessons)."""
    name = ""
    if teacher_id is not None:
        teacher = session.get(User, teacher_id)
        if teacher is None or teacher.role != Role.TEACHER:
            raise NotFound("没有这位教师。")
        scope.require(session, teacher)
        name = teacher.display_name
    if scope.role == Role.TEACHER:
        teacher_id = scope.user_id
    lessons = _choices(session, scope, teacher_id=teacher_id)
    by_topic: dict[str, list[LessonChoice]] = {}
    for lesson in lessons:
        by_topic.setdefault(lesson.topic, []).append(lesson)
    pairs = []
    for topic, group in by_topic.items():
        teachers: dict[int, LessonChoice] = {}
        for lesson in reversed(group):  # each teacher's latest lesson of the topic
            teachers.setdefault(lesson.teacher_id, lesson)
        if len(teachers) >= 2:
            first, second = sorted(teachers.values(), key=lambda x: x.submitted_at)[-2:]
            pairs.append(TopicPair(topic=topic, a=first, b=second))
    own = [x for x in lessons if teacher_id is None or x.teacher_id == teacher_id]
    default_a = own[-2].record_id if len(own) >= 2 else None
    default_b = own[-1].record_id if len(own) >= 2 else None
    return ComparePicker(lessons=lessons, pairs=pairs, default_a=default_a, default_b=default_b,
                         teacher_id=teacher_id, teacher_name=name, error=error)  # fmt: skip


# ---------------------------------------------------------------- scores over time


@dataclass(frozen=True)
class TrendPoint:
    record_id: int
    title: str
    submitted_at: datetime
    label: str  # the chart's x label: "11-04 行程问题"
    scores: dict[str, int]


def trend_points(session: Session, teacher_id: int) -> list[TrendPoint]:
    """A teacher's reviewed transcript scores, oldest lesson first: what a trainer accepted or
    edited (the AI draft of a lesson nobody reviewed yet is never drawn)."""
    records = session.scalars(
        select(PracticeRecord)
        .where(PracticeRecord.teacher_id == teacher_id, PracticeRecord.kind == RecordKind.TRANSCRIPT)
        .order_by(PracticeRecord.created_at, PracticeRecord.id)
    )  # fmt: skip
    points = []
    for record in records:
        diagnosis = latest_diagnosis(session, record.id)
        if diagnosis is None or diagnosis.status not in SHOWN_TO_TEACHER:
            continue
        review = latest_review(session, diagnosis.id)
        scores = {d: s.score for d, s in diagnosis.scores.items()}
        scores |= dict(review.scores) if review is not None else {}
        points.append(TrendPoint(
            record_id=record.id, title=record.title, submitted_at=record.created_at,
            label=f"{record.created_at:%m-%d} {topic_of(record.title)[:10]}",
            scores={d: int(v) for d, v in scores.items()},
        ))  # fmt: skip
    return points


@dataclass(frozen=True)
class TrendPage:
    teacher_id: int
    teacher_name: str
    is_self: bool
    points: list[TrendPoint]
    dimensions: list[str]
    chart: ChartSpec | None  # two lessons or more
    waiting: int  # transcript lessons not on the chart yet (no reviewed diagnosis)
    compare_a: int | None  # the two latest lessons, for the 对比 link
    compare_b: int | None


def trend_page(session: Session, scope: Scope, teacher_id: int) -> TrendPage:
    """A teacher's reviewed scores over time, for themself or a trainer/admin in scope."""
    teacher = session.get(User, teacher_id)
    if teacher is None or teacher.role != Role.TEACHER:
        raise NotFound("没有这位教师。")
    if scope.role not in (Role.TEACHER, Role.TRAINER, Role.ADMIN):
        raise NotAllowed("无权查看教师的课堂诊断。")
    scope.require(session, teacher)
    points = trend_points(session, teacher_id)
    lessons = session.scalars(
        select(PracticeRecord.id).where(
            PracticeRecord.teacher_id == teacher_id, PracticeRecord.kind == RecordKind.TRANSCRIPT
        )
    ).all()
    dims = list(dict.fromkeys(d for p in points for d in p.scores))
    chart = trend_spec([(p.label, p.scores) for p in points]) if len(points) >= 2 else None
    return TrendPage(
        teacher_id=teacher.id, teacher_name=teacher.display_name,
        is_self=scope.user_id == teacher.id, points=points, dimensions=dims, chart=chart,
        waiting=len(lessons) - len(points),
        compare_a=points[-2].record_id if len(points) >= 2 else None,
        compare_b=points[-1].record_id if len(points) >= 2 else None,
    )  # fmt: skip


def score_rows(points: Sequence[TrendPoint]) -> list[tuple[str, dict[str, int]]]:
    """(label, scores) per lesson, as :func:`~yanxiu.practice.charts.trend_spec` takes them."""
    return [(p.label, p.scores) for p in points]
