"""A teacher's own standing, as the teacher dashboard shows it.

- :func:`teacher_ledger` reads one teacher's ledger entries (effective review state and void
  flag included) in a single query, the same entries :func:`yanxiu.credits.ledger.ledger_entries`
  returns, so the dashboard's compliance figures are the admin reports' figures.
- :func:`build_dashboard` gathers what the page shows: the compliance report, hours by
  category against the policy minimums (with a Chart.js spec), recent ledger entries and the
  courses in progress.
- :func:`activity_fingerprint` and :class:`PathCache` let the page reuse a computed training
  path until something it depends on changes (a new enrolment, completion, credit, void,
  review or reviewed diagnosis), without any explicit invalidation:
  :func:`cached_dashboard` and :func:`training_path_section` are what the pages ask for.
- :func:`compliance_document` is the teacher's compliance as the JSON API gives it.

A user without a teacher profile gets :class:`NoTeacherProfile` (a ``NotFound``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import BindParameter, Select, bindparam, case, func, select, true
from sqlalchemy.orm import Session

from yanxiu.accounts.models import TeacherProfile
from yanxiu.catalog.models import Course, Enrolment, EnrolmentStatus
from yanxiu.catalog.schema import CATEGORIES, ETHICS_CATEGORY
from yanxiu.credits.compliance import TeacherCompliance, compute_compliance
from yanxiu.credits.ledger import LedgerEntry
from yanxiu.credits.models import CreditRecord, CreditReview, CreditSource, CreditVoid, ReviewState
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import NotFound
from yanxiu.practice.models import Diagnosis, DiagnosisReview, PracticeRecord
from yanxiu.recommend.service import PathRecommender, TrainingPath

SOURCE_LABELS = {
    CreditSource.ONLINE: "网络研修",
    CreditSource.OFFLINE: "集中面授",
    CreditSource.SCHOOL_BASED: "校本研修",
    CreditSource.RESEARCH: "教研活动",
    CreditSource.IMPORT: "学分银行导入",
}
REVIEW_LABELS = {
    ReviewState.APPROVED: "已认定",
    ReviewState.PENDING: "待审核",
    ReviewState.REJECTED: "未认定",
}
RECENT_ENTRIES = 8
GAP_LABELS = {"yearly": "本学年最低学时", "total": "周期总学时"}
COLD_START_NOTES = {
    "induction": "您处于新教师入职阶段：路径优先安排入职培训内容。",
    "profile": "您还没有学习记录和经审核的课堂诊断：路径依据您的学段、学科和职级推荐，"
    "完成课程或提交课堂实录后会更精准。",
}


class NoTeacherProfile(NotFound):
    """The account has no teacher profile (stage, subjects, tier, cycle): nothing to count."""


def _ledger_statement() -> Select[Any]:
    latest_review = (
        select(CreditReview.state)
        .where(CreditReview.record_id == CreditRecord.id)
        .order_by(CreditReview.id.desc())
        .limit(1)
        .correlate(CreditRecord)
        .scalar_subquery()
    )
    return (
        select(
            CreditRecord.id,
            CreditRecord.teacher_id,
            CreditRecord.source,
            CreditRecord.category,
            CreditRecord.hours,
            CreditRecord.earned_on,
            CreditRecord.title,
            CreditRecord.evidence,
            CreditRecord.idempotency_key,
            CreditRecord.initial_review_state,
            CreditRecord.replaces_id,
            CreditRecord.created_at,
            CreditVoid.id,
            CreditVoid.reason,
            latest_review,
            CreditRecord.policy_version,
        )  # fmt: skip
        .outerjoin(CreditVoid, CreditVoid.record_id == CreditRecord.id)
        .where(CreditRecord.teacher_id == bindparam("teacher_id"))
        .order_by(CreditRecord.earned_on, CreditRecord.id)
    )


# Statements used on every dashboard view are built once (building one costs more than
# running it against SQLite); each execution binds the teacher.
_LEDGER = _ledger_statement()


def teacher_ledger(session: Session, teacher_id: int) -> list[LedgerEntry]:
    """One teacher's ledger entries, oldest first, read in one query.

    The effective review state is the latest review's (or the record's initial state), and a
    record is voided when a void row points at it: the same rules as ``ledger_entries``.
    """
    rows = session.execute(_LEDGER, {"teacher_id": teacher_id}).all()
    return [
        LedgerEntry(
            id=r[0],
            teacher_id=r[1],
            source=CreditSource(r[2]),
            category=r[3],
            hours=float(r[4]),
            earned_on=r[5],
            title=r[6],
            evidence=dict(r[7] or {}),
            idempotency_key=r[8],
            review_state=ReviewState(r[14] if r[14] is not None else r[9]),
            voided=r[12] is not None,
            void_reason=r[13] or "",
            replaces_id=r[10],
            created_at=r[11],
            policy_version=r[15],
        )  # fmt: skip
        for r in rows
    ]


@dataclass(frozen=True)
class ProfileInfo:
    """The parts of a teacher profile the dashboard shows (a plain snapshot, safe to cache)."""

    stage: str
    subjects: tuple[str, ...]
    tier: str
    posts: tuple[str, ...]
    years_teaching: int
    cycle_start: date


_PROFILE = select(
    TeacherProfile.stage, TeacherProfile.subjects, TeacherProfile.tier, TeacherProfile.posts,
    TeacherProfile.years_teaching, TeacherProfile.cycle_start,
).where(TeacherProfile.user_id == bindparam("teacher_id"))  # fmt: skip


def teacher_profile(session: Session, teacher_id: int) -> ProfileInfo:
    """The teacher's profile (:class:`NoTeacherProfile` when the user has none)."""
    row = session.execute(_PROFILE, {"teacher_id": teacher_id}).one_or_none()
    if row is None:
        raise NoTeacherProfile("尚未建立教师档案")
    stage, subjects, tier, posts, years, cycle_start = row
    return ProfileInfo(
        stage, tuple(subjects or ()), tier, tuple(posts or ()), years or 0, cycle_start
    )


