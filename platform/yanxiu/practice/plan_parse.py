"""Lesson plans split into canonical sections (教学目标 … 作业设计), and telling a lesson plan
from a transcript when the user did not say which a file is.

Headings may be Markdown at any depth (a deeper heading inside a section is a step of it, so
``### 活动一`` keeps 教学过程 whole), ``一、教学目标``, ``【教学目标】``, ``**教学目标**``, DOCX
heading styles (their level kept) or bold paragraphs. A plan pasted as one paragraph is split
by sentences and cue words and marked :attr:`LessonPlan.guessed`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_HEAD_MD = re.compile(r"^#{1,6}\s*(?P<h>.+?)\s*#*$")
_HEAD_BOLD = re.compile(r"^\*\*(?P<h>[^*]{1,30})\*\*\s*[:：]?\s*$")
_HEAD_BRACKET = re.compile(r"^【(?P<h>[^】]{1,20})】\s*(?P<rest>.*)$")
_HEAD_NUM = re.compile(
    r"^[一二三四五六七八九十]+\s*[、.．]\s*(?P<h>[^:：。]{1,20})(?:[:：]\s*(?P<rest>.*))?$"
)
_HEAD_PLAIN = re.compile(r"^(?P<h>[\u4e00-\u9fff][^:：。，,]{1,11})(?:[:：]\s*(?P<rest>.*))?$")


@dataclass
class LessonPlan:
    """Sections of a lesson plan.

    Attributes:
        sections: canonical key (教学目标 … 作业设计) -> section text, in document order.
        headings: (line_no, heading as written, canonical key or "") for every detected heading.
        missing: canonical keys not found.
        other: text under headings that map to no canonical key (and any preamble, key "").
        lines: canonical key -> (line_no, text) of each non-empty line of the section (the
            heading's own text after "：" included), so evidence can point at the line it quotes.
    """

    sections: dict[str, str] = field(default_factory=dict)
    headings: list[tuple[int, str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    other: dict[str, str] = field(default_factory=dict)
    lines: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    guessed: bool = False  # no headings: sections guessed from sentences and cue words

    def line_of(self, key: str, quote: str) -> int | None:
        """The number of the section's line that contains ``quote`` (its first 12 characters
        suffice: quotes are cut), else the section heading's line."""
        probe = quote.strip()[:12]
        found = next((no for no, text in self.lines.get(key, []) if probe and probe in text), None)
        return found or next((no for no, _, k in self.headings if k == key), None)


def _heading(line: str) -> tuple[str, str, str] | None:
    """(heading, canonical key, rest of line) if the line is a heading."""
    for pattern, strict in ((_HEAD_MD, False), (_HEAD_BOLD, False), (_HEAD_BRACKET, False),
                            (_HEAD_NUM, True), (_HEAD_PLAIN, True)):  # fmt: skip
        m = pattern.match(line)
        if m:
            key = canonical_section(m.group("h"))
            if strict and not key:
                return None
            return m.group("h").strip(), key, (m.groupdict().get("rest") or "").strip()
    return None


def parse_lesson_plan(data: bytes, filename: str = "plan.md") -> LessonPlan:
    """Split a lesson plan (.txt, .md or .docx) into canonical sections.

    Headings are Markdown ``#``, ``一、教学目标``, ``【教学目标】``, ``**教学目标**``, DOCX heading
    styles or bold paragraphs, or a short line that is itself a known section name.

    Raises:
        TranscriptError: for an empty, oversized, undecodable or unsupported file.
    """
    _check_size(data)
    suffix = os.path.splitext((filename or "").strip())[1].lower()
    if suffix == ".docx":  # numbered by 段 (paragraph or table row), as in transcripts
        numbered = _docx_numbered(bytes(data), mark_headings=True)
    elif suffix in ("", ".txt", ".text", ".md", ".markdown"):
        numbered = list(enumerate(decode_text(bytes(data)).split("\n"), start=1))
    else:
        raise TranscriptError(f"不支持“{suffix}”文件，教案请上传 .txt、.md 或 .docx 文件")
    plan, current = LessonPlan(), ("", "")
    depth: int | None = None  # the Markdown level of the current section's heading
    buf: list[str] = []
    numbered_buf: list[tuple[int, str]] = []

    def flush() -> None:
        text = "\n".join(buf).strip()
        target = plan.sections if current[1] else plan.other
        name = current[1] or current[0]
        if text or current[1]:
            target[name] = (target.get(name, "") + "\n" + text).strip()
        if current[1]:
            plan.lines.setdefault(current[1], []).extend((n, t) for n, t in numbered_buf if t)

    for no, raw in numbered:
        line = raw.replace("\u3000", " ").strip()
        head = _heading(line) if 0 < len(line) <= 60 else None
        level = len(md[1]) if (md := re.match(r"^(#{1,6})\s", line)) else None
        if head is not None and current[1] and _sub_heading(head, level, depth):
            head = None  # "### 活动一" under "## 教学过程": a step of the section, not a new one
        if head is None:
            buf.append(line)
            numbered_buf.append((no, line))
            continue
        flush()
        plan.headings.append((no, head[0], head[1]))
        current, buf = (head[0], head[1]), [head[2]] if head[2] else []
        depth = level
        numbered_buf = [(no, head[2])] if head[2] else []
    flush()
    if len(plan.sections) < 2:
        _guess_sections(plan, numbered)
    plan.missing = [k for k in SECTION_SYNONYMS if k not in plan.sections]
    return plan


