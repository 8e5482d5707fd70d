"""The pinyin (sound) channel for homophone typos, and the no-match model's JSON weights."""

import json
from dataclasses import replace

import numpy as np
import pytest

from yanxiu.config import PROJECT_ROOT
from yanxiu.lab.search_eval import loo_f1
from yanxiu.search.relevance import (
    FEATURES,
    MatchModel,
    UnknownWords,
    best_cut,
    fit_match_model,
    load_scope_topics,
    query_features,
)
from yanxiu.search.sound import SoundLexical, spell, spelt_text, spelt_word
from yanxiu.search.tuning import (
    TUNED_FILE,
    Weights,
    load_tuned,
    save_tuned,
    weights_as_dict,
    weights_from_dict,
)


def test_spelling_keeps_phrases_apart():
    assert spell("分层作业，AI备课") == "fen ceng zuo ye | ai | bei ke"
    assert spelt_word("坐业") == spelt_word("作业") == "|zuo|ye|"
    assert spelt_word("作业") in spelt_text("分层作业设计")
    assert spelt_word("书法") not in spelt_text("分层作业设计")


def test_a_homophone_typo_matches_by_sound():
    corpus = ["分层作业设计：基础、提升与挑战", "课堂提问的技巧", "学生心理危机预警与转介"]
    sound = SoundLexical().fit(corpus)
    assert int(np.argmax(sound.scores("分层坐业"))) == 0
    assert int(np.argmax(sound.scores("课堂体问"))) == 1
    assert int(np.argmax(sound.scores("心里危机"))) == 2
    # one syllable in common is no match (single syllables are not indexed)
    assert sound.scores("作").max() == 0.0


def test_typo_words_are_not_counted_as_topics_the_catalog_lacks():
    catalog = "分层作业设计 学生心理危机预警"
    plain = UnknownWords(catalog)
    by_sound = UnknownWords(catalog, by_sound=True)
    assert plain.share("分层坐业") > 0.3
    assert by_sound.share("分层坐业") == 0.0
    assert by_sound.share("书法作业") > 0.3  # 书法 is said nowhere in the catalog


def test_the_sound_channel_rescues_a_typo_in_hybrid_search(lexical_search):
    original = lexical_search.weights
    try:
        lexical_search.weights = replace(original, sound=0.0)
        without = [h.doc.code for h in lexical_search.search("学生心里危机干欲", k=3)]
        lexical_search.weights = replace(original, sound=0.5)
        with_sound = [h.doc.code for h in lexical_search.search("学生心里危机干欲", k=3)]
    finally:
        lexical_search.weights = original
    assert with_sound[0] == "XL-003"
    assert with_sound != without or without[0] == "XL-003"


def test_features_are_named_and_complete():
    dense = np.array([0.9, 0.8, 0.7, 0.7, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.1], np.float32)
    lexical = np.array([0.1, 0.0, 0.4, 0, 0, 0, 0, 0, 0, 0, 0], np.float32)
    f = query_features(dense, lexical, 0.25, "课堂", sound=lexical * 2, problem=0.93)
    assert set(f) == set(FEATURES)
    assert f["dense"] == pytest.approx(0.9)
    assert f["margin"] == pytest.approx(0.4)  # rank 1 minus rank 10
    assert f["agree"] == 1.0  # the lexical best (position 2) is in the dense top 5
    assert f["sound"] == pytest.approx(0.8) and f["latin"] == 0.0
    assert query_features(dense, lexical * 0, 0.0, "how to")["agree"] == 0.0
    assert f["outside"] == 0.0  # no out-of-scope topics loaded
    # closer to a topic the catalog does not offer than to any course: positive
    assert query_features(dense, lexical, 0.2, "工资", outside=0.95)["outside"] == pytest.approx(
        0.05
    )


def test_scope_topics_load_and_a_bad_file_names_itself(tmp_path):
    assert load_scope_topics(tmp_path / "absent.yaml") == []
    shipped = load_scope_topics(PROJECT_ROOT / "content" / "search" / "out_of_scope.yaml")
    assert len(shipped) >= 20 and len(set(shipped)) == len(shipped)
    bad = tmp_path / "out_of_scope.yaml"
    bad.write_text("topics:\n  - 教师工资\n  - \n", encoding="utf-8")
    with pytest.raises(ValueError, match="out_of_scope.yaml"):
        load_scope_topics(bad)


