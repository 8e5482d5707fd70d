"""The diagnosis's resource finder over the real catalog (USE search): the competency's own
description is the query, the teacher's stage filters, and resources tagged with the
competency come first."""

from __future__ import annotations

from yanxiu.config import PROJECT_ROOT
from yanxiu.content import load_content
from yanxiu.practice.resources import search_resource_finder


def _texts():
    return {
        c["id"]: f"{c['name']}：{c['description']}"
        for c in load_content(PROJECT_ROOT / "content").competencies
    }


def test_tagged_resources_of_the_stage_come_first(use_search, catalog_docs):
    by_code = {d.code: d for d in catalog_docs}
    find = search_resource_finder(use_search, _texts())
    for competency in ("PRC-LEARNER", "PRC-QUES"):
        found = find(competency, "学情分析 提升方法", "初中")
        assert 1 <= len(found) <= 3
        for hit in found:
            assert "初中" in by_code[hit.code].stages
            assert hit.tagged == (competency in by_code[hit.code].competencies)
        tags = [hit.tagged for hit in found]
        assert tags == sorted(tags, reverse=True)  # every tagged one before any untagged one
        assert tags[0], f"the catalog has {competency} courses for 初中"


def test_the_stage_filter_holds_and_no_stage_means_no_filter(use_search, catalog_docs):
    by_code = {d.code: d for d in catalog_docs}
    find = search_resource_finder(use_search, _texts())
    primary = find("PRC-LEARNER", "学情分析 提升方法", "小学")
    assert primary and all("小学" in by_code[h.code].stages for h in primary)
    anywhere = find("PRC-LEARNER", "学情分析 提升方法", "")
    assert anywhere


def test_an_unknown_competency_searches_with_the_query(use_search):
    find = search_resource_finder(use_search, {})
    found = find("NO-SUCH", "课堂提问 开放性问题 追问", "初中")
    assert found and not any(h.tagged for h in found)
