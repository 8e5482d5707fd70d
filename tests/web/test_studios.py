"""Studios in the browser: teachers browse, join, read pushed cases; hosts publish and push."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.web.helpers import form_token
from yanxiu.accounts.models import Role, User
from yanxiu.audit.models import AuditEntry
from yanxiu.practice.models import Diagnosis, DiagnosisStatus, PracticeRecord, RecordKind
from yanxiu.studios.models import CaseResource, Push, PushDelivery, Studio, StudioMember

HOST = "host.zhoumin"  # ST-MATH-JH, 初中数学
OTHER_HOST = "host.linxiaoyan"  # ST-CHN-PR


def _scalar(site, query):  # type: ignore[no-untyped-def]
    with site.factory() as s:
        return s.scalar(query)


def _studio(site, code: str) -> Studio:  # type: ignore[no-untyped-def]
    with site.factory() as s:
        studio = s.scalar(select(Studio).where(Studio.code == code))
        s.expunge(studio)
        return studio


def _user_id(site, username: str) -> int:  # type: ignore[no-untyped-def]
    return _scalar(site, select(User.id).where(User.username == username))


def _unpushed_case(site, studio_code: str) -> int:  # type: ignore[no-untyped-def]
    """A case of the studio that the demo never pushed."""
    with site.factory() as s:
        pushed = select(Push.case_id)
        return s.scalar(
            select(CaseResource.id)
            .join(Studio, Studio.id == CaseResource.studio_id)
            .where(Studio.code == studio_code, CaseResource.id.not_in(pushed))
            .order_by(CaseResource.id.desc())
        )


def _pushed_delivery(site, studio_code: str) -> tuple[str, int, int]:  # type: ignore[no-untyped-def]
    """(username, case id, delivery id) of an unopened demo delivery from this studio."""
    with site.factory() as s:
        row = s.execute(
            select(User.username, Push.case_id, PushDelivery.id)
            .join(PushDelivery, PushDelivery.teacher_id == User.id)
            .join(Push, Push.id == PushDelivery.push_id)
            .join(Studio, Studio.id == Push.studio_id)
            .where(Studio.code == studio_code, PushDelivery.opened_at.is_(None))
            .order_by(PushDelivery.id)
        ).first()
        assert row is not None
        return row[0], row[1], row[2]


def _outsider(site, studio_code: str) -> str:  # type: ignore[no-untyped-def]
    """A teacher who is neither a member of the studio nor a recipient of any of its cases."""
    studio = _studio(site, studio_code)
    with site.factory() as s:
        members = select(StudioMember.teacher_id).where(StudioMember.studio_id == studio.id)
        recipients = (
            select(PushDelivery.teacher_id)
            .join(Push, Push.id == PushDelivery.push_id)
            .where(Push.studio_id == studio.id)
        )
        return s.scalar(
            select(User.username)
            .where(User.role == Role.TEACHER, User.id.not_in(members), User.id.not_in(recipients))
            .order_by(User.id)
        )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- teachers


def test_teacher_browses_studios_and_a_studio_page(demo_site) -> None:
    client = demo_site.client("t001")
    page = client.get("/studios")
    assert page.status_code == 200
    assert "周敏初中数学名师工作室" in page.text and "推送收件箱" in page.text
    assert 'action="/studios/' in page.text and "加入" in page.text
    studio = _studio(demo_site, "ST-MATH-JH")
    detail = client.get(f"/studios/{studio.id}")
    assert detail.status_code == 200 and "案例资源" in detail.text and "成员" in detail.text
    assert client.get("/studios/999999").status_code == 404
    only_primary = client.get("/studios", params={"stage": "小学"})
    assert "林晓燕小学语文名师工作室" in only_primary.text
    assert "周敏初中数学名师工作室" not in only_primary.text
    api = client.get("/api/v1/studios").json()["studios"]
    assert {s["code"] for s in api} >= {"ST-MATH-JH", "ST-CHN-PR"}
    assert all({"members", "cases", "joined", "host"} <= s.keys() for s in api)


def test_join_is_idempotent_and_needs_csrf(fresh_site) -> None:
    client = fresh_site.client("t001")
    studio = _studio(fresh_site, "ST-MATH-JH")
    teacher = _user_id(fresh_site, "t001")
    page = client.get(f"/studios/{studio.id}")
    assert client.post(f"/studios/{studio.id}/join").status_code == 403  # no CSRF token
    token = form_token(page.text)
    for _ in range(2):
        response = client.post(f"/studios/{studio.id}/join", data={"csrf_token": token},
                               follow_redirects=False)  # fmt: skip
        assert response.status_code == 303
    members = _scalar(fresh_site, select(func.count(StudioMember.id)).where(
        StudioMember.studio_id == studio.id, StudioMember.teacher_id == teacher))  # fmt: skip
    assert members == 1
    after = client.get(f"/studios/{studio.id}")
    assert "您已加入" in after.text
    # now a member, the teacher may read the studio's cases
    case_id = _unpushed_case(fresh_site, "ST-MATH-JH")
    assert client.get(f"/studios/cases/{case_id}").status_code == 200
    assert client.post("/studios/999999/join", data={"csrf_token": token}).status_code == 404


def test_a_teacher_who_is_neither_member_nor_recipient_gets_403(demo_site) -> None:
    outsider = _outsider(demo_site, "ST-MATH-JH")
    client = demo_site.client(outsider)
    case_id = _unpushed_case(demo_site, "ST-MATH-JH")
    page = client.get(f"/studios/cases/{case_id}")
    assert page.status_code == 403 and "无权访问" in page.text
    assert client.get("/studios/cases/999999").status_code == 404


def test_inbox_open_once_and_complete(fresh_site) -> None:
    username, case_id, delivery_id = _pushed_delivery(fresh_site, "ST-MATH-JH")
    client = fresh_site.client(username)
    inbox = client.get("/studios/inbox")
    assert inbox.status_code == 200 and "未读" in inbox.text
    assert f"/studios/cases/{case_id}" in inbox.text
    api = client.get("/api/v1/studios/inbox").json()
    unread_before = api["unread"]
    assert any(i["case_id"] == case_id and i["unread"] for i in api["items"])
    dates = [i["delivered_at"] for i in api["items"]]
    assert dates == sorted(dates, reverse=True)

    page = client.get(f"/studios/cases/{case_id}")
    assert page.status_code == 200 and "标记为已学完" in page.text
    assert "turn-teacher" in page.text  # the transcript is rendered turn by turn

    def delivery() -> PushDelivery:
        with fresh_site.factory() as s:
            row = s.get(PushDelivery, delivery_id)
            s.expunge(row)
            return row

    # reading the page (or a prefetch of it) changes nothing; the page then says it was shown
    assert delivery().opened_at is None
    assert f'hx-post="/studios/cases/{case_id}/opened"' in page.text
    assert client.post(f"/studios/cases/{case_id}/opened").status_code == 403  # CSRF
    token = {"X-CSRF-Token": form_token(page.text)}
    assert client.post(f"/studios/cases/{case_id}/opened", headers=token).status_code == 204
    first = delivery().opened_at
    assert first is not None and delivery().completed_at is None
    client.post(f"/studios/cases/{case_id}/opened", headers=token)
    assert delivery().opened_at == first  # set once
    assert (
        "hx-post" not in client.get(f"/studios/cases/{case_id}").text.split("case-status")[0][-200:]
    )
    assert client.get("/api/v1/studios/inbox").json()["unread"] == unread_before - 1

    assert client.post(f"/studios/cases/{case_id}/complete").status_code == 403  # CSRF
    done = client.post(f"/studios/cases/{case_id}/complete",
                       data={"csrf_token": form_token(page.text)})  # fmt: skip
    assert done.status_code == 200 and "已学完" in done.text
    assert delivery().completed_at is not None and delivery().opened_at == first


def test_complete_without_a_delivery_is_refused(fresh_site) -> None:
    client = fresh_site.client("t001")
    studio = _studio(fresh_site, "ST-MATH-JH")
    token = form_token(client.get(f"/studios/{studio.id}").text)
    client.post(f"/studios/{studio.id}/join", data={"csrf_token": token})
    case_id = _unpushed_case(fresh_site, "ST-MATH-JH")
    response = client.post(f"/studios/cases/{case_id}/complete", data={"csrf_token": token})
    assert response.status_code == 409


# -- hosts


def test_host_console_lists_members_cases_and_pushes(demo_site) -> None:
    client = demo_site.client(HOST)
    page = client.get("/studio")
    assert page.status_code == 200
    text = _text(page.text)
    assert "周敏初中数学名师工作室" in text
    for heading in ("最近推送", "案例资源", "成员"):
        assert heading in text
    assert "查看分析" in text and ("乡村" in text or "镇区" in text or "城区" in text)
    assert demo_site.client("trainer.linjiang").get("/studio").status_code == 403


def test_host_cannot_reach_another_studio(demo_site) -> None:
    client = demo_site.client(OTHER_HOST)
    mine = _studio(demo_site, "ST-MATH-JH")
    case_id = _unpushed_case(demo_site, "ST-MATH-JH")
    push_id = _scalar(demo_site, select(Push.id).where(Push.studio_id == mine.id))
    assert client.get(f"/studio/pushes/{push_id}").status_code == 403
    assert client.get(f"/studio?studio_id={mine.id}").status_code == 403
    assert client.get(f"/studio/cases/new?studio_id={mine.id}").status_code == 403
    assert client.get(f"/studio/push?case_id={case_id}").status_code == 403
    assert client.get("/studio/push/audience", params={"case_id": case_id},
                      headers={"HX-Request": "true"}).status_code == 403  # fmt: skip
    assert client.get(f"/studios/cases/{case_id}").status_code == 403
    assert (
        client.get("/api/v1/studio/push/audience", params={"case_id": case_id}).status_code == 403
    )
    token = form_token(client.get("/studio").text)
    teacher = _user_id(demo_site, "t001")
    before = _scalar(demo_site, select(func.count(Push.id)))
    refused = client.post("/studio/push", data={"case_id": case_id, "teacher_id": [teacher],
                                                "csrf_token": token})  # fmt: skip
    assert refused.status_code == 403
    api = client.post("/api/v1/studio/push", json={"case_id": case_id, "teacher_ids": [teacher]},
                      headers={"X-CSRF-Token": token})  # fmt: skip
    assert api.status_code == 403
    assert _scalar(demo_site, select(func.count(Push.id))) == before
    assert demo_site.client("t001").get(f"/studio/pushes/{push_id}").status_code == 403
    assert client.get("/studio/pushes/999999").status_code == 404


def test_publish_case_validates_every_field_and_writes_nothing_on_error(fresh_site) -> None:
    client = fresh_site.client(HOST)
    form = client.get("/studio/cases/new")
    assert form.status_code == 200
    for label in (
        'for="f-title"',
        'for="f-kind"',
        'for="f-summary"',
        'for="f-body"',
        'for="f-file"',
    ):
        assert label in form.text
    token = form_token(form.text)
    count = select(func.count(CaseResource.id))
    before = _scalar(fresh_site, count)
    bad = client.post("/studio/cases", data={"csrf_token": token, "title": "短", "kind": "video",
                                             "stage": "初中", "subject": "数学", "summary": "太短",
                                             "body": "[00:00:01] 师：好。"})  # fmt: skip
    assert bad.status_code == 422
    text = _text(bad.text)
    assert "标题应为" in text and "请选择案例类型" in text and "内容简介应为" in text
    assert "正文至少" in text and 'aria-invalid="true"' in bad.text
    assert 'value="短"' in bad.text  # what was typed is kept
    assert _scalar(fresh_site, count) == before

    not_a_transcript = "这是一段没有说话人标记的文字。" * 12
    bad_body = client.post("/studio/cases", data={
        "csrf_token": token, "title": "《勾股定理》复习课实录", "kind": "transcript", "stage": "初中",
        "subject": "数学", "summary": "复习课上教师组织学生互相出题、互相评价的片段。", "body": not_a_transcript})  # fmt: skip
    assert bad_body.status_code == 422 and "课堂实录格式有误" in bad_body.text
    assert _scalar(fresh_site, count) == before

    body = "\n".join(
        f"[00:{m:02d}:00] 师：第{m}个问题，你是怎么想的？为什么这样做？\n[00:{m:02d}:30] 生A：我先画图，再列方程。"
        for m in range(1, 8)
    )  # fmt: skip
    ok = client.post("/studio/cases", data={
        "csrf_token": token, "title": "《勾股定理》复习课实录", "kind": "transcript", "stage": "初中",
        "subject": "数学", "grade": "八年级", "summary": "复习课上教师组织学生互相出题、互相评价的片段。",
        "body": body, "competencies": ["PRC-QUES", "PRC-FEEDBACK"]}, follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303 and ok.headers["location"].startswith("/studio")
    with fresh_site.factory() as s:
        case = s.scalar(select(CaseResource).order_by(CaseResource.id.desc()))
        assert case.title == "《勾股定理》复习课实录" and case.code.startswith("ST-MATH-JH-U")
        assert case.competencies == ["PRC-QUES", "PRC-FEEDBACK"] and case.grade == "八年级"
        case_id = case.id
    assert client.get(f"/studios/cases/{case_id}").status_code == 200

    upload = client.post("/studio/cases", data={
        "csrf_token": token, "title": "《平方根》教学反思", "kind": "reflection", "stage": "初中",
        "subject": "数学", "summary": "反思学生对算术平方根与平方根的混淆及改进办法。"},
        files={"file": ("反思.txt", ("这节课上我发现学生总是把平方根和算术平方根混为一谈。" * 6).encode())},
        follow_redirects=False)  # fmt: skip
    assert upload.status_code == 303
    bad_file = client.post("/studio/cases", data={
        "csrf_token": token, "title": "《平方根》教学反思二", "kind": "reflection", "stage": "初中",
        "subject": "数学", "summary": "反思学生对算术平方根与平方根的混淆及改进办法。"},
        files={"file": ("slides.pptx", b"PK\x03\x04binary")})  # fmt: skip
    assert bad_file.status_code == 422 and "不支持" in bad_file.text
    assert _scalar(fresh_site, count) == before + 2


def _add_reviewed_weakness(site, username: str, competency: str, severity: float) -> int:  # type: ignore[no-untyped-def]
    with site.factory() as s, s.begin():
        teacher = s.scalar(select(User).where(User.username == username))
        record = PracticeRecord(teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT, title="公开课实录",
                                text="师：对不对？", sha256="1" * 64, stage="初中", subject="数学")  # fmt: skip
        s.add(record)
        s.flush()
        s.add(Diagnosis(record_id=record.id, model_version="test", status=DiagnosisStatus.ACCEPTED,
                        report={"weaknesses": [{"competency": competency, "severity": severity,
                                                "dimension": "提问质量"}]}))  # fmt: skip
        return teacher.id


def _math_teachers(client, case_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Urban 初中数学 teachers in the host's city who never received this case."""
    data = client.get("/api/v1/studio/push/audience",
                      params={"case_id": case_id, "size": 200, "location": "urban"}).json()  # fmt: skip
    return [c["username"] for c in data["candidates"] if not c["weak_school"]]