@pytest.mark.slow
def test_a_question_the_centre_does_not_teach_is_told_apart(e5_search):
    # the catalog has no course on pay or on vocational trades: nearer an out-of-scope topic
    for query in ("我们学校绩效工资是怎么算的", "中职汽修专业课怎么上"):
        parsed = e5_search.parser.parse(query)
        scored = e5_search.scores(parsed)
        assert scored.outside_topic and e5_search.match_features(parsed, scored)["outside"] > 0
        found = e5_search.find(query, matches_only=True)
        assert found.hits == [] and found.outside_topic == scored.outside_topic, query
    # a teacher's real classroom problem is nearer a course, and is answered
    parsed = e5_search.parser.parse("学生不爱发言怎么办")
    assert e5_search.match_features(parsed, e5_search.scores(parsed))["outside"] < 0
    codes = [h.doc.code for h in e5_search.search("学生不爱发言怎么办", matches_only=True)]
    assert "TW-013" in codes[:3]


def _rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        answerable = i % 4 != 0
        base = 0.93 if answerable else 0.89
        f = dict.fromkeys(FEATURES, 0.0)
        f.update(dense=base + rng.normal(0, 0.01), unknown=(0.1 if answerable else 0.7))
        rows.append((f, answerable))
    return rows


def test_the_model_is_fitted_and_cut_for_no_answer_f1():
    rows = _rows()
    model = fit_match_model(rows, ("dense", "unknown"), c=1.0)
    assert model.features == ("dense", "unknown")
    shown = [model.probability(f) >= model.cut for f, _ in rows]
    assert shown == [a for _, a in rows]  # separable: every query judged right
    assert loo_f1(rows, ("dense", "unknown"), 1.0) == pytest.approx(1.0)
    # a useless feature alone cannot separate them
    assert loo_f1(rows, ("lexical",), 1.0) < 0.5


def test_best_cut_prefers_the_lower_cut_on_ties():
    assert best_cut([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == pytest.approx(0.5)


def test_weights_round_trip_through_plain_json(tmp_path):
    model = MatchModel((1.0, -2.0), 0.5, (0.9, 0.3), (0.02, 0.2), 0.35, ("dense", "unknown"))
    weights = Weights(lexical=0.25, sound=0.2, tail=0.08, match=model)
    path = tmp_path / "tuned.json"
    save_tuned("e5", weights, "a note", path)
    data = json.loads(path.read_text(encoding="utf-8"))  # plain JSON, no pickle
    assert data["backends"]["e5"]["match"]["features"] == ["dense", "unknown"]
    assert load_tuned(path)["e5"] == weights
    untailed = weights_as_dict(Weights())
    assert "tail" not in untailed and weights_from_dict(untailed) == Weights()


def test_the_shipped_weights_name_known_features():
    tuned = load_tuned(TUNED_FILE)
    assert {"e5", "lexical"} <= set(tuned)
    for weights in tuned.values():
        assert weights.match is not None
        assert set(weights.match.features) <= set(FEATURES)
        assert len(weights.match.coef) == len(weights.match.features)
        assert 0.0 < weights.match.cut < 1.0


def test_keyboard_noise_is_told_from_acronyms_pinyin_and_english():
    words = UnknownWords("项目式学习 pbl 演示文稿 ppt 分层作业设计")
    assert words.letter_noise("zzzzqqq")
    assert words.letter_noise("xkcd qqq")
    assert not words.letter_noise("PBL")  # the catalog (or its synonym table) knows it
    assert not words.letter_noise("how to teach swimming")  # English: left to the model
    assert not words.letter_noise("zzzzqqq 作业")  # Chinese in the query
    assert not words.letter_noise("")


@pytest.mark.slow
def test_keyboard_noise_gets_no_match_with_e5(e5_search):
    # issue 21's own example: the dense side gave zzzzqqq confident-looking courses
    assert e5_search.search("zzzzqqq", matches_only=True) == []
    assert e5_search.search("zzzzqqq", k=3), "without matches_only the ranking still answers"


def test_the_cut_weighs_a_hidden_real_question_against_no_answer_f1():
    # two no-answer queries (0.1, 0.3) and answerable ones; the one at 0.25 has a good ranking
    probs = [0.1, 0.3, 0.25, 0.8, 0.9]
    answerable = [False, False, True, True, True]
    by_f1 = best_cut(probs, answerable)
    assert by_f1 == pytest.approx(0.55)  # hides all three lowest: F1 0.8
    gains = [0.0, 0.0, 1.0, 0.9, 0.9]
    weighed = best_cut(probs, answerable, gains)
    assert weighed < 0.25  # showing it is worth more than catching the second no-answer query