def teacher_compliance_report(
    session: Session, *, teacher_id: int, policy: CreditPolicy, today: date
) -> tuple[ProfileInfo, list[LedgerEntry], TeacherCompliance]:
    """The teacher's profile, ledger and compliance report (NoTeacherProfile without one)."""
    profile = teacher_profile(session, teacher_id)
    entries = teacher_ledger(session, teacher_id)
    report = compute_compliance(
        entries, policy=policy, teacher_id=teacher_id, cycle_start=profile.cycle_start,
        today=today, tier=profile.tier,
    )  # fmt: skip
    return profile, entries, report


@dataclass(frozen=True)
class CategoryRow:
    category: str
    hours: float
    minimum: float
    gap: float

    @property
    def met(self) -> bool:
        return self.gap <= 0


@dataclass(frozen=True)
class CourseInProgress:
    code: str
    title: str
    category: str
    hours: float
    progress: float  # 0..1
    enrolled_at: datetime


@dataclass
class Dashboard:
    """What the dashboard shows; plain data (no ORM rows), so it can be cached across requests."""

    profile: ProfileInfo
    report: TeacherCompliance
    categories: list[CategoryRow]
    recent: list[LedgerEntry]
    in_progress: list[CourseInProgress]
    ledger_size: int
    chart: dict[str, Any] = field(default_factory=dict)

    @property
    def ethics_progress(self) -> float:
        required = self.report.ethics_required
        return min(1.0, self.report.ethics_hours / required) if required else 1.0


def category_rows(report: TeacherCompliance, policy: CreditPolicy) -> list[CategoryRow]:
    """Every category with hours or a minimum, in the catalog's category order."""
    rows = []
    for category in CATEGORIES:
        hours = report.by_category.get(category, 0.0)
        minimum = policy.minimum_for(category)
        if hours or minimum:
            gap = max(0.0, round(minimum - hours, 2))
            rows.append(CategoryRow(category, round(hours, 2), minimum, gap))
    return rows


def hours_chart(rows: list[CategoryRow]) -> dict[str, Any]:
    """A horizontal Chart.js bar chart: counted hours per category against the minimums."""
    labels = [r.category for r in rows]
    return {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": "已计入学时",
                    "data": [r.hours for r in rows],
                    "backgroundColor": [
                        "#0b6e4f"
                        if r.met
                        else ("#b54708" if r.category == ETHICS_CATEGORY else "#2f80b5")
                        for r in rows
                    ],  # fmt: skip
                },
                {
                    "label": "周期最低要求",
                    "data": [r.minimum or None for r in rows],
                    "backgroundColor": "rgba(82, 96, 109, 0.25)",
                    "borderColor": "#52606d",
                    "borderWidth": 1,
                },
            ],
        },
        "options": {
            "indexAxis": "y",
            "plugins": {"legend": {"position": "bottom"}},
            "scales": {"x": {"beginAtZero": True, "title": {"display": True, "text": "学时"}}},
        },
    }


_IN_PROGRESS = (
    select(
        Course.code,
        Course.title,
        Course.category,
        Course.hours,
        Enrolment.progress,
        Enrolment.enrolled_at,
    )  # fmt: skip
    .join(Course, Course.id == Enrolment.course_id)
    .where(
        Enrolment.teacher_id == bindparam("teacher_id"),
        Enrolment.status == EnrolmentStatus.ENROLLED,
    )
    .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc())
)


