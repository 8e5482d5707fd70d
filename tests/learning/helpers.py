"""A course with study units and a quiz bank, for the learning tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.test_ledger import make_course
from yanxiu.catalog.lessons import LessonIn, StoredMedia, apply_lesson, record_version
from yanxiu.catalog.models import Course, CourseFormat, QuizQuestion

TEXT = "## 单元正文\n\n" + "教师应当把每一位学生的成长放在心上，" * 4


def fake_store(course_code: str, name: str) -> StoredMedia:
    media_type = "video/webm" if name.endswith(".webm") else "audio/wav"
    return StoredMedia(f"units/xx/{name}", media_type, "0" * 64)


def lesson_course(
    session: Session, code: str = "SD-950", *, hours: float = 4.0, audio_seconds: float = 60.0,
    questions: int = 6, fmt: CourseFormat = CourseFormat.ONLINE, media: str = "audio",
) -> Course:  # fmt: skip
    """A course with a text unit, an audio unit (a video one with ``media="video"``) lasting
    ``audio_seconds`` and ``questions`` single-choice questions whose right answer is always
    the option "正确答案"."""
    course = make_course(session, code, hours=hours, fmt=fmt)
    lesson = LessonIn.model_validate({
        "course": code,
        "units": [
            {"key": "u1", "kind": "text", "title": "阅读单元", "body": TEXT},
            {"key": "u2", "kind": media, "title": "音频单元" if media == "audio" else "视频单元",
             "file": "a.wav" if media == "audio" else "v.webm", "duration": audio_seconds},
        ],
        "quiz": [
            {"key": f"q{i}", "kind": "single", "stem": f"第 {i} 题：哪一项是对的？",
             "options": ["正确答案", f"干扰项甲{i}", f"干扰项乙{i}", f"干扰项丙{i}"], "answer": [0]}
            for i in range(questions)
        ],
    })  # fmt: skip
    apply_lesson(session, course, lesson, fake_store)
    record_version(session, course, origin="content", note="测试")
    return course


def right_answers(session: Session, paper: list[dict]) -> dict[int, list[int]]:
    """Shown positions of the right options of an attempt's paper."""
    out = {}
    for item in paper:
        q = session.scalar(select(QuizQuestion).where(QuizQuestion.id == item["q"]))
        assert q is not None
        out[item["q"]] = [item["order"].index(i) for i in q.answer]
    return out


def wrong_answers(session: Session, paper: list[dict]) -> dict[int, list[int]]:
    right = right_answers(session, paper)
    return {q: [(pos[0] + 1) % 4] for q, pos in right.items()}
