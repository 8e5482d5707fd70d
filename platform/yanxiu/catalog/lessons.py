"""A course's study units and quiz bank: their file shape (content/lessons/*.yaml and the
authoring import), loading them into the database, and the versions of a course.

A lesson file names a catalog course and lists its units (text in Markdown, a PDF document,
video or audio files) and its quiz questions (single choice, multiple choice, true/false).
Media named in a file are copied into ``var/media`` (outside the web root) by
:mod:`yanxiu.catalog.media`; the database keeps their path, type, size hash and duration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yanxiu.catalog.models import (
    Course,
    CourseUnit,
    CourseVersion,
    QuestionKind,
    QuizQuestion,
    UnitKind,
)
from yanxiu.catalog.schema import describe_validation_error
from yanxiu.errors import Problem

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class UnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(pattern=KEY_PATTERN)
    kind: Literal["text", "document", "video", "audio"]
    title: str = Field(min_length=2, max_length=200)
    body: str = Field("", max_length=60_000)  # Markdown; for media a short description
    file: str = ""  # media path relative to the lesson file's media folder
    duration: float = Field(0, ge=0, le=6 * 3600)  # seconds, video and audio

    @model_validator(mode="after")
    def _complete(self) -> UnitIn:
        if self.kind == "text" and len(self.body) < 50:
            raise ValueError("a text unit needs a body of at least 50 characters (Markdown)")
        if self.kind != "text" and not self.file:
            raise ValueError(f"a {self.kind} unit needs a file")
        if self.kind in ("video", "audio") and self.duration <= 0:
            raise ValueError(f"a {self.kind} unit needs its duration in seconds")
        return self


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(pattern=KEY_PATTERN)
    kind: Literal["single", "multiple", "true_false"]
    stem: str = Field(min_length=6, max_length=1000)
    options: list[str] = Field(default_factory=list, max_length=8)
    answer: list[int] | bool  # option indices (0-based); true/false for a true_false question
    explanation: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> QuestionIn:
        if self.kind == "true_false":
            if not isinstance(self.answer, bool):
                raise ValueError("a true_false question's answer is true or false")
            self.options = ["正确", "错误"]
            self.answer = [0 if self.answer else 1]
            return self
        if isinstance(self.answer, bool) or not self.answer:
            raise ValueError("answer lists the indices (0-based) of the correct options")
        if len(self.options) < 3:
            raise ValueError("a choice question needs at least 3 options")
        if len(set(self.options)) != len(self.options):
            raise ValueError("options repeat")
        if any(not 0 <= i < len(self.options) for i in self.answer):
            raise ValueError(f"answer {self.answer} points outside the {len(self.options)} options")
        if self.kind == "single" and len(self.answer) != 1:
            raise ValueError("a single-choice question has exactly one answer")
        if self.kind == "multiple" and len(set(self.answer)) < 2:
            raise ValueError("a multiple-choice question has at least two correct options")
        self.answer = sorted(set(self.answer))
        return self

    @property
    def answer_indices(self) -> list[int]:
        assert isinstance(self.answer, list)
        return self.answer


class LessonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    course: str
    units: list[UnitIn] = Field(min_length=1, max_length=40)
    quiz: list[QuestionIn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _unique_keys(self) -> LessonIn:
        for name, keys in (
            ("unit", [u.key for u in self.units]),
            ("question", [q.key for q in self.quiz]),
        ):
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            if repeated:
                raise ValueError(f"{name} keys repeat: {repeated}")
        return self

    def content_hash(self) -> str:
        raw = json.dumps(self.model_dump(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()


def parse_lessons(rows: list[tuple[str, Any]]) -> tuple[list[LessonIn], list[Problem]]:
    """Validate (where, raw) lesson items; every problem names where it is."""
    lessons: list[LessonIn] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for where, raw in rows:
        item = str(raw.get("course", "")) if isinstance(raw, dict) else ""
        try:
            lesson = LessonIn.model_validate(raw)
        except ValidationError as err:
            problems.append(Problem(where, item, describe_validation_error(err)))
            continue
        if lesson.course in seen:
            problems.append(
                Problem(where, lesson.course, f"course repeated (first at {seen[lesson.course]})")
            )
            continue
        seen[lesson.course] = where
        lessons.append(lesson)
    return lessons, problems


@dataclass(frozen=True)
class StoredMedia:
    path: str  # relative to var/media
    media_type: str
    sha256: str


# Stores one lesson's media file (named as in the lesson) and says where it went.
MediaStore = Callable[[str, str], StoredMedia]


@dataclass
class LessonCounts:
    courses: int = 0
    units: int = 0
    questions: int = 0
    unchanged: int = 0


def apply_lesson(
    session: Session, course: Course, lesson: LessonIn, store: MediaStore
) -> tuple[int, int]:
    """Make the course's units and questions those of ``lesson`` (matched by key); units
    and questions no longer listed are retired, never deleted (progress and attempts keep
    pointing at them). Returns (units, questions) written."""
    units = {
        u.key: u
        for u in session.scalars(select(CourseUnit).where(CourseUnit.course_id == course.id))
    }
    for position, unit_in in enumerate(lesson.units, start=1):
        row = units.pop(unit_in.key, None)
        if row is None:
            row = CourseUnit(course_id=course.id, key=unit_in.key)
            session.add(row)
        row.position, row.kind, row.title, row.body = (
            position, UnitKind(unit_in.kind), unit_in.title, unit_in.body,
        )  # fmt: skip
        row.duration_seconds, row.retired = float(unit_in.duration), False
        if unit_in.file:
            stored = store(course.code, unit_in.file)
            row.media_file, row.media_type, row.media_sha256 = (
                stored.path, stored.media_type, stored.sha256,
            )  # fmt: skip
    for gone in units.values():
        gone.retired = True
    questions = {
        q.key: q
        for q in session.scalars(select(QuizQuestion).where(QuizQuestion.course_id == course.id))
    }
    for q_in in lesson.quiz:
        q = questions.pop(q_in.key, None)
        if q is None:
            q = QuizQuestion(course_id=course.id, key=q_in.key)
            session.add(q)
        q.kind, q.stem, q.options = QuestionKind(q_in.kind), q_in.stem, list(q_in.options)
        q.answer, q.explanation, q.retired = q_in.answer_indices, q_in.explanation, False
    for gone_q in questions.values():
        gone_q.retired = True
    session.flush()
    return len(lesson.units), len(lesson.quiz)


def sync_lessons(
    session: Session, lessons: list[LessonIn], store: MediaStore
) -> tuple[LessonCounts, list[Problem]]:
    """Load content lessons; a lesson unchanged since the last load is left alone, and a
    lesson whose course was edited in Yanxiu (authoring) is kept as edited."""
    counts, problems = LessonCounts(), []
    by_code = {c.code: c for c in session.scalars(select(Course))}
    for lesson in lessons:
        course = by_code.get(lesson.course)
        if course is None:
            problems.append(Problem("lessons", lesson.course, "no catalog course with this code"))
            continue
        digest = lesson.content_hash()
        latest = latest_version(session, course.id)
        if latest is not None and latest.snapshot.get("lesson_hash") == digest:
            counts.unchanged += 1
            continue
        if latest is not None and latest.snapshot.get("origin") == "authoring":
            counts.unchanged += 1  # edited in Yanxiu: the edit wins over the content file
            continue
        n_units, n_questions = apply_lesson(session, course, lesson, store)
        counts.courses += 1
        counts.units += n_units
        counts.questions += n_questions
        record_version(session, course, origin="content", note="课程内容载入", lesson_hash=digest)
    return counts, problems


# -- versions -----------------------------------------------------------------------------


def latest_version(session: Session, course_id: int) -> CourseVersion | None:
    return session.scalar(
        select(CourseVersion)
        .where(CourseVersion.course_id == course_id)
        .order_by(CourseVersion.version.desc())
        .limit(1)
    )


def course_snapshot(session: Session, course: Course) -> dict[str, Any]:
    """What a version of the course was: enough to say what a credit was earned under."""
    units = session.scalars(
        select(CourseUnit)
        .where(CourseUnit.course_id == course.id, CourseUnit.retired.is_(False))
        .order_by(CourseUnit.position, CourseUnit.id)
    )
    questions = session.scalars(
        select(QuizQuestion.id).where(
            QuizQuestion.course_id == course.id, QuizQuestion.retired.is_(False)
        )
    )
    return {
        "title": course.title, "hours": course.hours, "category": course.category,
        "format": course.format.value, "status": course.status.value,
        "units": [{"id": u.id, "key": u.key, "kind": u.kind.value, "title": u.title,
                   "media_sha256": u.media_sha256} for u in units],
        "questions": sorted(questions),
    }  # fmt: skip


def record_version(
    session: Session,
    course: Course,
    *,
    origin: str,
    note: str,
    actor_id: int | None = None,
    lesson_hash: str = "",
) -> CourseVersion:
    """Write the course's current state as its next version (the first one is version 1)."""
    latest = session.scalar(
        select(func.max(CourseVersion.version)).where(CourseVersion.course_id == course.id)
    )
    course.version = (latest or 0) + 1
    snapshot = course_snapshot(session, course) | {"origin": origin, "lesson_hash": lesson_hash}
    version = CourseVersion(
        course_id=course.id, version=course.version, snapshot=snapshot, note=note[:200],
        created_by_id=actor_id,
    )  # fmt: skip
    session.add(version)
    session.flush()
    return version
