"""Course authoring: drafts, units, questions, publish and retire, import; versions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import make_teacher
from tests.learning.helpers import TEXT, right_answers
from yanxiu.catalog.authoring import (
    add_question,
    add_unit,
    authoring_page,
    create_course,
    edit_unit,
    import_lesson,
    set_status,
    update_course,
)
from yanxiu.catalog.models import CourseStatus, CourseUnit
from yanxiu.credits.models import CreditRecord
from yanxiu.errors import Conflict, Invalid
from yanxiu.learning.completion import complete_teacher_course
from yanxiu.learning.course import enrol_teacher
from yanxiu.learning.quiz import start_attempt, submit_attempt
from yanxiu.learning.study import open_unit, reach_end

LESSON = f"""
units:
  - {{key: u1, kind: text, title: 导入的第一单元, body: "{TEXT.replace(chr(10), " ")}"}}
quiz:
""" + "".join(
    f"  - {{key: q{i}, kind: single, stem: 导入题目第{i}题是什么, options: [对的, 错甲{i}, 错乙{i}], answer: [0]}}\n"
    for i in range(5)
)


def draft(session, admin_id, code="SD-970"):
    return create_course(session, actor_id=admin_id, code=code, title="新编课程：关爱学生", hours="3",
                         summary="面向全体教师的新编在线课程。", category="师德师风", fmt="online",
                         provider="")  # fmt: skip


def test_a_draft_needs_units_to_publish_and_each_revision_is_a_version(session, tmp_path):
    admin = make_teacher(session)  # any user id will do as the actor
    course = draft(session, admin.id)
    assert course.status == CourseStatus.DRAFT
    with pytest.raises(Conflict, match="至少需要一个学习单元"):
        set_status(session, actor_id=admin.id, code=course.code, status="published")
    add_unit(session, actor_id=admin.id, code=course.code, kind="text", title="第一单元",
             body=TEXT, duration="", data=b"", media_dir=tmp_path)  # fmt: skip
    with pytest.raises(Invalid, match="文件类型不符"):
        add_unit(session, actor_id=admin.id, code=course.code, kind="document", title="讲义",
                 body="", duration="", data=b"<html>not a pdf</html>", media_dir=tmp_path)  # fmt: skip
    pdf = add_unit(session, actor_id=admin.id, code=course.code, kind="document", title="讲义",
                   body="", duration="", data=b"%PDF-1.4 tiny", media_dir=tmp_path)  # fmt: skip
    assert (tmp_path / pdf.media_file).read_bytes() == b"%PDF-1.4 tiny"
    q = add_question(session, actor_id=admin.id, code=course.code, kind="multiple",
                     stem="哪些做法是对的？", options="甲\n乙\n丙", answer="AC")  # fmt: skip
    assert q.answer == [0, 2]
    with pytest.raises(Invalid, match="题目有误"):
        add_question(session, actor_id=admin.id, code=course.code, kind="single",
                     stem="只有两个选项的题", options="甲\n乙", answer="A")  # fmt: skip
    assert course.version == 1 and not authoring_page(session, course.code).versions
    set_status(session, actor_id=admin.id, code=course.code, status="published")
    assert course.version == 1 and course.status == CourseStatus.PUBLISHED
    update_course(session, actor_id=admin.id, code=course.code, title=course.title,
                  summary=course.summary, category=course.category, hours="5")  # fmt: skip
    edit_unit(session, actor_id=admin.id, code=course.code, unit_id=pdf.id, title="", body="",
              retire=True)  # fmt: skip
    page = authoring_page(session, course.code)
    assert [v.version for v in page.versions] == [3, 2, 1]
    assert page.versions[0].snapshot["hours"] == 5 and len(page.versions[0].snapshot["units"]) == 1
    set_status(session, actor_id=admin.id, code=course.code, status="retired")
    assert course.version == 4


def test_editing_a_published_course_keeps_what_was_credited(session, policy, tmp_path):
    admin, teacher = make_teacher(session), make_teacher(session)
    course = draft(session, admin.id)
    import_lesson(session, actor_id=admin.id, code=course.code, data=LESSON.encode())
    set_status(session, actor_id=admin.id, code=course.code, status="published")
    enrol_teacher(session, teacher_id=teacher.id, code=course.code)
    unit = session.scalar(select(CourseUnit).where(CourseUnit.course_id == course.id))
    open_unit(session, teacher_id=teacher.id, code=course.code, unit_id=unit.id)
    reach_end(session, policy=policy, teacher_id=teacher.id, code=course.code, unit_id=unit.id)
    a = start_attempt(session, policy=policy, teacher_id=teacher.id, code=course.code)
    submit_attempt(session, policy=policy, teacher_id=teacher.id, code=course.code,
                   attempt_id=a.id, answers=right_answers(session, a.paper))  # fmt: skip
    done = complete_teacher_course(session, policy=policy, teacher_id=teacher.id, code=course.code)
    credited_version = course.version
    assert done.credited and done.record.hours == 3
    update_course(session, actor_id=admin.id, code=course.code, title="新编课程：关爱学生（修订版）",
                  summary=course.summary, category=course.category, hours="6")  # fmt: skip
    add_unit(session, actor_id=admin.id, code=course.code, kind="text", title="新增单元",
             body=TEXT, duration="", data=b"", media_dir=tmp_path)  # fmt: skip
    session.expire_all()
    record = session.scalar(select(CreditRecord))
    assert record.hours == 3 and record.evidence["course_version"] == credited_version
    assert course.version > credited_version
    assert not complete_teacher_course(session, policy=policy, teacher_id=teacher.id,
                                       code=course.code).credited  # fmt: skip


def test_an_import_is_all_or_nothing_and_refuses_media_files(session):
    admin = make_teacher(session)
    course = draft(session, admin.id)
    with pytest.raises(Invalid, match="导入文件有误"):
        import_lesson(session, actor_id=admin.id, code=course.code,
                      data=b"units: [{key: u1, kind: text, title: x, body: short}]")  # fmt: skip
    with pytest.raises(Invalid, match="逐个上传"):
        import_lesson(session, actor_id=admin.id, code=course.code,
                      data=b"units: [{key: u1, kind: audio, title: audio unit, file: a.wav, duration: 5}]")  # fmt: skip
    assert not authoring_page(session, course.code).units
    units, questions = import_lesson(
        session, actor_id=admin.id, code=course.code, data=LESSON.encode()
    )
    assert (units, questions) == (1, 5)
