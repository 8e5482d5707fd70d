"""The speaker-mapping step of a practice upload (issue 20): an ASR export's speakers are shown
with their first lines and shares, mapped by the teacher, and only then scored and stored."""

from __future__ import annotations

import re

from tests.web.helpers import form_token
from tests.web.test_practice import counts, upload

ASR = (
    "[00:00:01] SPEAKER_00：同学们好，今天我们学习分数的意义，请看屏幕上的图，你发现了什么？\n"
    "[00:00:12] SPEAKER_01：我发现一个圆被平均分成了四份。\n"
    "[00:00:18] SPEAKER_00：说得很清楚，平均分成四份，每份是它的几分之几？为什么？\n"
    "[00:00:30] SPEAKER_02：四分之一，因为是平均分的。\n"
)


def test_asr_upload_is_mapped_by_the_teacher_before_it_is_stored(fresh_site):
    t010 = fresh_site.client("t010")
    before = counts(fresh_site)
    page = upload(t010, data=ASR.encode(), name="转写.txt", title="分数的意义")
    assert page.status_code == 200 and counts(fresh_site) == before  # nothing stored yet
    assert "请确认说话人" in page.text and "SPEAKER_01" in page.text
    assert "我发现一个圆被平均分成了四份" in page.text  # first lines shown
    selected = re.findall(r'<option value="([^"]+)" selected>', page.text)
    assert selected == ["师", "生", "生"]  # most talk = 师
    pending = re.search(r'name="pending" value="([^"]*)"', page.text).group(1)

    preview = t010.post(
        "/practice/speakers/preview",
        data={"role": ["师", "生", "忽略"], "share": ["0.7", "0.2", "0.1"]},
        headers={"X-CSRF-Token": form_token(page.text), "HX-Request": "true"},
    )
    assert preview.status_code == 200 and "教师 70%" in preview.text and "忽略 10%" in preview.text

    done = t010.post(
        "/practice",
        data={"csrf_token": form_token(page.text), "kind": "transcript", "title": "分数的意义",
              "pending": pending, "pending_name": "转写.txt",
              "speaker": ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"],
              "role": ["师", "生", "生"], "name": ["", "", "张华"]},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303, done.text[:500]
    assert counts(fresh_site) == (before[0] + 1, before[1] + 1)
    record = t010.get(done.headers["location"]).text
    assert "生（张华）" in record and "SPEAKER_02" not in record


def test_a_role_not_offered_is_refused(fresh_site):
    t010 = fresh_site.client("t010")
    page = upload(t010, data=ASR.encode(), name="转写.txt")
    pending = re.search(r'name="pending" value="([^"]*)"', page.text).group(1)
    bad = t010.post(
        "/practice",
        data={"csrf_token": form_token(page.text), "kind": "transcript", "pending": pending,
              "pending_name": "转写.txt", "speaker": ["SPEAKER_00"], "role": ["校长"]},
    )  # fmt: skip
    assert bad.status_code == 422 and "请为说话人“SPEAKER_00”选择" in bad.text


def test_the_teacher_sees_reviewed_scores_over_time_never_a_pending_draft(fresh_site):
    from sqlalchemy import select

    from yanxiu.accounts.models import User
    from yanxiu.practice.models import DiagnosisStatus, RecordKind
    from yanxiu.practice.service import submit_record
    from yanxiu.practice.workspace import practice_index

    lesson = "[00:00:01] 师：今天学分数，你发现了什么？\n[00:00:08] 生A：我发现圆被平均分成了四份，所以是四分之一。\n"
    with fresh_site.factory() as s:
        teacher = s.scalar(select(User).where(User.username == "t010"))
        made = []
        for title in ("第一课", "第二课", "第三课（待审核）"):
            made.append(submit_record(s, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT,
                                      data=lesson.encode(), filename="l.txt", title=title)[1])  # fmt: skip
        for diagnosis in made[:2]:
            diagnosis.status = DiagnosisStatus.ACCEPTED  # as a trainer's accept leaves it
        s.commit()
        view = practice_index(s, teacher.id)
    labels = [label for label, _ in view.trend_rows]
    assert view.trend is not None and view.trend["type"] == "line"
    assert [label.split(" ", 1)[1] for label in labels] == ["第一课", "第二课"]
    assert "提问质量" in view.trend_rows[0][1]
    page = fresh_site.client("t010").get("/practice").text
    assert (
        "我的课堂诊断变化" in page
        and "第三课（待审核）" not in page.split("我的课堂诊断变化")[1].split("</section>")[0]
    )


def test_the_api_takes_a_speaker_map(fresh_site):
    t010 = fresh_site.client("t010")
    headers = {"X-CSRF-Token": form_token(t010.get("/practice").text)}
    body = {"kind": "transcript", "title": "API 转写", "text": ASR}
    need = t010.post("/api/v1/practice", data=body, headers=headers)
    assert need.status_code == 422 and "SPEAKER_00" in need.json()["detail"]["message"]
    bad = t010.post("/api/v1/practice", data={**body, "speaker_map": "SPEAKER_00"}, headers=headers)
    assert bad.status_code == 422 and "SPEAKER_00=师" in bad.json()["detail"]["message"]
    mapped = {**body, "speaker_map": "SPEAKER_00=师,SPEAKER_01=生,SPEAKER_02=生（张华）"}
    ok = t010.post("/api/v1/practice", data=mapped, headers=headers)
    assert ok.status_code == 201, ok.text