def build_dashboard(
    session: Session,
    *,
    teacher_id: int,
    policy: CreditPolicy,
    today: date,
    recent: int = RECENT_ENTRIES,
) -> Dashboard:
    """Everything the teacher dashboard shows except the training path (loaded lazily)."""
    profile, entries, report = teacher_compliance_report(
        session, teacher_id=teacher_id, policy=policy, today=today
    )
    rows = category_rows(report, policy)
    newest = sorted(entries, key=lambda e: (e.earned_on, e.id), reverse=True)[:recent]
    courses = [
        CourseInProgress(code, title, category, float(hours), float(progress or 0.0), enrolled_at)
        for code, title, category, hours, progress, enrolled_at in session.execute(
            _IN_PROGRESS, {"teacher_id": teacher_id}
        )
    ]
    return Dashboard(profile, report, rows, newest, courses, len(entries), hours_chart(rows))


def cached_dashboard(
    session: Session,
    *,
    cache: PathCache[T],
    teacher_id: int,
    display_name: str,
    policy: CreditPolicy,
    today: date,
    present: Callable[[Dashboard | None], T],
) -> T:
    """The teacher's dashboard as ``present`` makes it (the web layer renders the page's
    content), reused until something it shows changes.

    ``present`` gets None for an account without a teacher profile. One cheap query
    (:func:`activity_fingerprint`) tells whether the ledger, enrolments, progress, profile or
    catalog changed; the day, the policy and the teacher's name are the rest of what is shown.
    """
    key = (today, id(policy), display_name, activity_fingerprint(session, teacher_id))

    def build() -> T:
        try:
            data = build_dashboard(session, teacher_id=teacher_id, policy=policy, today=today)
        except NoTeacherProfile:
            return present(None)
        return present(data)

    return cache.get(teacher_id, key, build)


def compliance_summary(report: TeacherCompliance, policy: CreditPolicy) -> dict[str, Any]:
    """The compliance report as JSON (the API and the personal data export)."""
    year = report.current_year
    return {
        "policy": policy.code,
        "status": report.status,
        "compliant": report.compliant,
        "on_track": report.on_track,
        "cycle_start": report.cycle_start.isoformat(),
        "cycle_end": report.cycle_end.isoformat(),
        "required_total": report.required_total,
        "counted_total": report.counted_total,
        "hour_gap": report.hour_gap,
        "pending_hours": report.pending_hours,
        "progress": round(report.progress, 4),
        "ethics": {
            "hours": report.ethics_hours,
            "required": report.ethics_required,
            "ok": report.ethics_ok,
        },
        "current_year": (
            {
                "index": year.index,
                "start": year.start.isoformat(),
                "end": year.end.isoformat(),
                "hours": year.hours,
                "minimum": year.minimum,
                "met": year.met,
            }
            if year
            else None
        ),
        "yearly": [
            {"index": y.index, "start": y.start.isoformat(), "hours": y.hours, "met": y.met}
            for y in report.yearly
        ],
        "by_category": report.by_category,
        "category_gaps": {k: v for k, v in report.category_gaps.items() if v},
        "projected_completion": (
            report.projected_completion.isoformat() if report.projected_completion else None
        ),
        "completed_on": report.completed_on.isoformat() if report.completed_on else None,
        "induction": (
            {"hours": report.induction_hours, "required": report.induction_required}
            if report.is_induction
            else None
        ),
        "notes": report.notes,
    }


def compliance_document(
    session: Session, *, teacher_id: int, policy: CreditPolicy, today: date
) -> dict[str, Any]:
    """The teacher's compliance as the JSON API gives it: :func:`compliance_summary` plus
    ``categories``, hours against each category's minimum (NoTeacherProfile without one)."""
    _, _, report = teacher_compliance_report(
        session, teacher_id=teacher_id, policy=policy, today=today
    )
    summary = compliance_summary(report, policy)
    summary["categories"] = [
        {"category": r.category, "hours": r.hours, "minimum": r.minimum, "gap": r.gap}
        for r in category_rows(report, policy)
    ]
    return summary


# -- the training path, cached by what it depends on -----------------------------------------


