"""A BM25 baseline over jieba words (Robertson & Zaragoza 2009, k1 = 1.5, b = 0.75).

Only for evaluation: it is the classic lexical search a Chinese site would start from, and
`yanxiu eval search` reports it next to the platform's search from the same run.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np


def jieba_words(text: str) -> list[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [w.lower() for w in jieba.lcut(text) if w.strip() and not _punct(w)]


def _punct(word: str) -> bool:
    return all(not ch.isalnum() for ch in word)


class BM25:
    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(jieba_words(d)) for d in documents]
        self.lengths = np.array([sum(c.values()) for c in self.docs], np.float32)
        self.avg = float(self.lengths.mean()) if len(self.docs) else 0.0
        df: Counter[str] = Counter()
        for c in self.docs:
            df.update(c.keys())
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(len(self.docs), np.float32)
        norm = self.k1 * (1 - self.b + self.b * self.lengths / (self.avg or 1))
        for word in set(jieba_words(query)):
            idf = self.idf.get(word)
            if idf is None:
                continue
            tf = np.array([c.get(word, 0) for c in self.docs], np.float32)
            out += idf * tf * (self.k1 + 1) / (tf + norm)
        return out
