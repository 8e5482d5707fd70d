"""The catalog as teachers use it: browse and search pages, a course with its prerequisites,
and the enrolment actions with the checks a web form needs (Chinese messages, nothing
half-written).

Browsing reads a cached snapshot of the published catalog (re-read when any course row
changes); search results are cached per query and filters for the lifetime of one search
index, so the live search box answers repeated queries without re-ranking.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yanxiu.catalog.models import (
    Course,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    course_prerequisites,
)
from yanxiu.catalog.schema import CATEGORIES, STAGES, SUBJECTS
from yanxiu.credits.models import CreditRecord
from yanxiu.credits.policy import CreditPolicy
from yanxiu.learning.enrolments import (
    EnrolmentError,
    complete_course,
    drop_course,
    enrol,
    get_enrolment,
    rate_course,
    update_progress,
)
from yanxiu.search.hybrid import CatalogSearch, SearchHit

FORMAT_LABELS = {"online": "线上", "offline": "线下面授", "hybrid": "线上线下混合"}
STATUS_LABELS = {"published": "已发布", "draft": "草稿", "retired": "已下架"}
ENROLMENT_LABELS = {"enrolled": "学习中", "completed": "已完成", "dropped": "已退选"}
PER_PAGE = 20
FILTER_KEYS = ("stage", "subject", "category", "format")


class CourseNotFound(LookupError):
    pass


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """(value, label) choices for the catalog filters."""
    return {
        "stage": [(s, s) for s in STAGES],
        "subject": [(s, s) for s in SUBJECTS],
        "category": [(c, c) for c in CATEGORIES],
        "format": list(FORMAT_LABELS.items()),
    }


def clean_filters(raw: Mapping[str, str | None]) -> dict[str, str]:
    """Keep the known filters whose value is one of the offered choices."""
    options = filter_options()
    out = {}
    for key in FILTER_KEYS:
        value = (raw.get(key) or "").strip()
        if value and value in {v for v, _ in options[key]}:
            out[key] = value
    return out


# -- browsing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseCard:
    """What a catalog list shows of a course."""

    code: str
    title: str
    summary: str
    category: str
    stages: tuple[str, ...]
    subjects: tuple[str, ...]
    format: str
    hours: float

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.format, self.format)

    def matches(self, filters: Mapping[str, str]) -> bool:
        for key, value in filters.items():
            if key == "stage" and value not in self.stages:
                return False
            if key == "subject" and value not in self.subjects:
                return False
            if key == "category" and value != self.category:
                return False
            if key == "format" and value != self.format:
                return False
        return True


@dataclass(frozen=True)
class Page:
    items: list[CourseCard]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class CatalogSnapshot:
    """The published catalog in memory, re-read when a course row is added or changed."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._cards: list[CourseCard] = []
        self._lock = threading.Lock()

    def cards(self, session: Session) -> list[CourseCard]:
        key = tuple(
            session.execute(select(func.count(Course.id), func.max(Course.updated_at))).one()
        )
        with self._lock:
            if key == self._key:
                return self._cards
        rows = session.execute(
            select(
                Course.code,
                Course.title,
                Course.summary,
                Course.category,
                Course.stages,
                Course.subjects,
                Course.format,
                Course.hours,
            )  # fmt: skip
            .where(Course.status == CourseStatus.PUBLISHED)
            .order_by(Course.code)
        ).all()
        cards = [
            CourseCard(
                code,
                title,
                summary,
                category,
                tuple(stages or ()),
                tuple(subjects or ()),
                str(getattr(fmt, "value", fmt)),
                float(hours),
            )  # fmt: skip
            for code, title, summary, category, stages, subjects, fmt, hours in rows
        ]
        with self._lock:
            self._key, self._cards = key, cards
        return cards


_snapshot = CatalogSnapshot()


