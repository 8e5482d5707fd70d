"""The diagnosis as types: what the AI drafts, what a trainer reviews, what the teacher reads.

A diagnosis is stored in five JSON columns (``Diagnosis.scores``, ``.report``, ``.analytics``;
``DiagnosisReview.scores``, ``.report``). Everywhere above the database it is the models of
this module (pydantic: they validate what is read back and write JSON themselves); JSON appears
only at the column, where :class:`yanxiu.practice.models.DraftJSON` (a SQLAlchemy
``TypeDecorator``) calls a ``dump_…`` function on the way in and a ``load_…`` function on the
way out. A type decorator rather than typed properties beside raw columns: then no code, not
even a query that selects a bare column (``select(Diagnosis.report)``), can reach the untyped
JSON, and no migration is needed, the columns stay JSON.

Versions. Each stored value carries ``"version"`` (:data:`DRAFT_VERSION`): an object gets it as
one more key, a score mapping is wrapped as ``{"version": 2, "dimensions": {...}}``, and a
review without a report stores ``{}``. A value without a version is version 1, the shape stored
before these types existed (the mapping unwrapped); both load. A future change of shape bumps
the version and teaches the ``load_…`` functions the old one; stored drafts are never
rewritten in bulk.

Fields. Drafts of different ages and origins carry different fields (an evidence item cites an
utterance or a lesson-plan section; a dimension's measures depend on the dimension), so every
field has a default and loading is lenient. What was set is what is written back: a
:class:`DraftPart` serialises only the fields it was given (``model_fields_set``), so a stored
draft round-trips exactly and the API and ``yanxiu score --json`` show the same keys as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    model_serializer,
)

# 1: the untyped shape (no "version" key); 2: these models; 3: the same shape with optional
# additions (transcripts: 环节 segments, untranscribed gaps, subject indicators; plans:
# ``structure_guessed``), so 2 and 3 load alike and a version-2 draft simply lacks them
DRAFT_VERSION = 3

# JSON as stored; values are validated into the models below, never used raw above the column
JSONObject = dict[str, object]


class DraftPart(BaseModel):
    """A part of a diagnosis: lenient on load, and it writes back only the fields it was given."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    @model_serializer(mode="wrap")
    def _only_given(self, handler: SerializerFunctionWrapHandler) -> JSONObject:
        data: JSONObject = handler(self)
        fields = type(self).model_fields
        given = {
            fields[name].alias or name for name in self.model_fields_set
        } | self.model_fields_set
        return {key: value for key, value in data.items() if key in given}


# ---------------------------------------------------------------- scores and their evidence


class Evidence(DraftPart):
    """Where a score or a finding shows: a transcript utterance (its line, speaker and words)
    or a lesson-plan section (its heading's or quote's line and the quote); ``note`` says what
    the item shows, and a coded turn adds the DialogID ``move`` and the ``sentence`` that makes it."""

    section: str | None = None  # a lesson plan's
    utterance: int | None = None  # a transcript's turn, 0-based
    line: int | None = None  # 1-based source line (None: a section that is missing)
    speaker: str | None = None
    text: str | None = None
    note: str | None = None
    move: str | None = None
    sentence: str | None = None
    quote: str | None = None


class Measures(DraftPart):
    """What a dimension's norm turned into its score. Each dimension sets its own fields (see
    :mod:`yanxiu.practice.rubric`); the suggestion text quotes them."""

    # transcript dimensions
    questions: int | None = None
    open_share: float | None = None
    higher_order_share: float | None = None
    bloom: dict[str, int] | None = None
    guidance_share: float | None = None
    student_time_share: float | None = None
    named_student_speakers: int | None = None
    student_initiations: int | None = None
    student_turns: int | None = None
    feedback_turns: int | None = None
    generic: int | None = None
    specific_share: float | None = None
    ch: float | None = None
    rt: float | None = None
    mode: str | None = None
    uptake_rate: float | None = None
    commending_or_guidance_after_student: float | None = None
    commending_share: float | None = None
    uses_student_ideas: int | None = None
    reasoning_turns: int | None = None
    mean_wait_s: float | None = None
    deepening_move_share: float | None = None
    move_shares: dict[str, float] | None = None
    closing_checks: int | None = None
    rhetorical_questions: int | None = None  # self-answered or unanswered: not counted
    collaborative_activities: int | None = None
    probes: int | None = None  # teacher follow-ups probing a student's answer
    student_builds: int | None = None  # a student answering another student
    teacher_summary: bool | None = None
    # lesson-plan dimensions
    present: bool | None = None
    measurable_verbs: int | None = None
    vague_verbs: int | None = None
    cues: int | None = None
    has_key_and_difficult: int | None = None
    strategy: bool | None = None
    student_activity_words: int | None = None
    lecture_words: int | None = None
    steps: int | None = None
    chars: int | None = None  # the section's length


