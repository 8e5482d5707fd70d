"""Bidi overrides and NUL are refused in titles and names, with one Chinese message (issue 19):
in the schemas (catalog import, content cases), in the services (accounts, studio cases,
practice uploads) and so on the pages and the API (422, nothing stored)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from tests.factories import password_hash
from tests.web.helpers import form_token
from tests.web.test_practice import LECTURE, counts
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.catalog.schema import ResourceIn
from yanxiu.errors import Invalid
from yanxiu.safe_text import MESSAGE, check_plain
from yanxiu.studios.models import CaseResource

BAD = ["\x00", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
       "\u2069"]  # fmt: skip
RESOURCE = {
    "id": "SAFE-T1", "title": "课堂提问的设计与实践", "summary": "围绕提问链设计的系统学习。",
    "outline": ["提问链"], "category": "学科教学", "stages": ["初中"], "subjects": ["数学"],
    "hours": 4, "format": "online", "competencies": ["PRC-QUES"], "provider": "县教师发展中心",
}  # fmt: skip


@pytest.mark.parametrize("char", BAD)
def test_every_forbidden_character_is_refused_by_schema_and_service(char):
    with pytest.raises(ValidationError, match="改变文字方向"):
        ResourceIn(**{**RESOURCE, "title": f"课堂提问{char}的设计"})
    with pytest.raises(Invalid) as refused:
        check_plain(f"张{char}三", field="display_name", label="姓名")
    assert refused.value.fields == {"display_name": f"{MESSAGE}。"}


def test_ordinary_text_passes():
    assert ResourceIn(**{**RESOURCE, "title": "《勾股定理》复习课——“问题链”设计（八年级）"})
    assert check_plain("欧阳·娜娜 O'Neil", field="n", label="姓名") == "欧阳·娜娜 O'Neil"


def test_a_user_name_with_a_bidi_override_is_not_created(session):
    with pytest.raises(Invalid, match="姓名"):
        create_user(session, username="t.bidi", display_name="王\u202e老师", role=Role.TEACHER,
                    password_hash=password_hash())  # fmt: skip
    with pytest.raises(Invalid, match="用户名"):
        create_user(session, username="t\x00x", display_name="王老师", role=Role.TEACHER,
                    password_hash=password_hash())  # fmt: skip


def test_practice_titles_and_file_names_are_refused_on_the_page_and_the_api(demo_site):
    client = demo_site.client("t010")
    before = counts(demo_site)
    token = form_token(client.get("/practice").text)
    page = client.post("/practice", data={"kind": "transcript", "title": "行程\u202e问题",
                                          "text": LECTURE, "csrf_token": token})  # fmt: skip
    assert page.status_code == 422 and "改变文字方向" in page.text
    named = client.post("/practice", data={"kind": "transcript", "csrf_token": token},
                        files={"file": ("作业\u202etxt.exe.txt", LECTURE.encode())})  # fmt: skip
    assert named.status_code == 422 and "文件名" in named.text
    api = client.post("/api/v1/practice", data={"kind": "transcript", "title": "a\x00b", "text": LECTURE},
                      headers={"X-CSRF-Token": token})  # fmt: skip
    assert api.status_code == 422 and "空字符" in api.text
    assert counts(demo_site) == before


def test_a_studio_case_title_with_a_bidi_override_is_refused_beside_its_field(demo_site):
    client = demo_site.client("host.zhoumin")
    token = form_token(client.get("/studio/cases/new").text)
    with demo_site.factory() as s:
        before = s.scalar(select(func.count(CaseResource.id)))
    body = "\n".join(f"[00:{m:02d}:00] 师：第{m}个问题，你是怎么想的？\n[00:{m:02d}:30] 生A：我先画图。"
                     for m in range(1, 8))  # fmt: skip
    response = client.post("/studio/cases", data={
        "csrf_token": token, "title": "《勾股定理》\u2067复习课实录", "kind": "transcript", "stage": "初中",
        "subject": "数学", "summary": "复习课上教师组织学生互相出题、互相评价的片段。", "body": body})  # fmt: skip
    assert response.status_code == 422 and "改变文字方向" in response.text
    with demo_site.factory() as s:
        assert s.scalar(select(func.count(CaseResource.id))) == before
