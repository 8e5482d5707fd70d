"""Query understanding: what a teacher typed, turned into what search should look for.

Teachers start from a problem, in their own words (学生老是不爱发言咋整), with abbreviations
(新课标, PBL, ChatGPT), in pinyin when the input method is off (zhuti banhui) and often name a
stage and subject (初中物理…). :class:`QueryParser` turns such a query into

- ``text``: the query without filler (怎么办, 咋整, 老是, 嗯…), pinyin words turned into the
  catalog's Chinese words, and every matched abbreviation's expansion appended;
- ``stages`` / ``subjects``: taken from the query, used as soft boosts by search (never as
  hard filters: 初中 in 初中生青春期 should not hide a course for 小学、初中、高中).

The synonym table lives in ``content/search/synonyms.yaml``; a site adds its own entries in
the database (the admin page 检索同义词 or ``yanxiu synonyms add``: :mod:`yanxiu.search.synonyms`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

STAGE_WORDS: dict[str, tuple[str, ...]] = {
    "幼儿园": ("幼儿园", "幼儿", "幼师", "小班", "中班", "大班", "学前"),
    "小学": ("小学", "一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "低年级",
             "中年级", "高年级", "低段", "中段", "高段"),
    "初中": ("初中", "初一", "初二", "初三", "七年级", "八年级", "九年级", "中考"),
    "高中": ("高中", "高一", "高二", "高三", "高考", "新高考"),
}  # fmt: skip
SUBJECT_WORDS: dict[str, tuple[str, ...]] = {
    "语文": ("语文", "作文", "习作", "文言文", "阅读课", "识字"),
    "数学": ("数学", "函数", "几何", "计算题", "口算", "应用题"),
    "英语": ("英语", "english", "单词", "自然拼读", "口语"),
    "物理": ("物理",),
    "化学": ("化学",),
    "生物": ("生物", "生物学"),
    "历史": ("历史",),
    "地理": ("地理",),
    "道德与法治": ("道德与法治", "道法", "品德"),
    "思想政治": ("思想政治", "思政课", "政治课", "高中政治"),
    "科学": ("科学课", "小学科学"),
    "音乐": ("音乐",),
    "美术": ("美术",),
    "体育与健康": ("体育", "体育与健康"),
    "信息科技": ("信息科技", "编程", "信息课"),
}
# Words that say nothing about the topic: stripped for the lexical side (they otherwise match
# 家长会发言 for 学生不爱发言怎么办 through 怎么, 什么, 老师 …). Longest first.
FILLERS = (
    "怎么办呢", "怎么办啊", "怎么办", "咋整", "咋办", "咋弄", "怎么弄", "怎么搞", "怎么整",
    "该怎么", "应该怎么", "怎么才能", "怎样才能", "怎么样", "怎么", "怎样", "如何", "咋",
    "有没有", "有什么", "有哪些", "什么样", "什么", "哪些", "请问", "求助", "求推荐", "推荐",
    "帮忙", "一下", "一些", "相关的", "相关", "的课程", "课程", "的课", "学习资源", "资源",
    "老是", "总是", "老", "特别", "非常", "太", "很", "真的", "实在", "有点", "一直",
    "我们班", "我班", "我们", "我的", "我", "自己",
    "嗯", "呃", "啊", "呀", "吧", "呢", "吗", "嘛", "哎", "唉", "那个", "就是说", "就是",
    "然后", "这个", "的话", "着呢",
)  # fmt: skip
_FILLER_RE = re.compile("|".join(re.escape(f) for f in sorted(FILLERS, key=len, reverse=True)))
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z' ]*[A-Za-z]|[A-Za-z]")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d{6,}")  # phone numbers, ids: never searched or logged


@dataclass(frozen=True)
class Synonym:
    aliases: tuple[str, ...]
    expansion: str


@dataclass
class ParsedQuery:
    raw: str
    text: str  # what the retrievers see
    lexical_text: str  # the same without filler words
    stages: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    expansions: list[str] = field(default_factory=list)  # synonyms that applied
    pinyin: list[str] = field(default_factory=list)  # pinyin words turned into Chinese


def load_synonyms(*paths: Path) -> list[Synonym]:
    """Entries from every existing file, later files' aliases overriding earlier ones."""
    by_alias: dict[str, Synonym] = {}
    for path in paths:
        if not path.is_file():
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("synonyms") or []:
            aliases = tuple(
                str(a).strip().lower() for a in item.get("aliases") or [] if str(a).strip()
            )
            expansion = str(item.get("expansion") or "").strip()
            if not aliases or not expansion:
                raise ValueError(f"{path}: every synonym needs aliases and an expansion: {item!r}")
            entry = Synonym(aliases, expansion)
            for alias in aliases:
                by_alias[alias] = entry
    # each entry keeps only the aliases no later entry took over (else both would apply)
    owned: dict[int, tuple[Synonym, list[str]]] = {}
    for alias, entry in by_alias.items():
        owned.setdefault(id(entry), (entry, []))[1].append(alias)
    return [Synonym(tuple(aliases), entry.expansion) for entry, aliases in owned.values()]


