"""Issue 21: reading a teacher's query (filler, synonyms, pinyin, stage and subject), the
anonymised catalog-gap log, and search over the 典型困惑 with the lexical backend (fast)."""

from __future__ import annotations

import csv
import io
import threading

import pytest

from yanxiu.config import PROJECT_ROOT
from yanxiu.search.catalog_index import catalog_words
from yanxiu.search.gaps import gap_csv, gap_key, gap_report, record_gap
from yanxiu.search.query import PinyinVocabulary, QueryParser, load_synonyms

SYNONYMS = PROJECT_ROOT / "content" / "search" / "synonyms.yaml"


@pytest.fixture(scope="module")
def parser(catalog_docs):
    synonyms = load_synonyms(SYNONYMS)
    return QueryParser(synonyms, PinyinVocabulary(catalog_words(catalog_docs, synonyms)))


def test_filler_words_are_left_to_the_dense_side_only(parser):
    parsed = parser.parse("学生老是不爱发言咋整")
    assert "咋整" not in parsed.lexical_text and "老是" not in parsed.lexical_text
    assert "发言" in parsed.lexical_text
    assert parsed.text.startswith("学生老是不爱发言咋整")  # the model still reads the whole


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("新课标解读", "义务教育课程标准（2022年版）"),
        ("ChatGPT 备课", "生成式人工智能"),
        ("PBL怎么设计", "项目式学习"),
        ("双减", "作业总量"),
    ],
)
def test_abbreviations_are_expanded(parser, query, expected):
    assert expected in parser.parse(query).text


def test_latin_aliases_match_whole_words_only(parser):
    assert parser.parse("said the teacher").expansions == []


@pytest.mark.parametrize(
    ("query", "chinese"),
    [("zhuti banhui", "主题班会"), ("jiaxiao goutong", "家校沟通"), ("ziran pindu", "自然拼读")],
)
def test_pinyin_is_read_as_the_catalog_words(parser, query, chinese):
    parsed = parser.parse(query)
    assert chinese in parsed.text.replace(" ", "")
    assert parsed.pinyin


def test_english_words_are_not_taken_for_pinyin(parser):
    parsed = parser.parse("classroom management for new teachers")
    assert parsed.pinyin == [] and parsed.text == "classroom management for new teachers"


def test_stage_and_subject_come_from_the_query(parser):
    parsed = parser.parse("初二物理实验怎么上")
    assert parsed.stages == ["初中"] and parsed.subjects == ["物理"]
    assert parser.parse("高三学生压力大").stages == ["高中"]


def test_phone_numbers_are_never_searched(parser):
    assert "13812345678" not in parser.parse("家长 13812345678 投诉").text


def test_a_problem_in_teachers_words_finds_the_course_for_it(lexical_search):
    hits = lexical_search.search("学生不爱发言怎么办", k=5)
    assert hits[0].doc.code == "TW-013"
    assert hits[0].problem  # the matching 典型困惑 explains the hit


def test_pinyin_and_abbreviation_queries_find_their_courses(lexical_search):
    assert lexical_search.search("zhuti banhui", k=3)[0].doc.code in {"BZR-005", "BZR-006"}
    top = [h.doc.code for h in lexical_search.search("ChatGPT 备课", k=3)]
    assert "XX-024" in top


def test_nonsense_finds_nothing(lexical_search):
    assert lexical_search.search("zzzzqqq", matches_only=True) == []
    assert lexical_search.search("课堂提问", matches_only=True)


def test_the_query_stage_is_a_soft_boost_not_a_filter(lexical_search):
    hits = lexical_search.search("初中 作业分层设计", k=3)
    assert hits[0].doc.code == "XK-SX-08"  # the 初中 course before the all-stage ones
    # a course for other stages is still found when it is what was asked
    assert lexical_search.search("初中 幼小衔接", k=1)[0].doc.code == "XK-YE-02"


# -- 课程缺口 ----------------------------------------------------------------------------------


def test_gaps_are_counted_anonymously_and_exported(session):
    record_gap(session, "高中日语怎么教", stage="高中")
    record_gap(session, " 高中日语怎么教 ", stage="高中")
    record_gap(session, "=cmd|' /C calc'!A0 联系 13812345678", subject="")
    session.commit()
    report = gap_report(session)
    assert report.total_searches == 3
    top = report.rows[0]
    assert (top.query, top.stage, top.count) == ("高中日语怎么教", "高中", 2)
    assert all("13812345678" not in r.query for r in report.rows)
    assert ("高中", 2) in report.by_stage
    rows = list(csv.reader(io.StringIO(gap_csv(report).lstrip("\ufeff"))))
    assert rows[0] == ["检索词", "学段", "学科", "次数", "最近一次"]
    assert any(r[0].startswith("'=") for r in rows[1:])  # formula neutralised


def test_what_live_search_saw_while_typing_is_not_a_gap(session):
    for typed in ("中", "中职", "中职汽", "中职汽修"):
        record_gap(session, typed)
    session.commit()
    assert [(r.query, r.count) for r in gap_report(session).rows] == [("中职汽修", 1)]


def test_gap_key_drops_contact_details():
    assert gap_key("请联系 a.b@example.com 或 020-88881234") == "请联系 或 020-"


def test_concurrent_first_searches_of_a_gap_count_twice(db):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def search() -> None:
        with db.factory() as s:
            try:
                barrier.wait()
                record_gap(s, "中职汽修实训")
                s.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.factory() as s:
        assert gap_report(s).rows[0].count == 2


def test_a_later_file_takes_an_alias_over_and_the_earlier_entry_lets_it_go(tmp_path):
    shipped, site = tmp_path / "shipped.yaml", tmp_path / "site.yaml"
    shipped.write_text(
        "synonyms:\n  - {aliases: [大单元, 单元教学], expansion: 大单元教学设计}\n",
        encoding="utf-8",
    )
    site.write_text(
        "synonyms:\n  - {aliases: [单元教学], expansion: 单元整体教学}\n", encoding="utf-8"
    )
    entries = {e.expansion: e.aliases for e in load_synonyms(shipped, site)}
    assert entries == {"大单元教学设计": ("大单元",), "单元整体教学": ("单元教学",)}
    parsed = QueryParser(load_synonyms(shipped, site)).parse("单元教学怎么备课")
    assert "单元整体教学" in parsed.expansions and "大单元教学设计" not in parsed.expansions