class DimensionScore(DraftPart):
    """One rubric dimension: score 1–5 with its evidence, confidence in [0, 1] and the norm used."""

    dimension: str = ""
    competency: str = ""
    score: int = 0
    measure: Measures = Field(default_factory=Measures)
    norm: str = ""
    confidence: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)
    raw_score: int | None = None  # the rule score before calibration, when calibration moved it


class ReviewedScore(DimensionScore):
    """A dimension as the teacher reads it: the reviewed ``score`` beside the AI's."""

    ai_score: int = 0


Scores = dict[str, DimensionScore]  # dimension -> score, in rubric order


def score_values(scores: Mapping[str, DimensionScore]) -> dict[str, int]:
    """Dimension -> score."""
    return {dim: s.score for dim, s in scores.items()}


# ---------------------------------------------------------------- the report


class Strength(DraftPart):
    dimension: str = ""
    score: int = 0
    evidence: list[Evidence] = Field(default_factory=list)
    text: str = ""


class Weakness(DraftPart):
    """A dimension to work on; ``severity`` in [0, 1] weighs it in the teacher's profile."""

    dimension: str = ""
    competency: str = ""
    score: int = 0
    severity: float = 0.5
    evidence: list[Evidence] = Field(default_factory=list)
    text: str = ""


class Suggestion(DraftPart):
    dimension: str = ""
    text: str = ""
    by_trainer: bool = False  # written by the trainer in a review (set only then)


class ResourceLink(DraftPart):
    """A catalog course recommended for a weakness (``for``: the dimension it is for)."""

    code: str = ""
    title: str = ""
    hours: float = 0.0
    category: str = ""
    tagged: bool = False  # the course is tagged with the weakness's competency
    for_dimension: str = Field("", alias="for")

    def for_(self, dimension: str) -> ResourceLink:
        return self.model_copy(update={"for_dimension": dimension})


class Report(DraftPart):
    """The Chinese report: summary, strengths, priority weaknesses, suggestions, resources.

    The AI draft's report is marked ``ai_generated`` with the model version; a review's copy of
    it (the trainer's decision) is marked ``reviewed``.
    """

    summary: str = ""
    strengths: list[Strength] = Field(default_factory=list)
    weaknesses: list[Weakness] = Field(default_factory=list)
    suggestions: list[Suggestion] = Field(default_factory=list)
    resources: list[ResourceLink] = Field(default_factory=list)
    ai_generated: bool = False
    model_version: str = ""
    reviewed: bool = False


class ReportEdit(DraftPart):
    """What a trainer changed in a report; None: left as drafted."""

    summary: str | None = None
    strengths: list[Strength] | None = None
    suggestions: list[Suggestion] | None = None
    resources: list[ResourceLink] | None = None

    def changes(self) -> dict[str, object]:
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if getattr(self, name) is not None
        }

    def __bool__(self) -> bool:
        return bool(self.changes())

    def applied_to(self, report: Report) -> Report:
        """``report`` with the changed parts replaced."""
        return report.model_copy(update=self.changes())

    def then(self, later: ReportEdit) -> ReportEdit:
        """This edit followed by ``later`` (whose changes win)."""
        return self.model_copy(update=later.changes())


# ---------------------------------------------------------------- lesson analytics


class ModeRegion(DraftPart):
    mode: str = ""
    polygon: list[list[int | float]] = Field(default_factory=list)  # [[Rt, Ch], …] as written


class STPoint(DraftPart):
    rt: float = 0.0
    ch: float = 0.0
    mode: str = ""


class STChart(DraftPart):
    """The Rt–Ch diagram: the lesson's point and the four mode regions (x = Rt, y = Ch)."""

    x: str = "Rt"
    y: str = "Ch"
    point: STPoint = Field(default_factory=STPoint)
    regions: list[ModeRegion] = Field(default_factory=list)


class STSummary(DraftPart):
    """S-T analysis: one sample every 30 s, T (teacher) or S (everything else)."""

    rt: float = 0.0  # teacher share of samples
    ch: float = 0.0  # conversion rate
    mode: str = ""
    n: int = 0
    codes: str = ""  # e.g. "TTSST"
    estimated: bool = False  # times estimated from speech length
    chart: STChart = Field(default_factory=STChart)


class RegionCount(DraftPart):
    count: int = 0
    share: float | None = None


