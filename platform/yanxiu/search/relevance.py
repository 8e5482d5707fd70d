"""Knowing when nothing fits: is the best resource for a query a real match?

Cosines alone cannot tell 小学书法课怎么上 (no calligraphy course: the best is an art course at
0.936) from 学生上完心理课说老师就是在讲大道理 (a real match at 0.946). What gives the former
away is a topical word the catalog never uses (书法, 日语, 禁毒, 近视…), while colloquial
questions' unknown words are common ones (好像, 一点, 有个), and a typo's unknown word is one
the catalog says in other characters (坐业 ~ 作业: :mod:`yanxiu.search.sound`). So the
decision is a small logistic model over named features of the query, fitted on the dev half
of content/eval (``yanxiu eval search --tune``: the feature set and regularisation chosen by
leave-one-out no-answer F1 on dev, the probability cut for dev F1) and kept as plain JSON
numbers in ``yanxiu/search/tuned.json``. The features (:data:`FEATURES`):

- ``dense``: the best fused dense cosine (resource text or one of its 典型困惑);
- ``dense_z``: how far that best stands out from the catalog (z-score over all resources);
- ``margin``: the best dense cosine minus the tenth best;
- ``problem``: the best cosine of any 典型困惑 with the query;
- ``lexical``: the best character TF-IDF cosine; ``sound``: the best pinyin TF-IDF cosine;
- ``agree``: 1 when the lexical side's best resource is among the dense side's first five;
- ``unknown``: the IDF-weighted share of the query's words that appear nowhere in the catalog
  or the synonym table, not even by sound (jieba words; IDF from jieba's general-Chinese
  table, so a rare topical word weighs more than a colloquial one);
- ``latin``: 1 when the query has no Chinese characters (English cosines run lower);
- ``outside``: the best cosine of the query with a topic the catalog does not offer
  (``content/search/out_of_scope.yaml``: 教师工资, 职称评审, 中职专业课, 小语种 …) minus the
  best dense cosine with the catalog: above 0 the question is closer to something the centre
  does not teach than to any course (0 when no such list is loaded).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yanxiu.search.sound import spell, spelt_word

FEATURES = (
    "dense", "dense_z", "margin", "problem", "lexical", "sound", "agree", "unknown", "latin",
    "outside",
)  # fmt: skip
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[a-z]+")
_VOWEL = re.compile(r"[aeiouy]")
_RUN_OF_THREE = re.compile(r"([a-z])\1\1")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass(frozen=True)
class MatchModel:
    """Logistic weights over the named features (standardised with ``mean``/``scale``)."""

    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    cut: float  # probability of a match below which nothing is shown
    features: tuple[str, ...] = ("dense", "dense_z", "lexical", "unknown", "latin")

    def probability(self, features: Mapping[str, float] | Sequence[float]) -> float:
        values = (
            [features[name] for name in self.features]
            if isinstance(features, Mapping)
            else list(features)
        )
        z = self.intercept + sum(
            c * (f - m) / (s or 1.0)
            for c, f, m, s in zip(self.coef, values, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def as_dict(self) -> dict[str, object]:
        return {
            "features": list(self.features), "coef": list(self.coef),
            "intercept": self.intercept, "mean": list(self.mean), "scale": list(self.scale),
            "cut": self.cut,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchModel:
        return cls(
            tuple(float(c) for c in data["coef"]), float(data["intercept"]),
            tuple(float(m) for m in data["mean"]), tuple(float(s) for s in data["scale"]),
            float(data["cut"]), tuple(str(f) for f in data["features"]),
        )  # fmt: skip


# parts of speech that never name a topic (jieba tags): pronouns, numerals, measure words,
# conjunctions, prepositions, adverbs, particles, time and place words, interjections; so
# 有个, 一点, 十几年, 不管, 顺着 in a colloquial question are not "words the catalog lacks"
_FUNCTION_TAGS = ("r", "m", "q", "c", "p", "d", "ad", "u", "f", "t", "s", "x", "y", "e", "o")


class UnknownWords:
    """Share of a query's content words (IDF-weighted) that the catalog never uses.

    With ``by_sound``, a word the catalog says with one character changed for a homophone
    (坐业 ~ 作业, 心里 ~ 心理: each two-character piece spelt the same as a piece of the
    catalog and sharing a character with it) is a typo, not a topic the catalog lacks.
    """

    def __init__(
        self, catalog_text: str, stop: Sequence[str] = (), *, by_sound: bool = False
    ) -> None:
        import jieba
        import jieba.analyse
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        self._cut = jieba.posseg.lcut
        table = jieba.analyse.default_tfidf
        self._idf, self._median = table.idf_freq, table.median_idf
        self._text = catalog_text.lower()
        self._stop = set(stop)
        self._sounds: dict[str, set[str]] = {}
        if by_sound:
            for run in set(_CJK_RUN.findall(self._text)):
                syllables = spell(run).split()
                if len(syllables) != len(run):
                    continue
                for i in range(len(run) - 1):
                    key = f"|{syllables[i]}|{syllables[i + 1]}|"
                    self._sounds.setdefault(key, set()).add(run[i : i + 2])

    def share(self, text: str) -> float:
        words = [
            w
            for w, tag in self._cut(text.lower())
            if len(w) >= 2
            and _CJK.search(w)
            and w not in self._stop
            and not tag.startswith(_FUNCTION_TAGS)
        ]
        if not words:
            return 0.0
        weights = [self._idf.get(w, self._median) for w in words]
        unknown = sum(wt for w, wt in zip(words, weights, strict=True) if not self.known(w))
        return unknown / sum(weights)

    def letter_noise(self, text: str) -> bool:
        """A query of keyboard noise (``zzzzqqq``): no Chinese even after the query was
        understood (pinyin read, synonyms added), and every Latin word is unknown to the
        catalog and its synonym table and reads as no word at all (no vowel, or one letter
        three times running).

        Dense embeddings place such strings near everything with a confident score, so the
        no-match model is not relied on for them; acronyms the catalog or the synonym table
        knows (PBL, PPT) and English questions are left to the model."""
        lowered = text.lower()
        if _CJK.search(lowered):
            return False
        words = _LATIN_WORD.findall(lowered)
        return bool(words) and all(
            w not in self._text and (not _VOWEL.search(w) or _RUN_OF_THREE.search(w)) for w in words
        )

    def known(self, word: str) -> bool:
        if word in self._text:
            return True
        if not self._sounds or not _CJK_RUN.fullmatch(word):
            return False
        return all(
            word[i : i + 2] in self._text or self._sounds_like(word[i : i + 2])
            for i in range(len(word) - 1)
        )

    def _sounds_like(self, pair: str) -> bool:
        return any(
            other[0] == pair[0] or other[1] == pair[1]
            for other in self._sounds.get(spelt_word(pair), ())
        )


def query_features(
    dense: np.ndarray,
    lexical: np.ndarray,
    unknown: float,
    text: str,
    *,
    sound: np.ndarray | None = None,
    problem: float = 0.0,
    outside: float | None = None,
) -> dict[str, float]:
    """What the relevance model may look at, by name (see the module docstring)."""
    top = float(dense.max()) if len(dense) else 0.0
    spread = float(dense.std()) if len(dense) else 0.0
    z = (top - float(dense.mean())) / spread if spread > 0 else 0.0
    ordered = np.sort(dense)[::-1]
    margin = float(ordered[0] - ordered[min(9, len(ordered) - 1)]) if len(ordered) else 0.0
    lex_top = float(lexical.max()) if len(lexical) else 0.0
    # do the two channels agree? the lexical side's best is among the dense side's first five
    agree = 0.0
    if len(lexical) and lex_top > 0 and len(dense):
        agree = float(int(np.argmax(lexical)) in set(np.argsort(-dense)[:5].tolist()))
    return {
        "dense": top,
        "dense_z": z,
        "margin": margin,
        "problem": problem,
        "lexical": lex_top,
        "sound": float(sound.max()) if sound is not None and len(sound) else 0.0,
        "agree": agree,
        "unknown": unknown,
        "latin": 0.0 if _CJK.search(text) else 1.0,
        "outside": 0.0 if outside is None else outside - top,
    }


def load_scope_topics(path: Path) -> list[str]:
    """The topics the catalog does not offer (``content/search/out_of_scope.yaml``); none if
    the file is absent. A malformed file is an error naming it, not an empty list."""
    if not path.exists():
        return []
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    topics = data.get("topics") if isinstance(data, dict) else None
    if not isinstance(topics, list) or not all(isinstance(t, str) and t.strip() for t in topics):
        raise ValueError(f"{path}: expected 'topics:' followed by a list of non-empty sentences")
    return [t.strip() for t in topics]


def fit_match_model(
    rows: Sequence[tuple[Mapping[str, float], bool]],
    features: Sequence[str] = FEATURES,
    *,
    c: float = 1.0,
) -> MatchModel:
    """Logistic regression (balanced classes, L2 strength ``1/c``) on (features,
    is_answerable) rows, the cut chosen for the best no-answer F1 on the same rows."""
    from sklearn.linear_model import LogisticRegression

    names = tuple(features)
    x = np.array([[f[n] for n in names] for f, _ in rows], float)
    y = np.array([1 if a else 0 for _, a in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=1000)
    model.fit((x - mean) / scale, y)
    fitted = MatchModel(
        tuple(float(v) for v in model.coef_[0]), float(model.intercept_[0]),
        tuple(float(m) for m in mean), tuple(float(s) for s in scale), 0.5, names,
    )  # fmt: skip
    probs = [fitted.probability(f) for f, _ in rows]
    cut = best_cut(probs, [a for _, a in rows])
    return MatchModel(fitted.coef, fitted.intercept, fitted.mean, fitted.scale, cut, names)


# how much a real question wrongly hidden weighs against a no-answer query shown: a hidden
# course is lost to the teacher, while weak results for a topic the catalog lacks are seen to
# be off-topic (the cut maximises no-answer F1 + SHOWN_WEIGHT × mean nDCG of the shown)
SHOWN_WEIGHT = 2.0


def best_cut(
    probs: Sequence[float], answerable: Sequence[bool], gains: Sequence[float] | None = None
) -> float:
    """The probability cut with the best no-answer F1 (halfway between neighbouring
    probabilities, so no query sits on the edge; ties: the lower cut). With ``gains`` (each
    query's nDCG when shown), the best F1 + ``SHOWN_WEIGHT`` × mean nDCG of the answerable
    queries, a hidden one counting 0."""
    ordered = sorted(set(probs))
    n_answerable = sum(1 for a in answerable if a) or 1
    best, best_score = 0.5, -1.0
    for cut in [(a + b) / 2 for a, b in zip(ordered, ordered[1:], strict=False)]:
        score = no_answer_f1(probs, answerable, cut)
        if gains is not None:
            kept = sum(
                g for p, a, g in zip(probs, answerable, gains, strict=True) if a and p >= cut
            )
            score += SHOWN_WEIGHT * kept / n_answerable
        if score > best_score:
            best, best_score = cut, score
    return best


def no_answer_f1(probs: Sequence[float], answerable: Sequence[bool], cut: float) -> float:
    pairs = list(zip(probs, answerable, strict=True))
    tp = sum(1 for p, a in pairs if not a and p < cut)
    fp = sum(1 for p, a in pairs if a and p < cut)
    fn = sum(1 for p, a in pairs if not a and p >= cut)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