def test_push_wizard_ranks_by_need_and_the_push_reaches_the_inbox(fresh_site) -> None:
    host = fresh_site.client(HOST)
    case_id = _unpushed_case(fresh_site, "ST-MATH-JH")
    needy, plain = _math_teachers(host, case_id)[-2:]  # the two lowest-ranked ones
    _add_reviewed_weakness(fresh_site, needy, "PRC-QUES", 0.9)
    with fresh_site.factory() as s:  # make sure the case teaches questioning
        s.get(CaseResource, case_id).competencies = ["PRC-QUES", "PRC-ENGAGE"]
        s.commit()

    wizard = host.get("/studio/push", params={"case_id": case_id})
    assert wizard.status_code == 200
    assert "乡村/薄弱校优先" in wizard.text and "覆盖预览" in wizard.text
    assert 'hx-get="/studio/push/audience"' in wizard.text

    audience = host.get(
        "/api/v1/studio/push/audience", params={"case_id": case_id, "size": 200}
    ).json()
    names = [c["username"] for c in audience["candidates"]]
    assert names[0] == needy and names.index(needy) < names.index(plain)
    top = audience["candidates"][0]
    assert top["need"] > 0.5 and top["matches"][0]["competency"] == "PRC-QUES"
    assert any("提问质量" in r for r in top["reasons"])
    assert audience["reach"]["teachers"] == len(names) and "formula" in audience
    rural = host.get("/api/v1/studio/push/audience",
                     params={"case_id": case_id, "location": "rural", "size": 200}).json()  # fmt: skip
    assert rural["candidates"] and all(c["location"] == "rural" for c in rural["candidates"])
    assert all(c["boost"] <= 0.15 + 1e-9 for c in audience["candidates"])

    partial = host.get("/studio/push/audience", params={"case_id": case_id, "weak_only": "1"},
                       headers={"HX-Request": "true"})  # fmt: skip
    assert partial.status_code == 200 and "<html" not in partial.text and "薄弱校" in partial.text
    ids = [_user_id(fresh_site, needy), _user_id(fresh_site, plain)]
    reach = host.get("/studio/push/audience", params={"case_id": case_id, "reach_only": "1",
                                                      "teacher_id": ids}, headers={"HX-Request": "true"})  # fmt: skip
    assert reach.status_code == 200 and "2</strong> 位教师" in reach.text

    token = form_token(wizard.text)
    assert (
        host.post("/studio/push", data={"case_id": case_id, "teacher_id": ids}).status_code == 403
    )
    sent = host.post("/studio/push", data={"case_id": case_id, "teacher_id": ids, "note": "请重点看追问",
                                           "csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303
    push_id = int(sent.headers["location"].rsplit("/", 1)[1])
    deliveries = select(func.count(PushDelivery.id)).where(PushDelivery.push_id == push_id)
    assert _scalar(fresh_site, deliveries) == 2
    again = host.post("/studio/push", data={"case_id": case_id, "teacher_id": ids,
                                            "csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert again.headers["location"] == f"/studio/pushes/{push_id}"
    assert _scalar(fresh_site, select(func.count(PushDelivery.id)).join(Push).where(
        Push.case_id == case_id)) == 2  # fmt: skip
    audit = select(func.count(AuditEntry.id)).where(AuditEntry.action == "studio.push")
    assert _scalar(fresh_site, audit) == 1

    teacher = fresh_site.client(needy)
    inbox = teacher.get("/studios/inbox")
    assert "请重点看追问" in inbox.text and f"/studios/cases/{case_id}" in inbox.text
    shown = teacher.get(f"/studios/cases/{case_id}")  # a recipient, not a member
    assert shown.status_code == 200
    opened = teacher.post(f"/studios/cases/{case_id}/opened",
                          headers={"X-CSRF-Token": form_token(shown.text)})  # fmt: skip
    assert opened.status_code == 204  # what the page sends once it is shown
    page = host.get(f"/studio/pushes/{push_id}")
    assert page.status_code == 200 and "data-chart=" in page.text and "分学校情况" in page.text
    text = _text(page.text)
    assert "已送达" in text and "已打开（50%）" in text and "已学完（0%）" in text


def test_push_api_needs_csrf_and_validates(fresh_site) -> None:
    host = fresh_site.client(HOST)
    case_id = _unpushed_case(fresh_site, "ST-MATH-JH")
    teacher = _user_id(fresh_site, _math_teachers(host, case_id)[0])
    body = {"case_id": case_id, "teacher_ids": [teacher], "note": "请阅读"}
    assert host.post("/api/v1/studio/push", json=body).status_code == 403  # no CSRF header
    token = form_token(host.get("/studio").text)
    created = host.post("/api/v1/studio/push", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201 and created.json()["delivered"] == 1
    repeat = host.post("/api/v1/studio/push", json=body, headers={"X-CSRF-Token": token})
    assert repeat.status_code == 200 and repeat.json()["created"] is False
    assert repeat.json()["push_id"] == created.json()["push_id"]
    empty = host.post("/api/v1/studio/push", json={"case_id": case_id, "teacher_ids": []},
                      headers={"X-CSRF-Token": token})  # fmt: skip
    assert empty.status_code == 422
    admin = _user_id(fresh_site, "admin")
    outside = host.post("/api/v1/studio/push", json={"case_id": case_id, "teacher_ids": [admin]},
                        headers={"X-CSRF-Token": token})  # fmt: skip
    assert outside.status_code == 422 and "推送范围" in outside.json()["detail"]
    teacher_client = fresh_site.client("t001")
    assert (
        teacher_client.get("/api/v1/studio/push/audience", params={"case_id": case_id}).status_code
        == 403
    )


def test_anonymous_visitors_are_sent_to_login(demo_site) -> None:
    client = demo_site.client()
    for path in ("/studios", "/studios/inbox", "/studio", "/studio/push", "/studios/cases/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/api/v1/studios").status_code == 401
    assert client.get("/api/v1/studio/push/audience", params={"case_id": 1}).status_code == 401
