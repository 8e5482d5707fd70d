"""Study pages over the demo: media served with ranges to those who may study them, and no
page or API response carrying a quiz's answers before it is submitted."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.web.helpers import form_token
from yanxiu.accounts.models import User
from yanxiu.catalog.models import Course, CourseUnit, Enrolment, QuizQuestion, UnitKind
from yanxiu.config import PROJECT_ROOT
from yanxiu.learning.models import UnitProgress

PDF_COURSE, AUDIO_COURSE, VIDEO_COURSE = "SD-005", "XL-010", "RZ-011"


def teacher_outside(site, *codes: str) -> str:
    """A teacher enrolled in none of ``codes``."""
    with site.factory() as s:
        taken = (
            select(Enrolment.teacher_id)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Course.code.in_(codes))
        )
        name = s.scalar(
            select(User.username).where(User.role == "teacher", User.id.not_in(taken))
            .order_by(User.username.desc())
        )  # fmt: skip
        assert name is not None
        return name


def media_unit(site, code: str, kind: UnitKind | None = None) -> CourseUnit:
    with site.factory() as s:
        unit = s.scalar(
            select(CourseUnit).join(Course, Course.id == CourseUnit.course_id)
            .where(Course.code == code, CourseUnit.media_file != "",
                   *([CourseUnit.kind == kind] if kind else []))
            .order_by(CourseUnit.position)
        )  # fmt: skip
        assert unit is not None
        s.expunge(unit)
        return unit


def test_media_are_served_with_ranges_only_to_those_who_study_them(fresh_site):
    username = teacher_outside(fresh_site, AUDIO_COURSE)
    client = fresh_site.client(username)
    unit = media_unit(fresh_site, AUDIO_COURSE)
    url = f"/courses/{AUDIO_COURSE}/units/{unit.id}/media"
    assert client.get(url).status_code == 403  # not enrolled yet
    token = form_token(client.get(f"/courses/{AUDIO_COURSE}").text)
    client.post(f"/courses/{AUDIO_COURSE}/enrol", data={"csrf_token": token})
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    assert whole.headers["accept-ranges"] == "bytes" and whole.content[:4] == b"RIFF"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert fresh_site.client("host.zhoumin").get(url).status_code == 403
    assert fresh_site.client("trainer.linjiang").get(url).status_code == 200  # staff review
    anonymous = fresh_site.client().get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    pdf = media_unit(fresh_site, PDF_COURSE, UnitKind.DOCUMENT)
    # the PDF's page may embed it from here (and only its page); the file only in this site
    assert "frame-ancestors 'self'" in whole.headers["content-security-policy"]
    assert whole.headers["x-frame-options"] == "SAMEORIGIN"
    trainer = fresh_site.client("trainer.linjiang")
    pdf_page = trainer.get(f"/courses/{PDF_COURSE}/units/{pdf.id}")
    assert "object-src 'self'" in pdf_page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in pdf_page.headers["content-security-policy"]
    audio_page = trainer.get(f"/courses/{AUDIO_COURSE}/units/{unit.id}")
    assert "object-src 'none'" in audio_page.headers["content-security-policy"]
    wrong_course = client.get(f"/courses/{AUDIO_COURSE}/units/{pdf.id}/media")
    assert wrong_course.status_code == 404  # a unit is reached through its own course only


def test_no_response_carries_the_answers_before_submission(fresh_site):
    username = teacher_outside(fresh_site, PDF_COURSE)
    client = fresh_site.client(username)
    token = form_token(client.get(f"/courses/{PDF_COURSE}").text)
    client.post(f"/courses/{PDF_COURSE}/enrol", data={"csrf_token": token})
    start = client.post(f"/courses/{PDF_COURSE}/quiz", data={"csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    quiz_url = start.headers["location"]
    responses = {
        "quiz page": client.get(quiz_url).text,
        "course page": client.get(f"/courses/{PDF_COURSE}").text,
        "course API": client.get(f"/api/v1/courses/{PDF_COURSE}").text,
        "catalog API": client.get("/api/v1/courses", params={"q": PDF_COURSE}).text,
    }
    with fresh_site.factory() as s:
        course_id = s.scalar(select(Course.id).where(Course.code == PDF_COURSE))
        units = s.scalars(select(CourseUnit.id).where(CourseUnit.course_id == course_id)).all()
        bank = s.scalars(select(QuizQuestion).where(QuizQuestion.course_id == course_id)).all()
        explanations = [q.explanation for q in bank if q.explanation]
    for unit_id in units:
        responses[f"unit {unit_id}"] = client.get(f"/courses/{PDF_COURSE}/units/{unit_id}").text
    for where, body in responses.items():
        lowered = body.lower()
        for marker in ("answer", "correct", "data-right", "✓", "正确答案", *explanations):
            assert marker.lower() not in lowered, f"{marker!r} in the {where}"
    # on the quiz page every option of a question is marked up alike, whatever its truth
    page = responses["quiz page"]
    inputs = re.findall(r'<input type="(\w+)" name="q(\d+)" value="(\d+)">', page)
    assert len({q for _, q, _ in inputs}) == 5
    for qid in {q for _, q, _ in inputs}:
        values = sorted(int(v) for _, q, v in inputs if q == qid)
        assert values == list(range(len(values)))  # shown positions, not option ids


def test_a_video_is_served_as_webm_with_ranges_and_played_in_a_reporting_player(fresh_site):
    username = teacher_outside(fresh_site, VIDEO_COURSE)
    client = fresh_site.client(username)
    unit = media_unit(fresh_site, VIDEO_COURSE, UnitKind.VIDEO)
    source = (
        PROJECT_ROOT / "content" / "lessons" / "media" / "rz-011-first-minutes.webm"
    ).read_bytes()
    url = f"/courses/{VIDEO_COURSE}/units/{unit.id}/media"
    token = form_token(client.get(f"/courses/{VIDEO_COURSE}").text)
    client.post(f"/courses/{VIDEO_COURSE}/enrol", data={"csrf_token": token})
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/webm"
    assert whole.headers["accept-ranges"] == "bytes" and whole.content == source
    # what a <video> asks for: the head, a seek into the middle (open-ended), the tail
    head = client.get(url, headers={"Range": "bytes=0-4095"})
    assert head.status_code == 206 and head.headers["content-type"] == "video/webm"
    assert head.content == source[:4096] and head.content[:4] == b"\x1a\x45\xdf\xa3"
    assert head.headers["content-range"] == f"bytes 0-4095/{len(source)}"
    middle = len(source) // 2
    seek = client.get(url, headers={"Range": f"bytes={middle}-"})
    assert seek.status_code == 206 and seek.content == source[middle:]
    assert seek.headers["content-length"] == str(len(source) - middle)
    tail = client.get(url, headers={"Range": "bytes=-1000"})
    assert tail.status_code == 206 and tail.content == source[-1000:]
    beyond = client.get(url, headers={"Range": f"bytes={len(source) + 10}-"})
    assert beyond.status_code == 416

    # the unit page plays it in a <video> whose reports come from the shared study script
    page = client.get(f"/courses/{VIDEO_COURSE}/units/{unit.id}").text
    assert re.search(rf'<video id="player"[^>]* src="{re.escape(url)}"', page)
    assert 'data-kind="video"' in page and 'data-study="on"' in page
    assert '<script src="/static/js/study.js"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # CSP: no inline script

    # a report far ahead of what real time allows is refused and counts nothing
    api = f"/api/v1/courses/{VIDEO_COURSE}/units/{unit.id}"
    csrf = {"X-CSRF-Token": token}
    assert client.post(f"{api}/opened", headers=csrf).status_code == 204
    first = client.post(f"{api}/position", json={"position": 0}, headers=csrf).json()
    assert first["frontier"] == 0 and not first["refused"]
    jump = client.post(f"{api}/position", json={"position": 21}, headers=csrf).json()
    assert jump["refused"] and jump["frontier"] < 3 and not jump["unit_completed"]
    assert "跳过的部分不计入" in jump["message"]
    with fresh_site.factory() as s:
        me = s.scalar(select(User.id).where(User.username == username))
        row = s.scalar(
            select(UnitProgress).where(
                UnitProgress.unit_id == unit.id, UnitProgress.teacher_id == me
            )
        )
        assert row is not None and row.completed_at is None and row.refused_jumps == 1
