"""Parse classroom transcripts and lesson plans uploaded by teachers.

Transcripts (.txt in UTF-8/UTF-8-BOM/GBK, .docx, .json, .srt, .vtt) become :class:`Utterance`
lists; every problem is a :class:`TranscriptError` in Chinese naming the line and the fix. A text
line is ``[timestamp] speaker：text``; a line without a speaker continues the previous turn, but
one that starts with an unknown label (``李明：``) is refused rather than merged; a
turn that is wholly bracketed (``众生：（独立练习）``) is kept with ``is_action=True``. ``end_s`` is
set only when the source states it (SRT, WebVTT, JSON), never derived from the next start.
DOCX paragraphs and table rows are read in document order (see `_docx_numbered`).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, overload

from yanxiu.errors import Invalid
from yanxiu.practice.docx_guard import docx_problem
from yanxiu.practice.speakers import (
    RAW_LABEL,
    UNLABELLED,
    RawSpeaker,
    default_mapping,
    mapping_summary,
    target_role,
)

if TYPE_CHECKING:
    from docx.table import _Row

MAX_BYTES = 2 * 1024 * 1024
MAX_UTTERANCES = 5000
TRANSCRIPT_SUFFIXES = (".txt", ".text", ".docx", ".json", ".srt", ".vtt")


class TranscriptError(Invalid, ValueError):
    """An unusable transcript or lesson plan; ``line_no`` (or None) and ``problem`` say why.

    A kind of :class:`~yanxiu.errors.Invalid` (the line, when known, is ``fields["line"]``),
    and still a ValueError for callers that catch those.
    """

    def __init__(self, problem: str, line_no: int | None = None, unit: str = "行") -> None:
        message = f"第{line_no}{unit}：{problem}" if line_no is not None else problem
        super().__init__(message, fields={} if line_no is None else {"line": str(line_no)})
        self.line_no = line_no
        self.problem = problem


@dataclass(frozen=True)
class Utterance:
    """One speaker turn.

    Attributes:
        index, line_no: 0-based position; 1-based source line (DOCX: paragraph or table row; JSON: item).
        speaker_role: "teacher", "student" (one student) or "students" (the class or a group).
        speaker_label: the prefix as written, e.g. "生A".
        text: what was said (or the stage direction, brackets included).
        start_s, end_s: seconds, when the source has them (ends: SRT, WebVTT, JSON only).
        is_action: True for a bracketed stage direction such as "（独立练习）".
        segment: the 环节 (lesson stage) in force, from a marker line or a 环节 column.
    """

    index: int
    line_no: int
    speaker_role: str
    speaker_label: str
    text: str
    start_s: float | None = None
    end_s: float | None = None
    is_action: bool = False
    segment: str = ""  # the 环节 the turn belongs to ("导入", "新授"…), when the source marks it


# Speaker labels by role. A label may carry a bracketed note ("老师（王）", "生（张三）") and a
# speech verb ("师问", "生答"); "齐" (in unison) always means the class or a group.
_NOTE = r"(?:[（(][^（()）:：]{1,6}[）)])?"
_VERB = r"(?:追问|提问|回答|朗读|小结|总结|问|答|说|读|评)?"
_NUM = r"[A-Za-z0-9甲乙丙丁一二三四五六七八九十]"
_GROUP = r"(?:第?[0-9一二三四五六七八九十]{1,2}|各|[A-Za-z])?小?组(?:[0-9一二三四五六七八九十]{1,2}|[A-Za-z])?"
_CLASS = rf"(?:众生|男女生|男生|女生|全体(?:学生|同学)?|全班(?:同学)?|学生们|同学们|{_GROUP})"
_IN_UNISON = r"(?:[（(]齐[^（()）:：]{0,3}[）)])"  # "（齐）", "（齐读）"
# 师, 老师, 王老师, 老师（王）, 师问, T, T1, Teacher, 主讲, 助教 (a teacher-side speaker), 班主任
_TEACHER = (
    rf"(?:[\u4e00-\u9fff]{{0,2}}老师|教师|师|主讲(?:人|教师)?|助教|班主任|T\d{{0,2}}"
    rf"|Teacher(?:\s?[A-Z0-9])?|(?:Mr|Mrs|Ms|Miss)\.?\s?[A-Z][a-z]{{1,11}}){_NOTE}{_VERB}"
)  # "Teacher A", "Ms Wang": how English lessons are often transcribed
# 众生, 全班, 男生, 女生, 第二组, 小组1, 各组, 全班齐读, 生齐, 生（齐）, Ss
_STUDENTS = (
    rf"(?:{_CLASS}|学生|生)?齐(?:读|答|说)?|{_CLASS}{_VERB}{_IN_UNISON}?"
    rf"|(?:学生|生){_IN_UNISON}{_VERB}|Ss|Students|All|Class"
)
# 生, 生A, 学生甲, S1, Student A, 生（张三）, 男生1, 同学A, 李明同学, 生答, 组长, 第一组代表
_STUDENT = (
    rf"(?:(?:学生|生|Student|S)\s?{_NUM}{{0,3}}|(?:男|女)生{_NUM}{{1,3}}|同学{_NUM}{{1,3}}"
    rf"|[\u4e00-\u9fff]{{1,3}}同学){_NOTE}{_VERB}|{_GROUP}(?:代表|长)"
)
# Alternatives are tried in this order, so "生（齐）" is the group before it could be one student.
_SPEAKER = re.compile(
    rf"^\s*(?:(?P<t>{_TEACHER})|(?P<g>{_STUDENTS})|(?P<s>{_STUDENT}))\s*[:：]\s*", re.IGNORECASE
)
# A line that starts like a label ("李明：", "家长（王）：") but is no known speaker is refused, not
# glued onto the previous turn: a continuation line rarely starts that way, while gluing would turn
# a student's words into teacher talk. Not labels: text with spaces or sentence punctuation before
# the colon, a leading digit ("1：" list items, "12:30"), and an ASCII ":" followed by "/", "\" or a
# digit (URLs "http://", paths "C:\", ratios "比例3:2").
_LABEL_CHAR = r"[^\s:：，。！？；、,.!?;\"'“”‘’《》<>()（）\[\]【】/\\]"
_LABEL_LIKE = re.compile(
    rf"^(?P<label>(?!\d){_LABEL_CHAR}{{1,6}}{_NOTE}|[\u4e00-\u9fff](?: [\u4e00-\u9fff]){{1,3}}"
    r"|[A-Z][a-z]{1,11} [A-Z][a-z]{1,11})"
    r"\s*(?:：|:(?![/\\\d]))"
)  # the second form: a name typed with spaces ("李 明：")
# Words that open a line of what is said or written on the board, not a speaker ("注意：单位要统一",
# "答案：3", "第二题：…"): such a line continues the turn above, as it always has.
_NOT_A_SPEAKER = re.compile(
    r"(注意|例如|比如|举例|例|例题|答案|提示|板书|小结|总结|结论|要求|思考|练习|作业|问题|说明|备注|"
    r"原文|课件|屏幕|投影|口诀|公式|定义|定理|已知|求|解|证明|分析|步骤|关键|重点|难点|方法|"
    r"第[0-9一二三四五六七八九十]{1,3}[题步问点种个条句段])"
)
# A refused label that may be a person's name (two to four Chinese characters, or "Tom"): the
# message then shows how to write a student by name.
_NAME_LIKE = re.compile(r"[\u4e00-\u9fff]{2,4}|[A-Z][a-z]{1,11}")
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_STAMP = re.compile(rf"^\s*(?:\[(?P<b>[^\]]{{0,12}}\d:\d[^\]]{{0,12}})\]|(?P<u>{_CLOCK})(?!\d))\s*")
_ACTION = re.compile(r"^[（(][^（()）]*[）)]$")
_CUE_TIME = re.compile(rf"^\s*(?P<a>{_CLOCK})\s*-->\s*(?P<b>{_CLOCK})(?:\s.*)?$")
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_CUE_EG = "00:00:01,000 --> 00:00:04,000"
_SPEAKER_HINT = "请以“师：”或“生：”等说话人开头（如“老师：”“学生A：”“众生：”）"


def parse_clock(value: str, line_no: int | None = None, unit: str = "行") -> float:
    """Seconds from ``HH:MM:SS``, ``MM:SS`` or ``HH:MM:SS,mmm``; TranscriptError if invalid."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,](\d{1,3}))?\s*", value)
    if not m:
        msg = f"时间戳“{value[:20]}”格式不对，应如“00:01:23”或“[01:23]”"
        raise TranscriptError(msg, line_no, unit)
    a, b, c, frac = m.groups()
    h, mi, s = (int(a), int(b), int(c)) if c is not None else (0, int(a), int(b))
    if mi >= 60 or s >= 60:
        raise TranscriptError(f"时间戳“{value[:20]}”无效：分钟和秒都应小于60", line_no, unit)
    return h * 3600 + mi * 60 + s + (int(frac) / 10 ** len(frac) if frac else 0.0)


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or GBK text; refuse binaries."""
    boms = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
    candidates = [e for b, e in boms.items() if data.startswith(b)] or ["utf-8", "gbk", "gb18030"]
    text = None
    for enc in candidates:
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        text = str(best) if best is not None else None
    if text is None or "\x00" in text:
        raise TranscriptError("无法识别文件编码或不是文本文件，请另存为UTF-8编码的.txt文件")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_size(data: bytes) -> None:
    if not isinstance(data, bytes | bytearray):
        raise TranscriptError("上传内容无效：应为文件的字节内容")
    if len(data) > MAX_BYTES:
        raise TranscriptError(f"文件{len(data) / 1048576:.1f} MB，超过2 MB上限，请拆分后上传")
    if not data.strip():
        raise TranscriptError("文件为空，请上传包含课堂实录内容的文件")


def _unknown_speaker(label: str, colon: str = "：") -> str:
    """Why ``label`` is refused and what to write instead (only suggestions that would parse;
    the by-name forms only for a label that may be a name)."""
    label = label[:20]
    named = (f"生（{label}）", f"{label}同学") if _NAME_LIKE.fullmatch(label) else ()
    student = [f"“{a}{colon}”" for a in named if _SPEAKER.fullmatch(a + "：")]
    msg = (
        f"无法识别说话人“{label}”：学生请写{'或'.join(student or [f'“生A{colon}”'])}，教师请写“师{colon}”，"
        f"全班或小组请写“众生{colon}”或“第一组{colon}”"
    )
    return msg + ("；若这一行是上一句的接续，请把它接在上一行末尾" if colon else "")


_Sec = float | None
# Lines that are not turns. A 环节 marker ("【导入】", "一、复习导入", "环节二：新授") starts a
# lesson stage; a metadata line ("执教：王芳", "班级：七(3)班") is skipped; a reflection heading
# ("教学反思") after the turns ends the transcript (what follows is not the lesson).
_SEGMENT = re.compile(
    r"^(?:【(?:环节[:：])?(?P<a>[^】]{1,14})】|(?:[一二三四五六七八九十]{1,2}[、.．]|[（(][一二三四五六七八九十]{1,2}[）)])"
    r"\s*(?P<b>[^：:，。？！,]{2,14})|环节\s*[一二三四五六七八九十0-9]{1,2}\s*[:：]?\s*(?P<c>[^，。？！,]{0,14}))$"
)
_META = re.compile(
    r"^(?:执教(?:教师|老师|人)?|授课(?:教师|老师|人)?|主讲教师|班级|年级|学校|课题|课名|日期|时间|地点|学科|课型|"
    r"课时|教材|版本|记录(?:人|者)?|整理(?:人|者)?|观课(?:人|教师)?|评课人|转写|来源|备注)\s*[:：]"
)
_REFLECTION = re.compile(
    r"^[#*【\s]*(?:教学反思|课后反思|反思与改进|执教者反思|评课记录|课堂评析|观课评议|附[:：]|附录)"
)
# a teacher turn ending with a student activity in brackets: "请独立完成。（学生独立练习）"
_TRAILING_ACTIVITY = re.compile(
    r"^(?P<said>.*\S)\s*[（(](?P<act>[^（()）]{0,20}(?:练习|讨论|思考|合作|交流|做题|阅读|默读|朗读|实验|操作|"
    r"探究|完成|书写|写作|活动|计算|画图|测量)[^（()）]{0,20})[）)]$"
)
_TEACHER_ACTION = re.compile(r"板书|演示|播放|出示|讲解|示范|展示课件|课件")


class SpeakerMappingNeeded(TranscriptError):
    """Speakers the parser cannot place (``SPEAKER_00``, ``<v Li Ming>``, unlabelled cues):
    ``speakers`` with their first lines and shares, ``default`` the proposed mapping."""

    def __init__(self, speakers: list[RawSpeaker]) -> None:
        names = "、".join(sp.label for sp in speakers[:6])
        super().__init__(
            f"实录中的说话人“{names}”不是“师/生”标注（常见于语音转写导出）：请确认每位说话人是"
            "教师、学生还是忽略，再进行分析"
        )
        self.fields["speakers"] = names
        self.speakers = speakers
        self.default = default_mapping(speakers)


def _map_target(target: str) -> tuple[str, str] | None:
    """(role, label) for a mapping target: 师/生/众生/生（姓名）/忽略, or any label the parser
    knows ("第一组", "生B", "王老师")."""
    try:
        return target_role(target)
    except Invalid as err:
        m = _SPEAKER.fullmatch(target.strip() + "：")
        if m is None:
            raise TranscriptError(err.message) from None
        role = "teacher" if m.group("t") else "students" if m.group("g") else "student"
        return role, target.strip()


def _speech_s(text: str) -> float:
    return max(1.0, len(_CJK.findall(text)) / 4.0)


class _Builder:
    """Accumulates utterances from (line_no, start, end, body) records.

    ``speaker_map``: the teacher's mapping of raw speaker labels (:mod:`speakers`); without it a
    raw label is collected and :meth:`result` raises :class:`SpeakerMappingNeeded`.
    """

    def __init__(self, unit: str = "行", speaker_map: Mapping[str, str] | None = None) -> None:
        self.items: list[Utterance] = []
        self.unit = unit
        self.map = dict(speaker_map or {})
        self.raw: dict[str, RawSpeaker] = {}
        self.warnings: list[str] = []
        self.skipping = False  # continuation lines of an ignored speaker are dropped too
        self.segment = ""
        self.ended_at: int | None = None  # a reflection heading ended the transcript
        self.preamble: list[int] = []  # lines before the first turn that are no turn
        self.ignored = 0

    def add(
        self, no: int, body: str, start: _Sec, end: _Sec, stamped: bool, voice: str | None = None
    ) -> None:
        """Add one line: a new turn if it has a speaker prefix, else a continuation.

        A line that looks like an unknown label (`_LABEL_LIKE`) is refused, never merged; a raw
        ASR label (or a WebVTT ``voice`` that is no known label) is mapped or collected.
        """
        body, unit = body.strip(), self.unit
        if self.ended_at is not None or not body:
            return
        if voice is not None:
            self._raw(no, voice.strip(), body, start, end)
            return
        m = _SPEAKER.match(body)
        if m is None:
            raw = RAW_LABEL.match(body)
            unknown = _LABEL_LIKE.match(body)
            if raw is None and unknown is not None and unknown.group("label") in self.map:
                raw = unknown
            if raw is not None:
                self._raw(no, raw.group("label"), body[raw.end() :], start, end)
                return
            if not stamped and self._not_a_turn(no, body):
                return
            if unknown and not _NOT_A_SPEAKER.fullmatch(unknown.group("label")):
                raise TranscriptError(_unknown_speaker(unknown.group("label")), no, unit)
            if _ACTION.match(body) and not stamped:  # a stage direction on its own line
                self._append(no, self._action_role(body), "（课堂活动）", body, start, end)
                return
            if self.skipping:
                return
            if not self.items or stamped:
                if not self.items and not stamped:
                    self.preamble.append(no)
                    return
                raise TranscriptError(f"无法识别说话人，{_SPEAKER_HINT}", no, unit)
            prev = self.items[-1]
            glue = "" if _CJK.match(prev.text[-1:]) or _CJK.match(body[:1]) else " "
            text = prev.text + glue + body if body else prev.text
            new_end = end if end is not None else prev.end_s
            self.items[-1] = replace(prev, text=text, end_s=new_end, is_action=False)
            return
        label = m.group(0).strip().rstrip(":：").strip()
        role = "teacher" if m.group("t") else "students" if m.group("g") else "student"
        self._turn(no, role, label, body[m.end() :].strip(), start, end)

    def _not_a_turn(self, no: int, body: str) -> bool:
        """Skip a 环节 marker, a metadata line or (after the turns) a reflection heading."""
        if seg := _SEGMENT.match(body):
            self.segment = (seg["a"] or seg["b"] or seg["c"] or body).strip()
            return True
        if _META.match(body):
            return True
        if self.items and _REFLECTION.match(body):
            self.ended_at = no
            self.warnings.append(f"第{no}{self.unit}起是“{body[:12]}”等实录以外的内容，未计入分析")
            return True
        return False

    @staticmethod
    def _action_role(text: str) -> str:
        return "teacher" if _TEACHER_ACTION.search(text) else "students"

    def _raw(self, no: int, label: str, text: str, start: _Sec, end: _Sec) -> None:
        """A turn by a raw speaker: mapped by ``speaker_map``, else collected for the mapping."""
        text = text.strip()
        if label in self.map:
            target = _map_target(self.map[label])
            if target is None:
                self.skipping, self.ignored = True, self.ignored + 1
                return
            self._turn(no, target[0], target[1], text, start, end)
            return
        self.raw.setdefault(label, RawSpeaker(label)).add(no, text)
        self._turn(no, "unmapped", label, text or "…", start, end)

    def _turn(self, no: int, role: str, label: str, text: str, start: _Sec, end: _Sec) -> None:
        unit = self.unit
        self.skipping = False
        if not text:
            raise TranscriptError(f"“{label}：”后面没有内容，请补全发言或删除这一行", no, unit)
        if start is not None:
            last = next((u.start_s for u in reversed(self.items) if u.start_s is not None), None)
            if last is not None and start < last:
                raise TranscriptError("时间戳早于上一句，请按时间顺序排列各行", no, unit)
        if end is not None and start is not None and end < start:
            raise TranscriptError("结束时间早于开始时间，请检查时间轴", no, unit)
        act = _TRAILING_ACTIVITY.match(text) if role == "teacher" else None
        if act is not None and not _ACTION.match(text):
            # the direction is the class working, not the teacher talking: a turn of its own
            said = act["said"]
            at = None if start is None else start + _speech_s(said)
            if end is not None and at is not None:
                at = min(at, end)
            self._append(no, role, label, said, start, None if end is None else at)
            self._append(no, "students", "（课堂活动）", f"（{act['act']}）", at, end)
            return
        self._append(no, role, label, text, start, end)

    def _append(self, no: int, role: str, label: str, text: str, start: _Sec, end: _Sec) -> None:
        if len(self.items) >= MAX_UTTERANCES:
            raise TranscriptError("发言超过5000条上限，请把实录拆成几个文件上传", no, self.unit)
        action = bool(_ACTION.match(text))
        if action and start is None and self.items and self.items[-1].start_s is not None:
            start = self.items[-1].start_s  # an untimed direction: where the last turn began
        self.items.append(
            Utterance(len(self.items), no, role, label, text, start, end, action, self.segment)
        )

    def result(self) -> list[Utterance]:
        if not self.items:
            if self.preamble:
                raise TranscriptError(
                    f"无法识别说话人，{_SPEAKER_HINT}", self.preamble[0], self.unit
                )
            raise TranscriptError(f"没有找到任何发言，{_SPEAKER_HINT}")
        if self.raw:
            total = sum(sp.chars for sp in self.raw.values()) or 1
            for sp in self.raw.values():
                sp.share = round(sp.chars / total, 3)
            raise SpeakerMappingNeeded(list(self.raw.values()))
        spoken = [u for u in self.items if not u.is_action]
        if spoken and all(u.speaker_role == "teacher" for u in spoken):
            self.warnings.append(
                "实录中只有教师发言，没有任何学生发言：若学生发言未被转写，学生参与、反馈和互动"
                "的评分会偏低，请补全或在审核时说明"
            )
        if self.ignored:
            self.warnings.append(f"按说话人映射忽略了 {self.ignored} 个话轮")
        return self.items


def parse_lines(
    lines: list[str],
    unit: str = "行",
    numbers: list[int] | None = None,
    b: _Builder | None = None,
) -> list[Utterance]:
    """Parse text lines (already decoded) with optional leading timestamps.

    ``numbers`` gives each line's number for messages (DOCX: its 段); default 1, 2, 3, ….
    """
    b = b or _Builder(unit)
    b.unit = unit
    for no, raw in zip(numbers or range(1, len(lines) + 1), lines, strict=True):
        line = raw.replace("\u3000", " ").strip()
        if not line:
            continue
        start = None
        m = _STAMP.match(line)
        if m:
            start = parse_clock(m.group("b") or m.group("u"), no, unit)
            line = line[m.end() :]
            if not line.strip():
                raise TranscriptError(f"时间戳后面没有发言，{_SPEAKER_HINT}", no, unit)
        b.add(no, line, start, None, m is not None)
    return b.result()


_VOICE = re.compile(r"<v(?:\.[^ >]*)?\s+([^>]+)>")


def parse_cues(lines: list[str], *, vtt: bool, b: _Builder | None = None) -> list[Utterance]:
    """Parse SRT blocks or WebVTT cues; each text line keeps the cue's start and end.

    WebVTT: the header block (``Kind:``, ``Language:``), NOTE, STYLE and REGION blocks are
    skipped; a voice tag ``<v 老师>`` is the speaker (a name that is no known label, such as
    ``<v Li Ming>``, goes to the speaker mapping). Subtitles that name no speaker at all are one
    speaker, :data:`UNLABELLED`, for the mapping: each cue is then its own turn.
    """
    b = b or _Builder()
    i, n = (1 if vtt else 0), len(lines)
    if vtt and not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise TranscriptError("WebVTT文件第一行应为“WEBVTT”", 1)
    while vtt and i < n and lines[i].strip() and "-->" not in lines[i]:
        i += 1  # header lines after WEBVTT (Kind:, Language:) up to the first blank line
    blocks: list[tuple[int, float, float, list[tuple[int, str]]]] = []
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        block: list[tuple[int, str]] = []
        while i < n and lines[i].strip():
            block.append((i + 1, lines[i].strip()))
            i += 1
        if vtt and block[0][1].split(" ")[0] in ("NOTE", "STYLE", "REGION"):
            continue
        timing = next((k for k, (_, s) in enumerate(block[:2]) if "-->" in s), None)
        if timing is None:
            raise TranscriptError(f"字幕缺少时间轴，应形如“{_CUE_EG}”", block[0][0])
        no, spec = block[timing]
        m = _CUE_TIME.match(spec)
        if not m:
            raise TranscriptError(f"时间轴格式不对，应形如“{_CUE_EG}”", no)
        start, end = parse_clock(m.group("a"), no), parse_clock(m.group("b"), no)
        texts = block[timing + 1 :]
        if not texts:
            raise TranscriptError("字幕时间轴下面没有文字，请补全或删除这一条", no)
        blocks.append((no, start, end, texts))
    labelled = any(
        (vtt and _VOICE.search(t)) or _SPEAKER.match(t) or RAW_LABEL.match(t)
        for *_, texts in blocks
        for _, t in texts
    )
    for _, start, end, texts in blocks:
        for k, (tno, text) in enumerate(texts):
            voice = None
            if vtt and (v := _VOICE.search(text)):
                name = v.group(1).strip()
                text = text[: v.start()] + text[v.end() :]
                if _SPEAKER.fullmatch(name + "："):
                    text = f"{name}：{text}"
                else:
                    voice = name
            text = re.sub(r"<[^>]*>", "", text).lstrip("-– ").strip()
            if not labelled and k == 0:
                voice = UNLABELLED
            if text:
                b.add(tno, text, start, end, False, voice)
    if not labelled and blocks:
        b.warnings.append(
            "字幕没有说话人标注：每条字幕按映射计入（无法区分师生时，S-T 与互动分析不可靠）"
        )
    return b.result()


def parse_json(data: bytes, b: _Builder | None = None) -> list[Utterance]:
    """Parse a JSON list of ``{"speaker", "text", "start"?, "end"?}`` objects."""
    try:
        items = json.loads(decode_text(data))
    except json.JSONDecodeError as exc:
        msg = f"JSON格式错误（{exc.msg}），请检查括号、引号和逗号"
        raise TranscriptError(msg, exc.lineno) from None
    except RecursionError:
        raise TranscriptError("JSON嵌套层级过深，应为发言对象的列表") from None
    if not isinstance(items, list):
        raise TranscriptError('JSON应为列表，每一项形如 {"speaker": "师", "text": "…"}')
    b = b or _Builder(unit="条")
    b.unit = "条"
    for no, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise TranscriptError('应为对象，形如 {"speaker": "师", "text": "…"}', no, "条")
        speaker, text = item.get("speaker"), item.get("text")
        raw = isinstance(speaker, str) and (
            speaker.strip() in b.map or RAW_LABEL.fullmatch(speaker.strip() + "：")
        )
        if not raw and (
            not isinstance(speaker, str) or not _SPEAKER.fullmatch(speaker.strip() + "：")
        ):
            raise TranscriptError(_unknown_speaker(str(speaker).strip(), colon=""), no, "条")
        if not isinstance(text, str):
            raise TranscriptError("缺少“text”文字内容", no, "条")
        times = [_json_time(item.get(k), k, no) for k in ("start", "end")]
        voice = str(speaker).strip() if raw else None
        b.add(
            no, text if raw else f"{str(speaker).strip()}：{text}", times[0], times[1], False, voice
        )
    return b.result()


def _json_time(value: object, key: str, no: int) -> float | None:
    if value is None or isinstance(value, str):
        return None if value is None else parse_clock(value, no, "条")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 360000:
        raise TranscriptError(f"“{key}”应为0到360000之间的秒数或“00:01:23”", no, "条")
    return float(value)


@dataclass
class ParsedTranscript:
    """A parsed transcript and what the parser wants the reader to know.

    ``warnings``: lines skipped or doubtful (shown with the diagnosis); ``speaker_map``: the
    mapping applied to raw speaker labels, if any.
    """

    utterances: list[Utterance]
    warnings: list[str] = field(default_factory=list)
    speaker_map: dict[str, str] = field(default_factory=dict)


def parse_transcript(
    data: bytes, filename: str = "transcript.txt", speaker_map: Mapping[str, str] | None = None
) -> list[Utterance]:
    """The utterances of :func:`read_transcript` (warnings dropped)."""
    return read_transcript(data, filename, speaker_map).utterances


def read_transcript(
    data: bytes, filename: str = "transcript.txt", speaker_map: Mapping[str, str] | None = None
) -> ParsedTranscript:
    """Parse an uploaded transcript.

    Args:
        data: the file's bytes (at most 2 MB).
        filename: used for its extension (.txt, .docx, .json, .srt, .vtt).
        speaker_map: raw speaker label -> 师 / 生 / 众生 / 生（姓名） / 忽略 (:mod:`speakers`).

    Returns:
        The utterances in order (at most 5,000), with the parser's warnings.

    Raises:
        SpeakerMappingNeeded: raw speaker labels and no mapping for them.
        TranscriptError: for any unusable file, with the line and the fix in Chinese.
    """
    _check_size(data)
    suffix = os.path.splitext((filename or "").strip())[1].lower()
    b = _Builder(speaker_map=speaker_map)
    try:
        if suffix == ".docx":
            numbered = _transcript_docx(bytes(data), b)
            parse_lines([ln for _, ln in numbered], "段", [no for no, _ in numbered], b)
        elif suffix == ".json":
            parse_json(bytes(data), b)
        elif suffix not in TRANSCRIPT_SUFFIXES and suffix != "":
            raise TranscriptError(
                f"不支持“{suffix}”文件：课堂实录请上传 txt、docx、json、srt 或 vtt 文件"
                + ("（PDF 请先另存为 Word 或复制文字粘贴）" if suffix == ".pdf" else "")
            )
        else:
            lines = decode_text(bytes(data)).split("\n")
            head = [s.strip() for s in lines if s.strip()][:2]
            if suffix == ".vtt" or (head and head[0].lstrip("\ufeff").startswith("WEBVTT")):
                parse_cues(lines, vtt=True, b=b)
            elif suffix == ".srt" or (len(head) == 2 and head[0].isdigit() and "-->" in head[1]):
                parse_cues(lines, vtt=False, b=b)
            else:
                parse_lines(lines, b=b)
    except TranscriptError:
        raise
    except (RecursionError, MemoryError, ValueError, TypeError, IndexError) as exc:
        msg = f"文件无法解析（{type(exc).__name__}），请检查格式后重新上传"
        raise TranscriptError(msg) from None
    used = {k: v for k, v in (speaker_map or {}).items() if k in b.map}
    warnings = list(b.warnings)
    if used:
        warnings.insert(0, f"说话人映射：{mapping_summary(used)}")
    return ParsedTranscript(b.items, warnings, used)


def _transcript_docx(data: bytes, b: _Builder) -> list[tuple[int, str]]:
    """The lines of a DOCX transcript: when its turns are in a table, only the tables' rows
    (title, 执教/班级 lines and a reflection around the table are left out, with a warning)."""
    triples = _docx_numbered(data, with_origin=True)
    in_table = [
        (no, ln) for no, ln, table in triples
        if table and (_SPEAKER.match(_STAMP.sub("", ln, count=1)) or RAW_LABEL.match(_STAMP.sub("", ln, count=1)))
    ]  # fmt: skip
    if len(in_table) < 2:
        return [(no, ln) for no, ln, _ in triples]
    outside = {no for no, ln, table in triples if not table and ln.strip()}
    if outside:
        b.warnings.append(
            f"实录表格之外的 {len(outside)} 段文字（标题、执教信息、反思等）未计入分析"
        )
    return [(no, ln) for no, ln, table in triples if table]


def docx_lines(data: bytes, *, mark_headings: bool = False) -> list[str]:
    """Text lines of a DOCX file, paragraphs and table rows in document order (see `_docx_numbered`)."""
    return [
        line for _, line, _ in _docx_numbered(data, mark_headings=mark_headings, with_origin=True)
    ]


@overload
def _docx_numbered(
    data: bytes, *, mark_headings: bool = ..., with_origin: Literal[False] = ...
) -> list[tuple[int, str]]: ...
@overload
def _docx_numbered(
    data: bytes, *, mark_headings: bool = ..., with_origin: Literal[True]
) -> list[tuple[int, str, bool]]: ...
def _docx_numbered(
    data: bytes, *, mark_headings: bool = False, with_origin: bool = False
) -> list[tuple[int, str]] | list[tuple[int, str, bool]]:
    """(number, line) for each line of a DOCX body; headings become ``# …``, bold lines ``**…**``.

    Numbering, used as "第N段" in messages: every body paragraph (empty ones too) and every table
    row counts as one 段, in document order. A paragraph with line breaks or a table row with
    multi-line cells gives several lines sharing its number; a skipped row gives none.
    ``with_origin`` adds whether each line comes from a table. The archive is checked first
    (:func:`yanxiu.practice.docx_guard.docx_problem`): a zip bomb is refused before parsing.
    """
    if (problem := docx_problem(data)) is not None:
        raise TranscriptError(problem)
    try:
        import docx
        from docx.table import Table

        numbered: list[tuple[int, str, bool]] = []
        no = 0
        for block in docx.Document(io.BytesIO(data)).iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    no += 1
                    numbered += [
                        (no, ln, True) for ln in _row_lines(_row_cells(row), mark_headings)
                    ]
                continue
            no += 1
            style = (block.style.name if block.style is not None else "") or ""
            runs = [r for r in block.runs if r.text.strip()]
            lines = [ln.strip() for ln in block.text.split("\n")]
            if mark_headings and style.startswith(("Heading", "标题", "Title")):
                level = int(d[0]) if (d := re.findall(r"\d", style)) else 1  # "Heading 3" → ###
                lines = [f"{'#' * min(6, max(1, level))} {ln}" if ln else ln for ln in lines]
            elif mark_headings and runs and all(r.bold for r in runs):
                lines = [f"**{ln}**" if ln else ln for ln in lines]
            numbered += [(no, ln, False) for ln in lines]
        return numbered if with_origin else [(n, ln) for n, ln, _ in numbered]
    except Exception:  # python-docx raises many types for a damaged file
        raise TranscriptError(
            "无法打开DOCX文件（已损坏或不是Word文档），请另存为.docx后上传"
        ) from None


def _row_cells(row: _Row) -> list[str]:
    """Texts of a table row's non-empty cells, a merged cell once, line breaks kept.

    Reads the row's own ``w:tc`` elements: ``row.cells`` repeats a merged cell once per grid
    column it spans and again in every row it spans down, which would duplicate its text.
    """
    from docx.table import Table, _Cell

    cells = []
    for tc in row._tr.tc_lst:
        if tc.vMerge == "continue":  # lower part of a vertically merged cell; its text is above
            continue
        lines: list[str] = []
        for item in _Cell(tc, row.table).iter_inner_content():
            if isinstance(item, Table):  # a nested table: its rows become lines of this cell
                lines += [ln for r in item.rows for ln in _row_lines(_row_cells(r), False)]
            else:
                lines += item.text.split("\n")
        text = "\n".join(ln.strip() for ln in lines if ln.strip())
        if text:
            cells.append(text)
    return cells


# A transcript table's header row ("时间 | 说话人 | 内容") is skipped.
_HEADER_CELLS = frozenset(
    {"时间", "时间点", "时间戳", "时刻", "开始时间", "说话人", "发言人", "讲话人", "角色", "身份",
     "人物", "内容", "发言内容", "话语", "话语内容", "实录", "课堂实录", "文字", "序号", "编号",
     "环节", "教学环节", "阶段", "教学阶段",
     "time", "speaker", "text", "content", "no.", "#"}
)  # fmt: skip
_SENTENCE_PUNCT = re.compile(r"[。！？；，,.!?;]")


def _row_lines(cells: list[str], mark_headings: bool) -> list[str]:
    """Lines for one table row, shaped so `parse_lines` and `parse_lesson_plan` read them.

    - header row (every cell a header word): no lines;
    - ``[序号] [时间] 说话人 | 内容``: ``[时间] 说话人：内容`` (a known label in the first cell;
      a 环节 column before the speaker's cell is dropped);
    - ``教学目标 | 内容``: the heading on its own line (``**教学目标**`` when marking headings),
      then the content lines, so the section is detected;
    - ``短标签 | 内容``: ``短标签：内容`` (an unknown speaker is then refused by name);
    - otherwise each cell's lines in order. Further lines of the content stay separate lines.
    """
    if not cells or (
        len(cells) >= 2 and all(re.sub(r"\s", "", c).lower() in _HEADER_CELLS for c in cells)
    ):
        return []
    if len(cells) >= 2 and cells[0].isdigit():  # a 序号 column
        cells = cells[1:]
    # a 环节 column before the speaker ("导入 | 00:01 | 师 | 同学们好"): start at the speaker's
    # cell, keep a time cell, and mark the 环节 (a merged cell gives it once, on its first row)
    at = next(
        (i for i, c in enumerate(cells[:4]) if _SPEAKER.fullmatch(c.strip() + "：") or RAW_LABEL.fullmatch(c.strip() + "：")),
        0,
    )  # fmt: skip
    marker: list[str] = []
    if 0 < at < len(cells) - 1:
        before = cells[:at]
        stamps = [c for c in before if (m := _STAMP.match(c)) and m.end() == len(c)]
        names = [
            c.split("\n")[0] for c in before if c not in stamps and len(c.split("\n")[0]) <= 14
        ]
        marker = [f"【{names[0]}】"] if names else []
        cells = stamps[:1] + cells[at:]
    stamp = ""
    if len(cells) >= 2 and (m := _STAMP.match(cells[0])) and m.end() == len(cells[0]):
        stamp, cells = cells[0] + " ", cells[1:]
    head, rest = cells[0], [ln for c in cells[1:] for ln in c.split("\n")]
    label = head.rstrip(":： ")
    short = "\n" not in head and 0 < len(label) <= 20 and not _SENTENCE_PUNCT.search(label)
    if short and _SPEAKER.fullmatch(label + "："):
        lines = [f"{label}：{rest[0] if rest else ''}", *rest[1:]]
    elif short and rest and canonical_section(label):
        lines = [f"**{label}**" if mark_headings else label, *rest]
    elif short and rest:
        lines = [f"{label}{' ' if re.search('[:：]', label) else '：'}{rest[0]}", *rest[1:]]
    else:
        lines = [ln for c in cells for ln in c.split("\n")]
    lines[0] = stamp + lines[0]
    return marker + lines


SECTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "教学目标": ("教学目标", "学习目标", "课时目标", "三维目标", "素养目标", "目标"),
    "学情分析": ("学情分析", "学生分析", "学生情况", "学情"),
    "教学重难点": ("教学重难点", "教学重点", "教学难点", "重点难点", "重难点", "重点", "难点"),
    "教学过程": ("教学过程", "教学环节", "教学流程", "教学步骤", "教学活动", "课堂流程", "过程"),
    "评价设计": ("评价设计", "学习评价", "教学评价", "课堂评价", "评价方案", "评价任务", "评价"),
    "作业设计": ("作业设计", "课后作业", "作业布置", "布置作业", "课后练习", "作业"),
}


def canonical_section(title: str) -> str:
    """The canonical key for a heading ("教学重点" -> "教学重难点"), or "" if none matches."""
    norm = re.sub(r"[\s\d.、．:：*#【】()（）一二三四五六七八九十]", "", title)
    best = ("", 0)
    for key, names in SECTION_SYNONYMS.items():
        for name in names:
            if name in norm and len(name) > best[1] and len(norm) <= len(name) + 8:
                best = (key, len(name))
    return best[0]


# Lesson plans are parsed in plan_parse (re-exported here, where callers have always found them).
from yanxiu.practice.plan_parse import LessonPlan as LessonPlan  # noqa: E402
from yanxiu.practice.plan_parse import guess_kind as guess_kind  # noqa: E402
from yanxiu.practice.plan_parse import parse_either as parse_either  # noqa: E402
from yanxiu.practice.plan_parse import parse_lesson_plan as parse_lesson_plan  # noqa: E402
from yanxiu.practice.plan_parse import plan_sections_found as plan_sections_found  # noqa: E402
from yanxiu.practice.plan_parse import read_either as read_either  # noqa: E402
from yanxiu.practice.plan_parse import transcript_lines_found as transcript_lines_found  # noqa: E402