class FiasSummary(DraftPart):
    """FIAS: the 10×10 matrix of consecutive 3-second codes, its ratios and regions."""

    matrix: list[list[int]] = Field(default_factory=list)
    ratios: dict[str, float | None] = Field(default_factory=dict)
    regions: dict[str, RegionCount] = Field(default_factory=dict)
    n: int = 0


class QuestionStats(DraftPart):
    """Teacher questions: count, open share (of those judged), Bloom levels."""

    count: int = 0
    open: int = 0
    open_share: float | None = None
    bloom: dict[str, int] = Field(default_factory=dict)
    bloom_share: dict[str, float | None] = Field(default_factory=dict)
    higher_order_share: float | None = None  # (分析 + 评价 + 创造) / questions with a level


class WaitTime(DraftPart):
    question: int = 0  # the question's utterance
    seconds: float = 0.0
    estimated: bool = False


class WaitTimes(DraftPart):
    items: list[WaitTime] = Field(default_factory=list)
    mean_s: float | None = None


class TalkShare(DraftPart):
    teacher_time: float | None = None
    student_time: float | None = None
    teacher_chars: float | None = None
    student_chars: float | None = None
    estimated: bool = False


class UptakeEvent(DraftPart):
    student: int = 0  # utterance of the student turn
    teacher: int = 0  # utterance of the teacher turn that takes it up
    shared: list[str] = Field(default_factory=list)  # the content units reused
    similarity: float | None = None  # sentence-embedding cosine (semantic uptake)
    quote: str | None = None  # the student's and the teacher's clauses, with their times


class Uptake(DraftPart):
    count: int = 0
    opportunities: int = 0  # student → teacher transitions
    rate: float | None = None
    events: list[UptakeEvent] = Field(default_factory=list)


class TurnCodeRecord(DraftPart):
    """The codes of one utterance: FIAS, question type and level, cue words, DialogID move."""

    utterance: int = 0
    fias: int = 0
    question: bool = False
    open: bool | None = None
    bloom: str | None = None
    cues: list[str] = Field(default_factory=list)
    move: str | None = None
    move_zh: str | None = None
    move_prob: float | None = None
    move_sentence: str | None = None  # the sentence that carries the move, if not the whole turn


class MoveSummary(DraftPart):
    """DialogID moves over coded teacher turns, or (``available`` false) why there are none."""

    available: bool = False
    note: str | None = None
    coded_teacher_turns: int | None = None
    turns_making: dict[str, int] | None = None
    shares: dict[str, float] | None = None
    min_probability: float | None = None


class SegmentShare(DraftPart):
    """One 环节 of the lesson on its timeline: when, its share of the lesson, who talked."""

    name: str = ""
    start_s: float = 0.0
    end_s: float = 0.0
    share: float = 0.0  # of the lesson's duration
    teacher_share: float | None = None  # teacher talk time / the segment's duration


class GapSummary(DraftPart):
    """Untranscribed gaps (silence after a turn's estimated speech) and how they were counted."""

    count: int = 0
    seconds: float = 0.0
    treated_as: str = "student"  # "student": student activity or silence (S, FIAS 10); "teacher"


class SubjectIndicators(DraftPart):
    """Subject-specific measures (``subject``: 语文, 数学, 英语, 物理, 科学 …)."""

    subject: str = ""
    target_language_share: float | None = None  # 英语: English share of teacher talk
    student_target_language_share: float | None = None
    inquiry_steps: list[str] | None = None  # 物理/科学: 猜想, 设计, 实验, 结论 … found
    reasoning_prompts: int | None = None  # 数学: 为什么/你是怎么想的 …
    text_evidence_prompts: int | None = None  # 语文: 从哪里看出/哪个词 …


class TranscriptAnalytics(DraftPart):
    utterances: int = 0
    timestamps: bool = False
    st: STSummary = Field(default_factory=STSummary)
    fias: FiasSummary = Field(default_factory=FiasSummary)
    questions: QuestionStats = Field(default_factory=QuestionStats)
    wait_times: WaitTimes = Field(default_factory=WaitTimes)
    talk_share: TalkShare = Field(default_factory=TalkShare)
    uptake: Uptake = Field(default_factory=Uptake)
    turn_codes: list[TurnCodeRecord] = Field(default_factory=list)
    moves: MoveSummary = Field(default_factory=MoveSummary)
    notes: list[str] = Field(default_factory=list)  # caveats shown above the charts
    segments: list[SegmentShare] | None = None  # the 环节 timeline, when the source marks them
    gaps: GapSummary | None = None  # timed transcripts only
    subject_indicators: SubjectIndicators | None = None