def _fingerprint_statement() -> Select[Any]:
    teacher: BindParameter[int] = bindparam("teacher_id")
    mine = select(CreditRecord.id).where(CreditRecord.teacher_id == teacher)
    diagnoses = (
        select(Diagnosis.id)
        .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
        .where(PracticeRecord.teacher_id == teacher)
    )
    completed = case((Enrolment.status == EnrolmentStatus.COMPLETED, 1), else_=0)
    dropped = case((Enrolment.status == EnrolmentStatus.DROPPED, 1), else_=0)
    aggregates: list[tuple[Any, list[Any]]] = [
        (Enrolment.teacher_id == teacher, [
            func.count(Enrolment.id), func.max(Enrolment.id), func.sum(completed), func.sum(dropped),
            func.sum(Enrolment.progress),
        ]),
        (CreditRecord.teacher_id == teacher, [func.count(CreditRecord.id), func.max(CreditRecord.id)]),
        (CreditVoid.record_id.in_(mine), [func.count(CreditVoid.id), func.max(CreditVoid.id)]),
        (CreditReview.record_id.in_(mine), [func.count(CreditReview.id), func.max(CreditReview.id)]),
        (Diagnosis.id.in_(diagnoses), [func.count(Diagnosis.id), func.max(Diagnosis.id)]),
        (DiagnosisReview.diagnosis_id.in_(diagnoses), [
            func.count(DiagnosisReview.id), func.max(DiagnosisReview.id),
        ]),
        (TeacherProfile.user_id == teacher, [
            TeacherProfile.stage, TeacherProfile.tier, TeacherProfile.cycle_start,
            TeacherProfile.years_teaching,
        ]),
        (true(), [func.count(Course.id), func.max(Course.updated_at)]),
    ]  # fmt: skip
    # every aggregate is a scalar subquery of one SELECT: a single round trip
    return select(
        *(select(agg).where(where).scalar_subquery() for where, aggs in aggregates for agg in aggs)
    )


_FINGERPRINT = _fingerprint_statement()
PROGRESS_FIELD = 4  # position of the progress sum, which a training path does not depend on


def activity_fingerprint(session: Session, teacher_id: int) -> tuple[Any, ...]:
    """A cheap summary of everything the dashboard and the training path depend on.

    One query: counts and largest ids of the teacher's enrolments (how many completed or
    dropped, total progress), credit records, their voids and reviews, diagnoses and their
    reviews, the profile fields that matter, and the catalog's size and last change. Any
    change the dashboard or a path could show changes the fingerprint.
    """
    row = session.execute(_FINGERPRINT, {"teacher_id": teacher_id}).one()
    return tuple(row)


def path_fingerprint(activity: tuple[Any, ...]) -> tuple[Any, ...]:
    """The part of an activity fingerprint a training path depends on (not progress)."""
    return activity[:PROGRESS_FIELD] + activity[PROGRESS_FIELD + 1 :]


T = TypeVar("T")


class PathCache(Generic[T]):
    """Remembers one computed value per teacher together with the fingerprint it was built for
    (used for training paths and for dashboard data).

    ``get(teacher_id, fingerprint, compute)`` returns the remembered value while the
    fingerprint is unchanged and recomputes it otherwise. Thread-safe; least recently used
    teachers are forgotten beyond ``max_entries``.
    """

    def __init__(self, max_entries: int = 5000) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[int, tuple[Hashable, T]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, teacher_id: int, fingerprint: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            item = self._items.get(teacher_id)
            if item is not None and item[0] == fingerprint:
                self._items.move_to_end(teacher_id)
                self.hits += 1
                return item[1]
            self.misses += 1
        value = compute()  # outside the lock: other teachers' pages don't wait for this one
        with self._lock:
            self._items[teacher_id] = (fingerprint, value)
            self._items.move_to_end(teacher_id)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value

    def forget(self, teacher_id: int) -> None:
        with self._lock:
            self._items.pop(teacher_id, None)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class PathSection:
    """The dashboard's training-path section."""

    path: TrainingPath | None
    unavailable: str  # why there is no path ("" when there is one)
    cold_note: str = ""  # how a path was planned for a teacher with little history
    gap_labels: Mapping[str, str] = field(default_factory=lambda: GAP_LABELS)


def training_path_section(
    session: Session,
    *,
    planner: PathRecommender | None,
    unavailable: str,
    cache: PathCache[TrainingPath],
    teacher_id: int,
    policy: CreditPolicy,
    today: date,
) -> PathSection:
    """The teacher's training path, planned once and reused until something it depends on
    changes (progress alone does not). ``unavailable`` says why ``planner`` is None."""
    if planner is None:
        return PathSection(None, unavailable or "推荐服务尚未就绪")
    key = (today, id(planner), path_fingerprint(activity_fingerprint(session, teacher_id)))

    def plan() -> TrainingPath:
        return planner.recommend(session, teacher_id=teacher_id, policy=policy, today=today)

    try:
        path = cache.get(teacher_id, key, plan)
    except ValueError as exc:  # the recommender's word for "no teacher profile"
        return PathSection(None, str(exc))
    return PathSection(path, "", COLD_START_NOTES.get(path.cold_start, ""))
