"""检索同义词 (/admin/search/synonyms): an admin adds a synonym and teachers' searches use it at
once (lexical backend); refusals keep the form as typed (422, 409); only admins; CSRF needed;
two admins adding one alias at the same moment: one 303, one 409, never a 500."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.web.helpers import form_token
from yanxiu.audit.models import AuditEntry
from yanxiu.search.models import SiteSynonym

PAGE = "/admin/search/synonyms"
# The demo catalog has no course for "UbD" (逆向设计, Understanding by Design): no match until
# a synonym says what it means in the catalog's words.
ALIAS, EXPANSION = "UbD", "逆向设计 单元整体教学"


def codes(client, q: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["code"] for r in client.get("/api/v1/search", params={"q": q}).json()["results"]]


def add(client, aliases: str, expansion: str, token: str | None = None):  # type: ignore[no-untyped-def]
    token = token or form_token(client.get(PAGE).text)
    return client.post(PAGE, data={"aliases": aliases, "expansion": expansion,
                                   "csrf_token": token}, follow_redirects=False)  # fmt: skip


def test_an_admin_adds_a_synonym_and_searches_use_it(fresh_site):
    admin, teacher = fresh_site.client("admin"), fresh_site.client("t077")
    assert codes(teacher, ALIAS) == []
    assert "没有找到合适的课程" in teacher.get("/courses/search", params={"q": ALIAS}).text
    page = admin.get(PAGE)
    assert page.status_code == 200 and "内置" in page.text and "项目式学习" in page.text

    added = add(admin, f"{ALIAS}、逆向设计法", EXPANSION)
    assert added.status_code == 303 and added.headers["location"].startswith(f"{PAGE}?q=ubd")
    shown = admin.get(added.headers["location"])
    assert "已添加同义词“ubd、逆向设计法 → 逆向设计 单元整体教学”" in shown.text
    assert 'id="try-expansions"><span class="badge info">逆向设计 单元整体教学</span>' in shown.text
    assert "/courses/XK-" in shown.text  # 试一试 shows the first results

    found = codes(teacher, "UbD 怎么用")  # the same process (the page rebuilt its parser)
    assert "XK-YY-04" in found[:3]  # 基于主题意义探究的初中英语单元整体教学
    # the catalog page's cache of results does not outlive the table it was read with
    listed = teacher.get("/courses/search", params={"q": ALIAS}).text
    assert "没有找到合适的课程" not in listed and "/courses/XK-YY-04" in listed
    tried = admin.get(f"{PAGE}/try", params={"q": "逆向设计法"}, headers={"HX-Request": "true"})
    assert "<html" not in tried.text and "逆向设计 单元整体教学" in tried.text

    with fresh_site.factory() as s:
        entry = s.scalar(select(SiteSynonym).where(SiteSynonym.expansion == EXPANSION))
        assert entry is not None and entry.added_by is not None
        assert (
            s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "synonym.add"))
            == 1
        )
    token = form_token(admin.get(PAGE).text)
    removed = admin.post(f"{PAGE}/remove", data={"synonym_id": entry.id, "csrf_token": token},
                         follow_redirects=True)  # fmt: skip
    assert "已移除同义词" in removed.text and "移除记录（1 条）" in removed.text
    assert codes(teacher, ALIAS) == []  # after the page rebuilt the parser


def test_refusals_keep_the_form_and_say_why(fresh_site):
    admin = fresh_site.client("admin")
    empty = add(admin, "", EXPANSION)
    assert empty.status_code == 422 and "请至少填写一个别名" in empty.text
    assert f'value="{EXPANSION}"' in empty.text  # what was typed stays
    shipped = add(admin, "大观念、PBL", "大概念")
    assert shipped.status_code == 409 and "“pbl”已属于内置条目" in shipped.text
    assert 'value="大观念、PBL"' in shipped.text
    warned = admin.get(add(admin, "量子课", "量子纠缠 暗物质").headers["location"])
    assert "都没有出现" in warned.text and "flash-warn" in warned.text


def test_only_admins_and_only_with_the_csrf_token(fresh_site):
    teacher, trainer = fresh_site.client("t077"), fresh_site.client("trainer.linjiang")
    for client in (teacher, trainer):
        assert client.get(PAGE).status_code == 403
        assert client.get(f"{PAGE}/try", params={"q": "PBL"}).status_code == 403
    token = form_token(teacher.get("/courses").text)
    assert add(teacher, ALIAS, EXPANSION, token=token).status_code == 403
    admin = fresh_site.client("admin")
    no_token = admin.post(PAGE, data={"aliases": ALIAS, "expansion": EXPANSION})
    assert no_token.status_code == 403
    with fresh_site.factory() as s:
        assert s.scalar(select(func.count(SiteSynonym.id))) == 0
    nav = admin.get("/admin/gaps").text
    assert 'href="/admin/search/synonyms"' in nav and "检索同义词" in nav


def test_two_admins_adding_one_alias_at_once(fresh_site):
    clients = [fresh_site.client("admin"), fresh_site.client("admin.baishi")]
    tokens = [form_token(c.get(PAGE).text) for c in clients]
    barrier = threading.Barrier(2)
    statuses: list[int] = [0, 0]

    def run(i: int) -> None:
        barrier.wait()
        statuses[i] = add(clients[i], f"{ALIAS}、别名{i}", EXPANSION, token=tokens[i]).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(statuses) == [303, 409]
    with fresh_site.factory() as s:
        assert s.scalar(select(func.count(SiteSynonym.id))) == 1
