"""Course authoring by admins and trainers: create, edit, publish and retire courses, their
units and quiz questions, in the UI or by importing a lesson file.

Every change to a published (or retired) course writes a new course version
(:func:`yanxiu.catalog.lessons.record_version`); credits keep the version and the hours they
were earned under, so a revision never changes what was credited before. Units and questions
are retired, never deleted: progress and attempts keep pointing at them. A content reload
leaves a course edited here as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yanxiu.audit.service import record_audit
from yanxiu.catalog.lessons import (
    LessonIn,
    QuestionIn,
    StoredMedia,
    apply_lesson,
    latest_version,
    record_version,
)
from yanxiu.catalog.media import check_media, store_bytes
from yanxiu.catalog.models import (
    Course,
    CourseFormat,
    CourseStatus,
    CourseUnit,
    CourseVersion,
    QuestionKind,
    QuizQuestion,
    UnitKind,
)
from yanxiu.catalog.schema import CATEGORIES, RESOURCE_ID, describe_validation_error
from yanxiu.errors import Conflict, Invalid, NotFound

STATUS_LABELS = {"published": "已发布", "draft": "草稿", "retired": "已下架"}
UNIT_LABELS = {"text": "图文", "document": "PDF 文档", "video": "视频", "audio": "音频"}
QUESTION_LABELS = {"single": "单选", "multiple": "多选", "true_false": "判断"}


@dataclass(frozen=True)
class AuthoringRow:
    course: Course
    units: int
    questions: int

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.course.status.value]


@dataclass(frozen=True)
class AuthoringList:
    rows: list[AuthoringRow]
    categories: tuple[str, ...] = CATEGORIES


def authoring_list(session: Session) -> AuthoringList:
    """Courses with online content first (then by code), with their unit and question counts."""
    units: dict[int, int] = {cid: n for cid, n in session.execute(
        select(CourseUnit.course_id, func.count()).where(CourseUnit.retired.is_(False))
        .group_by(CourseUnit.course_id)
    )}  # fmt: skip
    questions: dict[int, int] = {cid: n for cid, n in session.execute(
        select(QuizQuestion.course_id, func.count()).where(QuizQuestion.retired.is_(False))
        .group_by(QuizQuestion.course_id)
    )}  # fmt: skip
    courses = session.scalars(select(Course).order_by(Course.code))
    rows = [AuthoringRow(c, units.get(c.id, 0), questions.get(c.id, 0)) for c in courses]
    rows.sort(key=lambda r: (r.units == 0, r.course.code))
    return AuthoringList(rows)


@dataclass(frozen=True)
class AuthoringPage:
    course: Course
    units: list[CourseUnit]
    questions: list[QuizQuestion]
    versions: list[CourseVersion]
    categories: tuple[str, ...] = CATEGORIES
    unit_labels: dict[str, str] | None = None
    question_labels: dict[str, str] | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.course.status.value]


def _course(session: Session, code: str) -> Course:
    course = session.scalar(select(Course).where(Course.code == code))
    if course is None:
        raise NotFound(f"课程 {code} 不存在")
    return course


def authoring_page(session: Session, code: str) -> AuthoringPage:
    course = _course(session, code)
    units = list(session.scalars(
        select(CourseUnit).where(CourseUnit.course_id == course.id)
        .order_by(CourseUnit.retired, CourseUnit.position, CourseUnit.id)
    ))  # fmt: skip
    questions = list(session.scalars(
        select(QuizQuestion).where(QuizQuestion.course_id == course.id)
        .order_by(QuizQuestion.retired, QuizQuestion.id)
    ))  # fmt: skip
    versions = list(session.scalars(
        select(CourseVersion).where(CourseVersion.course_id == course.id)
        .order_by(CourseVersion.version.desc())
    ))  # fmt: skip
    return AuthoringPage(
        course, units, questions, versions, CATEGORIES, UNIT_LABELS, QUESTION_LABELS
    )


def _revised(session: Session, course: Course, actor_id: int, note: str) -> None:
    """After a change: a published or retired course gets a new version; a draft waits."""
    if course.status != CourseStatus.DRAFT:
        record_version(session, course, origin="authoring", note=note, actor_id=actor_id)
    record_audit(session, actor_id=actor_id, action="course.author", entity="course",
                 entity_id=course.code, detail={"note": note, "version": course.version})  # fmt: skip


def _hours(typed: str) -> float:
    try:
        hours = float(typed)
    except ValueError:
        hours = -1
    if not 0 < hours <= 120:
        raise Invalid(
            "学时须为 0 到 120 之间的数字", fields={"hours": "请输入 0 到 120 之间的学时"}
        )
    return hours


def create_course(
    session: Session, *, actor_id: int, code: str, title: str, summary: str, category: str,
    hours: str, fmt: str, provider: str,
) -> Course:  # fmt: skip
    """A new draft course (published once it has units)."""
    code = code.strip().upper()
    problems = {}
    if not RESOURCE_ID.match(code):
        problems["code"] = "课程编号形如 SD-101（大写字母、短横线、数字）"
    elif session.scalar(select(Course.id).where(Course.code == code)) is not None:
        problems["code"] = "该编号已被使用"
    if not 4 <= len(title.strip()) <= 200:
        problems["title"] = "标题 4 到 200 字"
    if len(summary.strip()) < 10:
        problems["summary"] = "简介至少 10 个字"
    if category not in CATEGORIES:
        problems["category"] = "请选择培训类别"
    if fmt not in ("online", "offline", "hybrid"):
        problems["format"] = "请选择课程形式"
    if problems:
        raise Invalid("课程信息有误，请修改后再保存", fields=problems)
    course = Course(
        code=code, title=title.strip(), summary=summary.strip(), outline=[], category=category,
        stages=["小学", "初中", "高中"], subjects=["通用"], levels=[], posts=[], competencies=[],
        hours=_hours(hours), format=CourseFormat(fmt), provider=provider.strip() or "本平台",
        status=CourseStatus.DRAFT, origin="authoring",
    )  # fmt: skip
    session.add(course)
    session.flush()
    record_audit(session, actor_id=actor_id, action="course.create", entity="course",
                 entity_id=code, detail={"title": course.title})  # fmt: skip
    return course


def update_course(
    session: Session, *, actor_id: int, code: str, title: str, summary: str, category: str,
    hours: str,
) -> Course:  # fmt: skip
    course = _course(session, code)
    if (
        not 4 <= len(title.strip()) <= 200
        or len(summary.strip()) < 10
        or category not in CATEGORIES
    ):
        raise Invalid("标题 4 到 200 字、简介至少 10 个字，并选择培训类别",
                      fields={"title": "请检查标题", "summary": "请检查简介"})  # fmt: skip
    course.title, course.summary, course.category = title.strip(), summary.strip(), category
    course.hours = _hours(hours)
    course.outline = [u.title for u in _active_units(session, course)]
    _revised(session, course, actor_id, "修改课程信息")
    return course


def _active_units(session: Session, course: Course) -> list[CourseUnit]:
    return list(session.scalars(
        select(CourseUnit).where(CourseUnit.course_id == course.id, CourseUnit.retired.is_(False))
        .order_by(CourseUnit.position, CourseUnit.id)
    ))  # fmt: skip


def add_unit(
    session: Session, *, actor_id: int, code: str, kind: str, title: str, body: str,
    duration: str, data: bytes, media_dir: Path,
) -> CourseUnit:  # fmt: skip
    """Append a unit; a document, video or audio unit needs its file (type-checked)."""
    course = _course(session, code)
    if kind not in UNIT_LABELS:
        raise Invalid("请选择单元类型", fields={"kind": "请选择单元类型"})
    if not 2 <= len(title.strip()) <= 200:
        raise Invalid("单元标题 2 到 200 字", fields={"title": "单元标题 2 到 200 字"})
    if kind == "text" and len(body.strip()) < 50:
        raise Invalid("图文单元正文至少 50 字", fields={"body": "正文至少 50 字（Markdown）"})
    unit = CourseUnit(
        course_id=course.id, kind=UnitKind(kind), title=title.strip(), body=body.strip()
    )
    if kind != "text":
        if not data:
            raise Invalid("请上传该单元的文件", fields={"file": "请上传文件"})
        media_type, extension = check_media(kind, data)
        stored = store_bytes(media_dir, data, extension, media_type)
        unit.media_file, unit.media_type, unit.media_sha256 = (
            stored.path,
            stored.media_type,
            stored.sha256,
        )
    if kind in ("video", "audio"):
        try:
            unit.duration_seconds = float(duration)
        except ValueError:
            unit.duration_seconds = 0
        if not 0 < unit.duration_seconds <= 6 * 3600:
            raise Invalid("请填写媒体时长（秒）", fields={"duration": "请填写媒体时长（秒）"})
    existing = _active_units(session, course)
    keys = set(session.scalars(select(CourseUnit.key).where(CourseUnit.course_id == course.id)))
    unit.key = next(f"u{n}" for n in range(len(keys) + 1, len(keys) + 1000) if f"u{n}" not in keys)
    unit.position = (existing[-1].position + 1) if existing else 1
    session.add(unit)
    session.flush()
    course.outline = [u.title for u in _active_units(session, course)]
    _revised(session, course, actor_id, f"新增单元：{unit.title}")
    return unit


def _unit(session: Session, course: Course, unit_id: int) -> CourseUnit:
    unit = session.get(CourseUnit, unit_id)
    if unit is None or unit.course_id != course.id:
        raise NotFound("没有这个学习单元")
    return unit


def edit_unit(
    session: Session, *, actor_id: int, code: str, unit_id: int, title: str, body: str,
    retire: bool = False,
) -> CourseUnit:  # fmt: skip
    course = _course(session, code)
    unit = _unit(session, course, unit_id)
    if retire:
        unit.retired = True
        note = f"停用单元：{unit.title}"
    else:
        if not 2 <= len(title.strip()) <= 200:
            raise Invalid("单元标题 2 到 200 字", fields={"title": "单元标题 2 到 200 字"})
        if unit.kind == UnitKind.TEXT and len(body.strip()) < 50:
            raise Invalid("图文单元正文至少 50 字", fields={"body": "正文至少 50 字"})
        unit.title, unit.body = title.strip(), body.strip()
        note = f"修改单元：{unit.title}"
    session.flush()
    course.outline = [u.title for u in _active_units(session, course)]
    _revised(session, course, actor_id, note)
    return unit


def _answer_indices(kind: str, options: list[str], typed: str) -> list[int] | bool:
    if kind == "true_false":
        return typed.strip() in ("正确", "对", "true", "1", "A", "a")
    letters = re.findall(r"[A-Ha-h]", typed)
    return [ord(c.upper()) - ord("A") for c in letters]


def add_question(
    session: Session, *, actor_id: int, code: str, kind: str, stem: str, options: str, answer: str,
) -> QuizQuestion:  # fmt: skip
    """A question from the form: options one per line, the answer as letters ("AC")."""
    course = _course(session, code)
    lines = [line.strip() for line in options.splitlines() if line.strip()]
    keys = set(session.scalars(select(QuizQuestion.key).where(QuizQuestion.course_id == course.id)))
    key = next(f"q{n}" for n in range(len(keys) + 1, len(keys) + 1000) if f"q{n}" not in keys)
    try:
        q_in = QuestionIn(key=key, kind=kind, stem=stem, options=lines,
                          answer=_answer_indices(kind, lines, answer))  # fmt: skip
    except ValidationError as err:
        raise Invalid(f"题目有误：{describe_validation_error(err)}",
                      fields={"stem": "请检查题干、选项和答案"}) from None  # fmt: skip
    question = QuizQuestion(course_id=course.id, key=key, kind=QuestionKind(q_in.kind), stem=q_in.stem,
                            options=q_in.options, answer=q_in.answer_indices)  # fmt: skip
    session.add(question)
    session.flush()
    _revised(session, course, actor_id, "新增测验题")
    return question


def retire_question(session: Session, *, actor_id: int, code: str, question_id: int) -> None:
    course = _course(session, code)
    question = session.get(QuizQuestion, question_id)
    if question is None or question.course_id != course.id:
        raise NotFound("没有这道题")
    question.retired = True
    session.flush()
    _revised(session, course, actor_id, "停用测验题")


def set_status(session: Session, *, actor_id: int, code: str, status: str) -> Course:
    """Publish (an online course needs units) or retire a course."""
    course = _course(session, code)
    target = CourseStatus(status)
    if course.status == target:
        raise Conflict(f"课程已是{STATUS_LABELS[status]}状态")
    online = course.format != CourseFormat.OFFLINE
    if target == CourseStatus.PUBLISHED and online and not _active_units(session, course):
        raise Conflict("在线课程至少需要一个学习单元才能发布")
    course.status = target
    session.flush()
    record_version(session, course, origin="authoring", note=f"{STATUS_LABELS[status]}",
                   actor_id=actor_id)  # fmt: skip
    record_audit(session, actor_id=actor_id, action=f"course.{status}", entity="course",
                 entity_id=code, detail={"version": course.version})  # fmt: skip
    return course


def _no_files(course_code: str, name: str) -> StoredMedia:
    raise Invalid(f"导入文件中的 {name}：媒体文件请在课程编辑页逐个上传，导入只含图文单元与测验题")


def import_lesson(session: Session, *, actor_id: int, code: str, data: bytes) -> tuple[int, int]:
    """Replace the course's units and questions with those of a lesson YAML (all or nothing).

    Units keep their keys: a unit whose key is still listed is updated, one no longer listed
    is retired. Media units need their files uploaded on the page; an existing media unit
    listed by key keeps its file.
    """
    course = _course(session, code)
    try:
        raw: Any = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise Invalid(f"无法读取导入文件（须为 UTF-8 YAML）：{err}") from None
    if isinstance(raw, dict) and "lessons" in raw:
        raw = next(
            (x for x in raw["lessons"] if isinstance(x, dict) and x.get("course") == code), None
        )
    if not isinstance(raw, dict):
        raise Invalid(f"导入文件中没有课程 {code} 的内容")
    raw = {**raw, "course": code}
    existing = {
        u.key: u
        for u in session.scalars(select(CourseUnit).where(CourseUnit.course_id == course.id))
    }
    for unit in raw.get("units") or []:
        old = existing.get(str(unit.get("key"))) if isinstance(unit, dict) else None
        if old is not None and old.media_file and not unit.get("file"):
            unit["file"] = old.media_file  # keep the uploaded file
    try:
        lesson = LessonIn.model_validate(raw)
    except ValidationError as err:
        raise Invalid(f"导入文件有误：{describe_validation_error(err)}") from None

    def keep_or_refuse(course_code: str, name: str) -> StoredMedia:
        for old in existing.values():
            if old.media_file == name:
                return StoredMedia(old.media_file, old.media_type, old.media_sha256)
        return _no_files(course_code, name)

    with session.begin_nested():
        counts = apply_lesson(session, course, lesson, keep_or_refuse)
    course.outline = [u.title for u in lesson.units]
    _revised(session, course, actor_id, "导入单元与测验题")
    return counts


def latest_note(session: Session, course: Course) -> str:
    version = latest_version(session, course.id)
    return version.note if version else ""
