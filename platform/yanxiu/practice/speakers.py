"""Speakers a transcript names without saying who they are, and the teacher's mapping of them.

Speech-recognition exports label turns ``SPEAKER_00:``, ``说话人1：``, ``Speaker 2:`` or (WebVTT)
``<v Li Ming>``; a subtitle file may name nobody at all. Such labels are never guessed into
teacher or student talk silently: the parser collects them (:class:`RawSpeaker`, with their
first lines and share of the words) and, unless a mapping is given, stops with
:class:`SpeakerMappingNeeded`. The upload page then shows each speaker and a default mapping
(:func:`default_mapping`: the speaker with most talk is the teacher, the rest students) for the
teacher to confirm or edit; the CLI takes ``--speaker-map "SPEAKER_00=师,SPEAKER_01=生"``.

A mapping's targets (:data:`TARGETS`): ``师`` (teacher), ``生`` (one student), ``众生`` (the class
or a group), ``生（姓名）`` (a named student), ``忽略`` (drop the speaker's turns: a visitor, the
recording operator).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from yanxiu.errors import Invalid

# labels speech recognition or subtitling leaves: SPEAKER_00, Speaker 1, spk0, 说话人1, 发言人 2
RAW_LABEL = re.compile(
    r"^\s*(?P<label>(?:SPEAKER|Speaker|speaker|SPK|spk)[ _-]?\d{1,3}|(?:说话人|发言人|讲话人|角色)\s?"
    r"[0-9一二三四五六七八九十A-Za-z]{1,3})\s*[:：]\s*"
)
UNLABELLED = "（未标注说话人）"  # the speaker of subtitle cues that name nobody
TARGETS = ("师", "生", "众生", "忽略")
_NAMED = re.compile(r"^生[（(](?P<name>[^（()）]{1,8})[）)]$")
IGNORE_WORDS = ("忽略", "ignore", "-", "")


@dataclass
class RawSpeaker:
    """A speaker label with no known role: where it first speaks and how much it says."""

    label: str
    turns: int = 0
    chars: int = 0
    first_lines: list[tuple[int, str]] = field(default_factory=list)  # (line, text) ≤ 3
    share: float = 0.0  # of all characters spoken by raw speakers

    def add(self, line_no: int, text: str) -> None:
        self.turns += 1
        self.chars += len(re.sub(r"\s", "", text))
        if len(self.first_lines) < 3:
            self.first_lines.append((line_no, text[:60]))


def default_mapping(speakers: list[RawSpeaker]) -> dict[str, str]:
    """Most talk = 师, everyone else 生 (the teacher confirms or edits it)."""
    if not speakers:
        return {}
    teacher = max(speakers, key=lambda s: (s.chars, -speakers.index(s))).label
    return {s.label: "师" if s.label == teacher else "生" for s in speakers}


def target_role(target: str) -> tuple[str, str] | None:
    """(role, label as recorded) for a mapping target; None to ignore the speaker."""
    t = target.strip()
    if t.lower() in IGNORE_WORDS:
        return None
    if t in ("师", "教师", "老师", "T", "teacher"):
        return "teacher", "师"
    if t in ("众生", "全班", "小组", "class"):
        return "students", "众生"
    if t in ("生", "学生", "S", "student"):
        return "student", "生"
    if m := _NAMED.match(t):
        return "student", f"生（{m['name']}）"
    raise Invalid(
        f"说话人映射“{t[:20]}”无效：应为 师、生、众生、生（姓名）或 忽略", fields={"map": t}
    )


def parse_speaker_map(spec: str) -> dict[str, str]:
    """``"SPEAKER_00=师,SPEAKER_01=生"`` as a dict (targets checked); Invalid if malformed."""
    out: dict[str, str] = {}
    for part in re.split(r"[,，;；]\s*", spec.strip()):
        if not part:
            continue
        label, sep, target = part.partition("=")
        if not sep or not label.strip():
            raise Invalid(f"说话人映射“{part[:30]}”应形如 SPEAKER_00=师", fields={"map": part})
        target_role(target)
        out[label.strip()] = target.strip()
    return out


def mapping_summary(mapping: Mapping[str, str]) -> str:
    """The mapping as the report states it: ``SPEAKER_00→师，SPEAKER_01→生``."""
    return "，".join(f"{k}→{v or '忽略'}" for k, v in mapping.items())