# sections that are not scored but end the one before them ("## 板书设计" after 教学过程)
_CLOSING_HEADINGS = ("板书设计", "板书", "教学反思", "反思", "教学准备", "教学资源", "教材分析",
                     "教学方法", "教法学法", "课时安排", "课前准备", "附录", "参考资料")  # fmt: skip


def _sub_heading(head: tuple[str, str, str], level: int | None, depth: int | None) -> bool:
    """Whether a heading inside a canonical section belongs to it: a deeper Markdown heading
    always does; an unnamed one (no canonical key) does unless it names a closing section or
    is a Markdown heading as shallow as the section's."""
    if level is not None and depth is not None:
        return level > depth
    if head[1]:
        return False
    if any(head[0].strip("：: ").startswith(c) for c in _CLOSING_HEADINGS):
        return False
    return level is None or depth is None


# cue words that open a section when a plan has no headings (one pasted paragraph)
_SECTION_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("作业设计", ("作业", "课后练习", "课后完成")),
    ("评价设计", ("评价", "量规", "自评", "互评", "达成度")),
    ("教学重难点", ("重点", "难点")),
    ("学情分析", ("学情", "学生已经", "学生已", "已有", "学生在学习")),
    ("教学目标", ("目标", "学生能", "使学生", "让学生能")),
    (
        "教学过程",
        ("导入", "新授", "首先", "然后", "接着", "环节", "活动", "探究", "小结", "最后", "出示"),
    ),
)


def _guess_sections(plan: LessonPlan, numbered: list[tuple[int, str]]) -> None:
    """Sections of a plan without headings, from its sentences and cue words (marked guessed)."""
    sentences = [
        (no, s.strip())
        for no, raw in numbered
        for s in re.findall(r"[^。！？!?；;\n]+[。！？!?；;]?", raw)
        if s.strip()
    ]
    if sum(len(s) for _, s in sentences) < 60:
        return
    guessed: dict[str, list[tuple[int, str]]] = {}
    current = ""
    for no, sentence in sentences:
        for key, cues in _SECTION_CUES:
            if any(c in sentence[:12] for c in cues) or (
                key != "教学过程" and any(c in sentence for c in cues) and key not in guessed
            ):
                current = key
                break
        if current:
            guessed.setdefault(current, []).append((no, sentence))
    if len(guessed) < 2:
        return
    plan.guessed = True
    for key, items in guessed.items():
        text = "".join(s for _, s in items)
        plan.sections[key] = (plan.sections.get(key, "") + "\n" + text).strip()
        plan.lines.setdefault(key, []).extend(items)
        plan.headings.append((items[0][0], f"（推断）{key}", key))


def parse_either(
    data: bytes, filename: str, speaker_map: Mapping[str, str] | None = None
) -> tuple[str, list[Utterance] | LessonPlan]:
    """:func:`read_either` with a transcript's warnings dropped."""
    kind, parsed = read_either(data, filename, speaker_map)
    return kind, parsed.utterances if isinstance(parsed, ParsedTranscript) else parsed


def read_either(
    data: bytes, filename: str, speaker_map: Mapping[str, str] | None = None
) -> tuple[str, ParsedTranscript | LessonPlan]:
    """A file whose kind the user did not say, parsed: ("transcript", parsed transcript) or
    ("lesson_plan", plan).

    Subtitles and JSON are transcripts and Markdown is a lesson plan. A text or DOCX file is a
    transcript if it parses as one; if it does not, but it has at least two lesson-plan sections
    (教学目标, 教学过程 …), it is a lesson plan; otherwise the transcript's error is raised, since
    it names the line to fix. Speakers to map are never mistaken for a lesson plan.
    """
    suffix = os.path.splitext((filename or "").strip())[1].lower()
    if suffix in (".md", ".markdown"):
        return "lesson_plan", parse_lesson_plan(data, filename)
    try:
        return "transcript", read_transcript(data, filename, speaker_map)
    except SpeakerMappingNeeded:
        raise
    except TranscriptError as transcript_error:
        if suffix in (".srt", ".vtt", ".json"):
            raise
        try:
            plan = parse_lesson_plan(data, filename)
        except TranscriptError:
            raise transcript_error from None
        if len({key for _, _, key in plan.headings if key}) >= 2 and not plan.guessed:
            return "lesson_plan", plan
        raise


def plan_sections_found(data: bytes, filename: str) -> list[str]:
    """The lesson-plan sections a file has by its headings (for a hint when a transcript is
    refused: "this looks like a lesson plan"); [] if it cannot be read as one."""
    try:
        plan = parse_lesson_plan(data, filename)
    except TranscriptError:
        return []
    return [] if plan.guessed else list(dict.fromkeys(k for _, _, k in plan.headings if k))


def transcript_lines_found(plan: LessonPlan) -> int:
    """How many lines of a lesson plan start like transcript turns ("师：", "生A：")."""
    text = "\n".join([*plan.sections.values(), *plan.other.values()])
    return sum(bool(_SPEAKER.match(_STAMP.sub("", ln, count=1))) for ln in text.split("\n"))


def guess_kind(data: bytes, filename: str) -> str:
    """ "transcript" or "lesson_plan" for a file whose kind the user did not say (the rules of
    :func:`parse_either`)."""
    return parse_either(data, filename)[0]


# at the end: parse re-exports this module's names, so whichever is imported first, both
# modules are complete when the other reads them
from yanxiu.practice.parse import (  # noqa: E402
    _SPEAKER,
    _STAMP,
    SECTION_SYNONYMS,
    ParsedTranscript,
    SpeakerMappingNeeded,
    TranscriptError,
    Utterance,
    _check_size,
    _docx_numbered,
    canonical_section,
    decode_text,
    read_transcript,
)
