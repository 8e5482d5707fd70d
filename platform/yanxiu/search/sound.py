"""A lexical channel by sound: what a mistyped character still shares with the right one.

Teachers type with a pinyin input method, so most typos are homophones: 分层坐业 for 分层作业,
心里危机 for 心理危机, 教学涉计 for 教学设计. The character n-grams of the lexical side miss them
(坐业 is no n-gram of the catalog), and the dense model reads an unknown character as noise.
Spelt in toneless pinyin the two agree (zuo ye), so this channel matches syllable pairs and
triples (TF-IDF, like the character side): 坐业 finds the resources about 作业. Single
syllables are left out (``shi`` alone is dozens of characters).

It also tells :class:`yanxiu.search.relevance.UnknownWords` that a word the catalog never
writes may still be one it says (a typo, not a topic the catalog lacks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

_RUN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z]+|\d+")


@lru_cache(maxsize=8192)
def _syllables(run: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(run))


def spell(text: str) -> str:
    """Toneless pinyin of ``text``, one token per syllable; a punctuation or script change
    starts a new run (marked ``|``) so no n-gram spans two phrases."""
    runs = []
    for m in _RUN.finditer(text.lower()):
        run = m.group(0)
        runs.append(" ".join(_syllables(run)) if "\u4e00" <= run[0] <= "\u9fff" else run)
    return " | ".join(runs)


def spelt_word(word: str) -> str:
    """A word's syllables joined for substring tests: ``|zuo|ye|``."""
    return "|" + "|".join(_syllables(word)) + "|"


def spelt_text(text: str) -> str:
    """Every Chinese run of ``text`` spelt as :func:`spelt_word` does, runs apart, so
    ``spelt_word(w) in spelt_text(t)`` tells whether ``t`` says ``w`` (in any characters)."""
    return " ".join(spelt_word(run) for run in re.findall(r"[\u4e00-\u9fff]+", text))


class SoundLexical:
    """Syllable 2–3-gram TF-IDF over the catalog's texts spelt in pinyin."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._tfidf = TfidfVectorizer(analyzer=self._analyse, sublinear_tf=True, dtype=np.float32)
        self.document_matrix: Any = None
        self._by_term: Any = None

    @staticmethod
    def _analyse(text: str) -> list[str]:
        grams: list[str] = []
        for phrase in spell(text).split(" | "):
            syl = phrase.split()
            for n in (2, 3):
                grams.extend(" ".join(syl[i : i + n]) for i in range(len(syl) - n + 1))
        return grams

    def fit(self, corpus: Sequence[str]) -> SoundLexical:
        self.document_matrix = self._tfidf.fit_transform(list(corpus)).tocsr()
        self._by_term = self.document_matrix.T.tocsr()  # (terms, docs): one product a query
        return self

    def scores(self, query: str) -> np.ndarray:
        """Cosine of the query against every fitted document (zeros before :meth:`fit`)."""
        if self.document_matrix is None:
            return np.zeros(0, np.float32)
        row = self._tfidf.transform([query])
        return (row @ self._by_term).toarray().astype(np.float32)[0]