def normalise_query(query: str) -> str:
    text = unicodedata.normalize("NFKC", query).strip()
    return _SPACES.sub(" ", _DIGITS.sub(" ", text))


class PinyinVocabulary:
    """Catalog words by their toneless pinyin, to read ``zhuti banhui`` as 主题 班会."""

    def __init__(self, words: Iterable[str]) -> None:
        from pypinyin import lazy_pinyin

        counts = Counter(w for w in words if len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w))
        best: dict[str, tuple[int, str]] = {}
        for word, n in counts.items():
            key = "".join(lazy_pinyin(word))
            if key not in best or n > best[key][0]:
                best[key] = (n, word)
        self.words = {k: w for k, (_, w) in best.items()}
        self.longest = max((len(k) for k in self.words), default=0)

    def convert(self, latin: str) -> str | None:
        """Chinese words for a run of pinyin (spaces optional), or None if it is not pinyin."""
        letters = re.sub(r"[\s']", "", latin.lower())
        if len(letters) < 4:
            return None
        n = len(letters)
        # fewest words covering the whole run (dynamic programming over end positions)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for end in range(1, n + 1):
            for start in range(max(0, end - self.longest), end):
                prev = best[start]
                word = self.words.get(letters[start:end])
                if (
                    prev is not None
                    and word
                    and (best[end] is None or len(prev) + 1 < len(best[end] or []))
                ):
                    best[end] = [*prev, word]
        found = best[n]
        return "".join(found) if found else None


class QueryParser:
    def __init__(
        self, synonyms: Sequence[Synonym] = (), pinyin: PinyinVocabulary | None = None
    ) -> None:
        self.synonyms = list(synonyms)
        self.pinyin = pinyin
        pairs = [(a, s) for s in self.synonyms for a in s.aliases]
        pairs.sort(key=lambda p: len(p[0]), reverse=True)
        self._aliases = pairs

    def parse(self, query: str) -> ParsedQuery:
        text = normalise_query(query)
        converted: list[str] = []
        if self.pinyin is not None:

            def _pinyin(m: re.Match[str]) -> str:
                if m.group(0).lower() in {a for a, _ in self._aliases}:
                    return m.group(0)
                chinese = self.pinyin.convert(m.group(0)) if self.pinyin else None
                if chinese:
                    converted.append(m.group(0))
                    return chinese
                return m.group(0)

            text = _LATIN_RUN.sub(_pinyin, text)
        lower = text.lower()
        expansions: list[str] = []
        used: set[int] = set()
        masked = lower
        for alias, syn in self._aliases:
            if id(syn) in used:
                continue
            if _contains_alias(masked, alias):
                used.add(id(syn))
                expansions.append(syn.expansion)
                masked = masked.replace(alias, " ")
        # words inside a matched alias (选物理还是历史 → 选科) name no subject
        stages = [s for s, words in STAGE_WORDS.items() if any(w in masked for w in words)]
        subjects = [s for s, words in SUBJECT_WORDS.items() if any(w in masked for w in words)]
        full = " ".join([text, *expansions]).strip()
        lexical = _SPACES.sub(" ", _FILLER_RE.sub(" ", full)).strip() or full
        return ParsedQuery(query, full, lexical, stages, subjects, expansions, converted)


def _contains_alias(lower: str, alias: str) -> bool:
    if re.fullmatch(r"[a-z0-9 .+]+", alias):  # Latin aliases match whole words only (ai ≠ said)
        return re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", lower) is not None
    return alias in lower