class Heading(DraftPart):
    line: int = 0
    heading: str = ""  # as written
    section: str = ""  # canonical key, "" if none


class PlanAnalytics(DraftPart):
    sections: dict[str, int] = Field(default_factory=dict)  # section -> characters
    missing_sections: list[str] = Field(default_factory=list)
    headings: list[Heading] = Field(default_factory=list)
    structure_guessed: bool | None = None  # no headings: sections guessed from cue words


PLAN_KEYS = frozenset(PlanAnalytics.model_fields)


def _analytics_kind(value: object) -> str:
    """A lesson plan's analytics name its sections; anything else is a transcript's."""
    if isinstance(value, PlanAnalytics):
        return "lesson_plan"
    if isinstance(value, Mapping) and PLAN_KEYS & set(value):
        return "lesson_plan"
    return "transcript"


LessonAnalytics = Annotated[
    Annotated[TranscriptAnalytics, Tag("transcript")]
    | Annotated[PlanAnalytics, Tag("lesson_plan")],
    Discriminator(_analytics_kind),
]


# ---------------------------------------------------------------- the draft


class DiagnosisDraft(DraftPart):
    """What the AI drafts for one record, before a trainer sees it."""

    scores: Scores = Field(default_factory=dict)
    analytics: LessonAnalytics = Field(default_factory=TranscriptAnalytics)
    report: Report = Field(default_factory=Report)
    confidence: float = 0.0
    model_version: str = ""


class ReviewedDiagnosis(DraftPart):
    """What the teacher sees once a trainer accepted or edited the draft: the reviewed scores
    (beside the AI's) and report, with the draft's evidence and analytics."""

    diagnosis_id: int = 0
    status: str = ""
    scores: dict[str, ReviewedScore] = Field(default_factory=dict)
    report: Report = Field(default_factory=Report)
    analytics: LessonAnalytics = Field(default_factory=TranscriptAnalytics)
    reviewed_at: str = ""  # ISO 8601
    review_comment: str = ""
    model_version: str = ""


class DraftView(DraftPart):
    """The full AI draft as a reviewer reads it (never the teacher before review)."""

    diagnosis_id: int = 0
    status: str = ""
    model_version: str = ""
    confidence: float = 0.0
    scores: Scores = Field(default_factory=dict)
    report: Report = Field(default_factory=Report)
    analytics: LessonAnalytics = Field(default_factory=TranscriptAnalytics)
    created_at: str = ""  # ISO 8601


# ---------------------------------------------------------------- JSON at the column

_SCORES: TypeAdapter[Scores] = TypeAdapter(Scores)
_REVIEW_SCORES: TypeAdapter[dict[str, int]] = TypeAdapter(dict[str, int])
_ANALYTICS: TypeAdapter[LessonAnalytics] = TypeAdapter(LessonAnalytics)


def _unversioned(stored: object, *, by_dimension: bool = False) -> object:
    """The value without its version tag: version 1 (no tag) is the value itself; version 2
    tags an object with ``"version"`` and wraps a dimension mapping as ``"dimensions"``."""
    if not isinstance(stored, Mapping) or "version" not in stored:
        return stored
    if by_dimension:
        return stored.get("dimensions", {})
    return {key: value for key, value in stored.items() if key != "version"}


def load_scores(stored: object) -> Scores:
    return _SCORES.validate_python(_unversioned(stored, by_dimension=True) or {})


def load_review_scores(stored: object) -> dict[str, int]:
    return _REVIEW_SCORES.validate_python(_unversioned(stored, by_dimension=True) or {})


def load_report(stored: object) -> Report:
    return Report.model_validate(_unversioned(stored) or {})


def load_review_report(stored: object) -> Report | None:
    """A review's report; a rejection or a contest has none (stored empty)."""
    body = _unversioned(stored)
    return None if not body else Report.model_validate(body)


def load_analytics(stored: object) -> LessonAnalytics:
    return _ANALYTICS.validate_python(_unversioned(stored) or {})


def dump_scores(scores: Scores) -> JSONObject:
    return {"version": DRAFT_VERSION, "dimensions": _SCORES.dump_python(scores, mode="json")}


def dump_review_scores(scores: dict[str, int]) -> JSONObject:
    return {"version": DRAFT_VERSION, "dimensions": dict(scores)}


def dump_part(part: DraftPart | None) -> JSONObject:
    """A report or analytics, tagged with the version (None: stored empty)."""
    if part is None:
        return {}
    return {"version": DRAFT_VERSION, **part.model_dump(mode="json")}
