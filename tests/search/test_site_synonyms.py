"""A site's own synonyms in the database: what is refused and why, one entry per alias even
under concurrent adds, removal kept as history, the pre-0015 file imported once, and every
worker process reading queries with the new table (its parser, not its index, rebuilt).

SQLite and, with YANXIU_TEST_DATABASE_URL, PostgreSQL (the ``session``/``db`` fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.factories import password_hash
from tests.test_races import race
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.audit.models import AuditEntry
from yanxiu.catalog.models import Course, CourseFormat, CourseStatus
from yanxiu.config import PROJECT_ROOT
from yanxiu.db.change_counters import version
from yanxiu.errors import Conflict, Invalid, NotFound
from yanxiu.search.models import SiteSynonym, SiteSynonymAlias
from yanxiu.search.synonyms import (
    add_site_synonym,
    import_legacy_file,
    remove_site_synonym,
    split_aliases,
    synonym_table,
    synonyms_in_force,
)
from yanxiu.services import Services

SHIPPED = PROJECT_ROOT / "content" / "search" / "synonyms.yaml"
CATALOG = "大概念教学的单元设计与课堂实施；新入职教师的第一年"


def admin(session, name: str = "管理员甲"):  # type: ignore[no-untyped-def]
    user = create_user(
        session, username=f"adm{abs(hash(name)) % 10**6}", display_name=name, role=Role.ADMIN,
        password_hash=password_hash(),
    )  # fmt: skip
    session.flush()
    return user


def add(session, aliases, expansion="大概念教学", actor=None, **kw):  # type: ignore[no-untyped-def]
    return add_site_synonym(
        session, actor_id=actor, aliases=aliases, expansion=expansion, shipped_file=SHIPPED,
        catalog_text=kw.pop("catalog_text", CATALOG), **kw,
    )  # fmt: skip


def site_aliases(session) -> set[str]:  # type: ignore[no-untyped-def]
    return {a for e in synonym_table(session, SHIPPED).entries if not e.shipped for a in e.aliases}


@pytest.mark.parametrize(
    ("aliases", "expansion", "field", "says"),
    [
        ([], "大概念教学", "aliases", "请至少填写一个别名"),
        (["  ", "、"], "大概念教学", "aliases", "请至少填写一个别名"),
        (["大观念"], "   ", "expansion", "请填写扩展词"),
        (["大观念" * 11], "大概念教学", "aliases", "每个别名最多 30 个字符"),
        (["大观念"], "大概念" * 40, "expansion", "最多 100 个字符"),
        (["大"], "大概念教学", "aliases", "只有一个字符"),
        (["大观念", "大概念教学"], "大概念教学", "aliases", "与扩展词相同"),
    ],
)
def test_what_cannot_be_used_is_refused_with_the_reason(session, aliases, expansion, field, says):
    with pytest.raises(Invalid) as info:
        add(session, aliases, expansion)
    assert says in info.value.message and says in info.value.fields[field]
    assert session.scalar(select(func.count(SiteSynonym.id))) == 0


def test_an_alias_in_force_is_refused_naming_its_entry(session):
    with pytest.raises(Conflict) as shipped:
        add(session, ["PBL", "大观念"])  # PBL is shipped (项目式学习), in any case
    assert "“pbl”已属于内置条目" in shipped.value.message and "项目式学习" in shipped.value.message

    me = admin(session)
    add(session, ["大观念", "大单元设计"], actor=me.id)
    with pytest.raises(Conflict) as site:
        add(session, ["大观念"], "单元整体教学设计")
    assert "“大观念”已属于本站条目（管理员甲添加）" in site.value.message
    assert "大观念、大单元设计 → 大概念教学" in site.value.message


def test_adding_normalises_and_warns_about_words_no_course_uses(session):
    added = add(session, ["ＰＢＬ２", " 大观念 ", "大观念"], "大概念教学 量子纠缠")
    assert added.entry.aliases == ("pbl2", "大观念")  # NFKC, lower case, once each
    assert any("“量子”、“纠缠”" in w and "不起作用" in w for w in added.warnings)

    nothing = add(session, ["黑洞课"], "量子纠缠 暗物质")
    assert nothing.warnings and "都没有出现" in nothing.warnings[0]
    assert not add(session, ["入职第一年"], "新入职教师").warnings


def test_aliases_typed_in_one_box():
    assert split_aliases("PBL、项目化学习，project based learning;大观念\n") == [
        "PBL", "项目化学习", "project based learning", "大观念",
    ]  # fmt: skip


def test_removal_is_kept_as_history_and_frees_the_alias(session):
    first, second = admin(session, "管理员甲"), admin(session, "管理员乙")
    entry = add(session, ["大观念"], actor=first.id).entry
    session.commit()
    removed = remove_site_synonym(session, actor_id=second.id, synonym_id=entry.id or 0)
    session.commit()
    assert removed.removed_by == "管理员乙" and removed.added_by == "管理员甲"
    table = synonym_table(session, SHIPPED)
    assert "大观念" not in site_aliases(session)
    assert [e.label for e in table.removed] == ["大观念 → 大概念教学"]
    assert session.get(SiteSynonym, entry.id) is not None  # nothing deleted
    with pytest.raises(Conflict, match="已经移除过了"):
        remove_site_synonym(session, actor_id=first.id, synonym_id=entry.id or 0)
    with pytest.raises(NotFound):
        remove_site_synonym(session, actor_id=first.id, synonym_id=999_999)
    again = add(session, ["大观念"], "单元整体教学设计", actor=first.id)  # the alias is free
    assert again.entry.id != entry.id
    actions = list(
        session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "search_synonym"))
    )
    assert actions == ["synonym.add", "synonym.remove", "synonym.add"]


def test_every_change_moves_the_synonyms_counter(session):
    start = version(session, "synonyms")
    assert start is not None
    entry = add(session, ["大观念"]).entry
    session.commit()
    added = version(session, "synonyms")
    assert added is not None and added > start
    remove_site_synonym(session, actor_id=None, synonym_id=entry.id or 0)
    session.commit()
    after = version(session, "synonyms")
    assert after is not None and after > added
    assert version(session, "catalog") == version(session, "catalog")  # not the catalog's


def test_the_parser_gets_shipped_and_site_entries(session):
    add(session, ["大观念"])
    in_force = synonyms_in_force(session, SHIPPED)
    assert any(s.aliases == ("大观念",) and s.expansion == "大概念教学" for s in in_force)
    assert any("pbl" in s.aliases for s in in_force)


def test_the_legacy_file_is_imported_once_and_reads_as_before(session, tmp_path):
    legacy = tmp_path / "search_synonyms.yaml"
    legacy.write_text(yaml.safe_dump({"synonyms": [
        {"aliases": ["新上岗"], "expansion": "老带新"},  # a later entry took its only alias
        {"aliases": ["小白老师", "新上岗"], "expansion": "新教师 入职"},
        {"aliases": ["ppt"], "expansion": "演示文稿"},  # took over a shipped alias, and keeps it
        {"aliases": ["新上岗"], "expansion": "师徒结对"},  # later entries win, as in the file
    ]}, allow_unicode=True), encoding="utf-8")  # fmt: skip
    assert import_legacy_file(session, legacy) == 4
    session.commit()
    assert import_legacy_file(session, legacy) == 0  # idempotent
    table = synonym_table(session, SHIPPED)
    site = {e.label for e in table.entries if not e.shipped}
    assert site == {"小白老师 → 新教师 入职", "ppt → 演示文稿", "新上岗 → 师徒结对"}
    assert [e.label for e in table.removed] == ["新上岗 → 老带新"]  # never applied: history
    shipped_ppt = next(e for e in table.entries if e.shipped and "课件" in e.aliases)
    assert "ppt" not in shipped_ppt.aliases and shipped_ppt.overridden == ("ppt",)
    assert all(e.added_by == "旧版同义词文件" for e in table.entries if not e.shipped)

    # an imported entry the admin removed is not brought back by the next start
    imported = next(e for e in table.entries if e.label.startswith("新上岗"))
    remove_site_synonym(session, actor_id=None, synonym_id=imported.id or 0)
    session.commit()
    assert import_legacy_file(session, legacy) == 0
    assert "新上岗" not in site_aliases(session)
    assert import_legacy_file(session, tmp_path / "missing.yaml") == 0


def test_concurrent_adds_of_one_alias_one_wins_the_other_is_told(db):
    """Both pass the check before either commits: the unique index decides, never a 500."""
    n = 6
    results = race(db, lambda session, i: add(session, ["大观念", f"别名{i}"]), n)
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == n - 1, results
    assert all("“大观念”已属于本站条目" in c.message for c in conflicts)
    with db.factory() as s:
        live = s.scalar(
            select(func.count(SiteSynonymAlias.id)).where(
                SiteSynonymAlias.alias == "大观念", SiteSynonymAlias.removed_at.is_(None)
            )
        )
        assert live == 1
        assert s.scalar(select(func.count(SiteSynonym.id))) == 1  # the losers left nothing


# -- every worker process reads queries with the new table ---------------------------------


@pytest.fixture
def two_workers(db, settings_for) -> Iterator[tuple[Services, Services]]:  # type: ignore[no-untyped-def]
    with db.factory() as s:
        s.add(Course(
            code="XK-S-01", title="大概念统领的单元整体教学设计", summary="以学科大概念组织单元教学",
            outline=["提炼大概念", "设计单元任务"], category="学科教学", stages=["初中"],
            subjects=["通用"], hours=4, format=CourseFormat.ONLINE, provider="县教研室",
            status=CourseStatus.PUBLISHED,
        ))  # fmt: skip
        s.commit()
    settings = settings_for(db.url, embed_backend="lexical")
    workers = (Services.create(settings), Services.create(settings))
    for services in workers:
        services.load_search()
    yield workers
    for services in workers:
        services.close()


def expansions(services: Services, query: str) -> list[str]:
    assert services.search is not None
    return services.search.parser.parse(query).expansions


def test_an_added_synonym_reaches_every_worker_without_reloading_the_index(two_workers):
    one, other = two_workers
    assert other.search is not None
    index = other.search.index
    with one.session_factory() as s:
        entry = add(s, ["大观念"], "大概念").entry
        s.commit()
    assert expansions(other, "大观念怎么教") == []
    assert other.refresh_search_if_changed()  # the watch thread's call
    assert expansions(other, "大观念怎么教") == ["大概念"]
    assert other.search.index is index  # only the parser was rebuilt
    assert not other.refresh_search_if_changed()  # nothing changed since: two cheap reads
    assert one.refresh_synonyms_if_changed()  # the synonyms page's call
    assert expansions(one, "大观念怎么教") == ["大概念"]
    assert "XK-S-01" in {h.doc.code for h in one.search.search("大观念", k=3)}  # type: ignore[union-attr]

    with one.session_factory() as s:
        remove_site_synonym(s, actor_id=None, synonym_id=entry.id or 0)
        s.commit()
    assert other.refresh_search_if_changed()
    assert expansions(other, "大观念怎么教") == []


def test_a_legacy_file_is_applied_at_start(db, settings_for, tmp_path: Path):
    settings = settings_for(db.url, embed_backend="lexical")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "search_synonyms.yaml").write_text(
        "synonyms:\n  - aliases: [小白老师]\n    expansion: 新教师 入职\n", encoding="utf-8"
    )
    services = Services.create(settings)
    try:
        services.load_search()
        assert expansions(services, "小白老师培训") == ["新教师 入职"]
    finally:
        services.close()
    with db.factory() as s:
        assert (
            s.scalar(select(func.count(SiteSynonym.id)).where(SiteSynonym.origin == "legacy")) == 1
        )


def test_the_command_line_uses_the_same_service(db, tmp_path):
    from typer.testing import CliRunner

    from yanxiu.cli import app
    from yanxiu.config import get_settings

    legacy = tmp_path / "search_synonyms.yaml"
    legacy.write_text("synonyms:\n  - aliases: [小白老师]\n    expansion: 新教师 入职\n", "utf-8")
    env = {"YANXIU_DATABASE_URL": db.url, "YANXIU_ENV": "test", "YANXIU_DATA_DIR": str(tmp_path)}

    def run(*args: str):  # type: ignore[no-untyped-def]
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, ["synonyms", *args], env=env)
        finally:
            get_settings.cache_clear()

    added = run("add", "大概念教学", "大观念", "大概念单元")
    assert added.exit_code == 0, added.output
    assert "大观念、大概念单元 → 大概念教学" in added.output
    listed = run("list").output
    assert "本站] 小白老师 → 新教师 入职" in listed  # the legacy file, imported on first use
    assert "[内置] pbl" in listed
    refused = run("add", "项目式学习", "PBL")
    assert refused.exit_code == 2 and "已属于内置条目" in refused.output
    number = next(line for line in listed.splitlines() if "大观念" in line).split()[0].strip("[#")
    assert run("remove", number).exit_code == 0
    assert "已移除] 大观念" in run("list", "--removed").output
    assert run("remove", number).exit_code == 2  # already removed: said, not a traceback