def browse(
    session: Session,
    *,
    filters: Mapping[str, str] | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
    snapshot: CatalogSnapshot | None = None,
) -> Page:
    """One page of the published catalog under ``filters`` (ordered by course code)."""
    cards = (snapshot or _snapshot).cards(session)
    flt = dict(filters or {})
    matching = [c for c in cards if c.matches(flt)] if flt else cards
    pages = max(1, math.ceil(len(matching) / per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return Page(matching[start : start + per_page], len(matching), page, per_page)


# -- search ----------------------------------------------------------------------------------


class SearchCache:
    """Search results per (index, query, filters, k); the least recently asked are forgotten."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[Any, ...], list[SearchHit]] = OrderedDict()
        self._lock = threading.Lock()

    def search(
        self, service: CatalogSearch, query: str, *, filters: Mapping[str, str], k: int
    ) -> list[SearchHit]:
        key = (id(service), len(service.docs), query.strip(), tuple(sorted(filters.items())), k)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        found = service.search(query, k=k, filters={f: [v] for f, v in filters.items()})
        with self._lock:
            self._items[key] = found
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return found


_search_cache = SearchCache()


def search_catalog(
    service: CatalogSearch,
    query: str,
    *,
    filters: Mapping[str, str] | None = None,
    k: int = 20,
    cache: SearchCache | None = None,
) -> list[SearchHit]:
    """Published resources matching ``query`` (hybrid search), with highlighted snippets."""
    if not query.strip():
        return []
    return (cache or _search_cache).search(service, query, filters=dict(filters or {}), k=k)


# -- one course ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prerequisite:
    code: str
    title: str
    status: str  # "mastered" | "in_progress" | "not_started"

    @property
    def label(self) -> str:
        return {"mastered": "已完成", "in_progress": "学习中", "not_started": "未学习"}[self.status]


@dataclass
class CourseView:
    course: Course
    prerequisites: list[Prerequisite]
    unlocks: list[tuple[str, str]]  # (code, title) of published courses that need this one
    enrolment: Enrolment | None
    credited_hours: float | None  # hours in the ledger for completing it, if credited

    @property
    def missing_prerequisites(self) -> list[Prerequisite]:
        return [p for p in self.prerequisites if p.status != "mastered"]

    @property
    def status(self) -> str:
        """The teacher's state for this course: none, enrolled, completed or dropped."""
        return self.enrolment.status.value if self.enrolment else "none"

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.course.format.value, self.course.format.value)


def get_course(session: Session, code: str, *, include_drafts: bool = False) -> Course:
    """The course with ``code``; drafts only when ``include_drafts`` (else CourseNotFound)."""
    course = session.scalar(select(Course).where(Course.code == code))
    if course is None or (course.status == CourseStatus.DRAFT and not include_drafts):
        raise CourseNotFound(f"课程 {code} 不存在")
    return course


def _statuses(session: Session, teacher_id: int, course_ids: Sequence[int]) -> dict[int, str]:
    if not course_ids:
        return {}
    rows = session.execute(
        select(Enrolment.course_id, Enrolment.status).where(
            Enrolment.teacher_id == teacher_id, Enrolment.course_id.in_(course_ids)
        )
    )
    return {cid: EnrolmentStatus(status).value for cid, status in rows}


def course_view(session: Session, course: Course, *, teacher_id: int | None) -> CourseView:
    """A course with its prerequisites (and the teacher's mastery of each) and what it unlocks."""
    prereqs = sorted(course.prerequisites, key=lambda c: c.code)
    status = _statuses(session, teacher_id, [c.id for c in prereqs]) if teacher_id else {}
    prerequisites = [
        Prerequisite(
            c.code,
            c.title,
            "mastered"
            if status.get(c.id) == "completed"
            else "in_progress"
            if status.get(c.id) == "enrolled"
            else "not_started",
        )
        for c in prereqs
    ]
    unlocks = [
        (code, title)
        for code, title in session.execute(
            select(Course.code, Course.title)
            .join(course_prerequisites, course_prerequisites.c.course_id == Course.id)
            .where(
                course_prerequisites.c.prerequisite_id == course.id,
                Course.status == CourseStatus.PUBLISHED,
            )
            .order_by(Course.code)
        )
    ]
    enrolment = get_enrolment(session, teacher_id, course.id) if teacher_id else None
    credited = None
    if teacher_id and enrolment is not None and enrolment.status == EnrolmentStatus.COMPLETED:
        from yanxiu.learning.enrolments import course_credit_key

        credited = session.scalar(
            select(CreditRecord.hours).where(
                CreditRecord.idempotency_key == course_credit_key(teacher_id, course.code)
            )
        )
    return CourseView(course, prerequisites, unlocks, enrolment, credited)


# -- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolResult:
    enrolment: Enrolment
    outcome: str  # "enrolled" | "reopened" | "already" | "completed"
    missing_prerequisites: list[Prerequisite]


def enrol_teacher(session: Session, *, teacher_id: int, code: str) -> EnrolResult:
    """Enrol the teacher in a published course (prerequisites are advised, not enforced)."""
    course = get_course(session, code)
    if course.status == CourseStatus.RETIRED:
        raise EnrolmentError("该课程已下架，不再接受报名")
    existing = get_enrolment(session, teacher_id, course.id)
    before = existing.status if existing else None
    enrolment = enrol(session, teacher_id=teacher_id, course=course)
    outcome = {
        None: "enrolled",
        EnrolmentStatus.DROPPED: "reopened",
        EnrolmentStatus.ENROLLED: "already",
        EnrolmentStatus.COMPLETED: "completed",
    }[before]
    view = course_view(session, course, teacher_id=teacher_id)
    return EnrolResult(enrolment, outcome, view.missing_prerequisites)


def _active_enrolment(session: Session, teacher_id: int, course: Course) -> Enrolment:
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None or enrolment.status == EnrolmentStatus.DROPPED:
        raise EnrolmentError("您尚未报名该课程，请先报名")
    return enrolment


def record_progress(session: Session, *, teacher_id: int, code: str, percent: int) -> Enrolment:
    """Set the learning progress (0–100 %); it never goes back, and a completed course stays."""
    if not 0 <= percent <= 100:
        raise EnrolmentError("学习进度须在 0 到 100 之间")
    course = get_course(session, code)
    enrolment = _active_enrolment(session, teacher_id, course)
    if enrolment.status == EnrolmentStatus.COMPLETED:
        raise EnrolmentError("该课程已完成，无需再更新进度")
    return update_progress(session, enrolment=enrolment, progress=percent / 100)


def finish_course(
    session: Session,
    *,
    policy: CreditPolicy,
    teacher_id: int,
    code: str,
    when: datetime | None = None,
) -> tuple[Enrolment, CreditRecord, bool]:
    """Complete an enrolled course and credit its hours once (``created`` False the 2nd time)."""
    course = get_course(session, code)
    _active_enrolment(session, teacher_id, course)
    return complete_course(
        session, policy=policy, teacher_id=teacher_id, course=course, when=when,
        actor_id=teacher_id,
    )  # fmt: skip


def drop_teacher(session: Session, *, teacher_id: int, code: str) -> Enrolment:
    course = get_course(session, code)
    enrolment = _active_enrolment(session, teacher_id, course)
    return drop_course(session, enrolment=enrolment)


def rate_teacher_course(session: Session, *, teacher_id: int, code: str, rating: int) -> Enrolment:
    if not 1 <= rating <= 5:
        raise EnrolmentError("评分须为 1 到 5 星")
    course = get_course(session, code)
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None or enrolment.status != EnrolmentStatus.COMPLETED:
        raise EnrolmentError("完成课程后才能评价")
    return rate_course(session, enrolment=enrolment, rating=rating)


def average_rating(session: Session, course_id: int) -> tuple[float | None, int]:
    """Mean rating of a course and how many teachers rated it."""
    mean, n = session.execute(
        select(func.avg(Enrolment.rating), func.count(Enrolment.rating)).where(
            Enrolment.course_id == course_id, Enrolment.rating.is_not(None)
        )
    ).one()
    return (round(float(mean), 1) if mean is not None else None), int(n)
