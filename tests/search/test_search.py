"""Hybrid catalog search: filters, fusion, snippets, quality on the labelled queries."""

import pytest

from yanxiu.config import PROJECT_ROOT
from yanxiu.lab.search_eval import evaluate, load_queries, ndcg, recall, reciprocal_rank
from yanxiu.search.hybrid import CatalogDoc, highlight


def test_filters_hold_and_still_return_k(use_search):
    hits = use_search.search(
        "怎样设计课堂提问", k=8, filters={"stage": ["高中"], "category": ["学科教学"]}
    )
    assert len(hits) == 8
    assert all("高中" in h.doc.stages and h.doc.category == "学科教学" for h in hits)
    aliases = use_search.search(
        "怎样设计课堂提问", k=8, filters={"stages": ["高中"], "category": "学科教学"}
    )
    assert [h.doc.id for h in aliases] == [h.doc.id for h in hits]


def test_unknown_filter_is_refused(use_search):
    with pytest.raises(ValueError, match="unknown filter 'grade'"):
        use_search.search("作业", filters={"grade": ["七年级"]})


def test_only_published_resources_unless_asked(use_search, catalog_docs):
    retired = next(d for d in catalog_docs if d.status == "retired")
    hits = use_search.search(retired.title, k=20)
    assert retired.id not in {h.doc.id for h in hits}
    everything = use_search.search(retired.title, k=5, include_unpublished=True)
    assert retired.id in {h.doc.id for h in everything}


def test_exact_title_ranks_first_in_every_mode(use_search, catalog_docs):
    doc = next(d for d in catalog_docs if d.code == "TW-007")
    for mode in ("hybrid", "dense", "lexical"):
        assert use_search.search(doc.title, k=3, mode=mode)[0].doc.code == "TW-007", mode


def test_english_queries_are_ranked_by_the_dense_side(use_search):
    assert use_search.lexical_coverage("how to ask open questions") == 0.0
    assert use_search.lexical_coverage("课堂提问") == 1.0
    hits = use_search.search("how to ask open questions in class", k=5)
    assert all(h.dense_rank is not None for h in hits)


def test_empty_query_returns_nothing(use_search):
    assert use_search.search("   ") == []


def test_snippet_marks_matches_and_escapes_html():
    doc = CatalogDoc(
        1, "X-1", "标题", "学会<b>提问</b>：课堂提问的三种策略", ("候答时间",), "课堂提问与对话",
        ("初中",), ("通用",), "online", "published", 2.0,
    )  # fmt: skip
    snippet, matched = highlight(doc, "课堂提问怎么做")
    assert "<mark>课堂提问</mark>" in snippet
    assert "&lt;b&gt;" in snippet and "<b>" not in snippet
    assert "课堂提问" in matched


def test_metrics_on_hand_computed_rankings():
    relevant = {"A": 3, "B": 1}
    # ideal [A, B]: (2^3-1)/log2(2) + (2^1-1)/log2(3) = 7 + 0.63093 = 7.63093
    assert ndcg(["A", "B"], relevant) == pytest.approx(1.0)
    # [A, X, B]: 7 + 0 + 1/log2(4) = 7.5 → 7.5 / 7.63093
    assert ndcg(["A", "X", "B"], relevant) == pytest.approx(7.5 / 7.63093, abs=1e-5)
    assert ndcg(["X"], relevant) == 0.0
    assert recall(["X", "B"], relevant) == 0.5
    assert reciprocal_rank(["X", "B", "A"], relevant) == pytest.approx(
        1 / 3
    )  # B is grade 1: not counted


@pytest.mark.slow
def test_hybrid_beats_lexical_on_the_labelled_queries(e5_search):
    queries = load_queries(PROJECT_ROOT / "content" / "eval" / "search_queries.yaml")
    assert len(queries) >= 80
    report = evaluate(e5_search, queries)["modes"]
    # the dev half: the test half is reported once by `yanxiu eval search --split test`
    hybrid, lexical, dense = (report[m]["dev"] for m in ("hybrid", "lexical", "dense"))
    assert hybrid["ndcg@10"] > lexical["ndcg@10"] + 0.05
    assert hybrid["recall@10"] > lexical["recall@10"]
    assert hybrid["ndcg@10"] >= dense["ndcg@10"]
    assert (
        # English-mixed queries: the lexical side must not drag hybrid below dense by more
        # than noise (measured 0.738 vs 0.734 on the 8 such dev queries)
        hybrid["by_kind"]["english"]["ndcg@10"] >= dense["by_kind"]["english"]["ndcg@10"] - 0.01
    )


@pytest.mark.slow
def test_search_keeps_its_dev_figures_over_the_baselines(e5_search):
    """On the dev half (what the weights and the no-match model were tuned on: 379 queries with
    the two blind batches Q323–Q757; measured 0.840 overall, colloquial 0.788 vs RRF 0.692,
    typo 0.929 vs 0.930, no-answer F1 0.820 at precision 0.882): a change that loses the
    典型困惑, the synonyms, the pinyin channel, the out-of-scope topics or the calibrated gate
    falls below these."""
    queries = load_queries(PROJECT_ROOT / "content" / "eval" / "search_queries.yaml")
    report = evaluate(e5_search, queries, modes=("rrf", "hybrid"))["modes"]
    hybrid, rrf = report["hybrid"]["dev"], report["rrf"]["dev"]
    assert hybrid["ndcg@10"] >= 0.82
    kinds, before = hybrid["by_kind"], rrf["by_kind"]
    assert kinds["colloquial"]["ndcg@10"] >= before["colloquial"]["ndcg@10"] + 0.08
    # a mistyped character no longer reads as a topic the catalog lacks (it did: the gate
    # hid typo queries and the kind fell below the RRF baseline)
    assert kinds["typo"]["ndcg@10"] >= before["typo"]["ndcg@10"] - 0.01
    assert hybrid["no_answer"]["f1"] >= 0.8
    assert hybrid["no_answer"]["precision"] >= 0.85  # few real questions told "nothing fits"
