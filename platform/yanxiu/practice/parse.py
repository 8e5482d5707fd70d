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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from yanxiu.errors import Invalid

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
    """

    index: int
    line_no: int
    speaker_role: str
    speaker_label: str
    text: str
    start_s: float | None = None
    end_s: float | None = None
    is_action: bool = False


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
    rf"^(?P<label>(?!\d){_LABEL_CHAR}{{1,6}}{_NOTE}|[\u4e00-\u9fff](?: [\u4e00-\u9fff]){{1,3}})"
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


class _Builder:
    """Accumulates utterances from (line_no, start, end, body) records."""

    def __init__(self, unit: str = "行") -> None:
        self.items: list[Utterance] = []
        self.unit = unit

    def add(self, no: int, body: str, start: _Sec, end: _Sec, stamped: bool) -> None:
        """Add one line: a new turn if it has a speaker prefix, else a continuation.

        A line that looks like an unknown label (`_LABEL_LIKE`) is refused, never merged.
        """
        body, unit = body.strip(), self.unit
        m = _SPEAKER.match(body)
        if m is None:
            unknown = _LABEL_LIKE.match(body)
            if unknown and not _NOT_A_SPEAKER.fullmatch(unknown.group("label")):
                raise TranscriptError(_unknown_speaker(unknown.group("label")), no, unit)
            if not self.items or stamped:
                raise TranscriptError(f"无法识别说话人，{_SPEAKER_HINT}", no, unit)
            prev = self.items[-1]
            glue = "" if _CJK.match(prev.text[-1:]) or _CJK.match(body[:1]) else " "
            text = prev.text + glue + body if body else prev.text
            new_end = end if end is not None else prev.end_s
            self.items[-1] = replace(prev, text=text, end_s=new_end, is_action=False)
            return
        label = m.group(0).strip().rstrip(":：").strip()
        role = "teacher" if m.group("t") else "students" if m.group("g") else "student"
        text = body[m.end() :].strip()
        if not text:
            raise TranscriptError(f"“{label}：”后面没有内容，请补全发言或删除这一行", no, unit)
        if start is not None:
            last = next((u.start_s for u in reversed(self.items) if u.start_s is not None), None)
            if last is not None and start < last:
                raise TranscriptError("时间戳早于上一句，请按时间顺序排列各行", no, unit)
        if end is not None and start is not None and end < start:
            raise TranscriptError("结束时间早于开始时间，请检查时间轴", no, unit)
        if len(self.items) >= MAX_UTTERANCES:
            raise TranscriptError("发言超过5000条上限，请把实录拆成几个文件上传", no, unit)
        action = bool(_ACTION.match(text))
        self.items.append(Utterance(len(self.items), no, role, label, text, start, end, action))

    def result(self) -> list[Utterance]:
        if not self.items:
            raise TranscriptError(f"没有找到任何发言，{_SPEAKER_HINT}")
        return self.items


def parse_lines(
    lines: list[str], unit: str = "行", numbers: list[int] | None = None
) -> list[Utterance]:
    """Parse text lines (already decoded) with optional leading timestamps.

    ``numbers`` gives each line's number for messages (DOCX: its 段); default 1, 2, 3, ….
    """
    b = _Builder(unit)
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


def parse_cues(lines: list[str], *, vtt: bool) -> list[Utterance]:
    """Parse SRT blocks or WebVTT cues; each text line keeps the cue's start and end."""
    b = _Builder()
    i, n = (1 if vtt else 0), len(lines)
    if vtt and not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise TranscriptError("WebVTT文件第一行应为“WEBVTT”", 1)
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
        for tno, text in texts:
            text = re.sub(r"<v(?:\.[^ >]*)?\s+([^>]+)>", r"\1：", text) if vtt else text
            text = re.sub(r"<[^>]*>", "", text).lstrip("-– ").strip()
            if text:
                b.add(tno, text, start, end, False)
    return b.result()


def parse_json(data: bytes) -> list[Utterance]:
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
    b = _Builder(unit="条")
    for no, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise TranscriptError('应为对象，形如 {"speaker": "师", "text": "…"}', no, "条")
        speaker, text = item.get("speaker"), item.get("text")
        if not isinstance(speaker, str) or not _SPEAKER.fullmatch(speaker.strip() + "："):
            raise TranscriptError(_unknown_speaker(str(speaker).strip(), colon=""), no, "条")
        if not isinstance(text, str):
            raise TranscriptError("缺少“text”文字内容", no, "条")
        times = [_json_time(item.get(k), k, no) for k in ("start", "end")]
        b.add(no, f"{speaker.strip()}：{text}", times[0], times[1], False)
    return b.result()


def _json_time(value: object, key: str, no: int) -> float | None:
    if value is None or isinstance(value, str):
        return None if value is None else parse_clock(value, no, "条")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 360000:
        raise TranscriptError(f"“{key}”应为0到360000之间的秒数或“00:01:23”", no, "条")
    return float(value)


def parse_transcript(data: bytes, filename: str = "transcript.txt") -> list[Utterance]:
    """Parse an uploaded transcript.

    Args:
        data: the file's bytes (at most 2 MB).
        filename: used for its extension (.txt, .docx, .json, .srt, .vtt).

    Returns:
        The utterances in order (at most 5,000).

    Raises:
        TranscriptError: for any unusable file, with the line and the fix in Chinese.
    """
    _check_size(data)
    suffix = os.path.splitext((filename or "").strip())[1].lower()
    try:
        if suffix == ".docx":
            numbered = _docx_numbered(bytes(data))
            return parse_lines([ln for _, ln in numbered], "段", [no for no, _ in numbered])
        if suffix == ".json":
            return parse_json(bytes(data))
        if suffix not in TRANSCRIPT_SUFFIXES and suffix != "":
            raise TranscriptError(f"不支持“{suffix}”文件，请上传txt、docx、json、srt或vtt文件")
        lines = decode_text(bytes(data)).split("\n")
        head = [s.strip() for s in lines if s.strip()][:2]
        if suffix == ".vtt" or (head and head[0].lstrip("\ufeff").startswith("WEBVTT")):
            return parse_cues(lines, vtt=True)
        if suffix == ".srt" or (len(head) == 2 and head[0].isdigit() and "-->" in head[1]):
            return parse_cues(lines, vtt=False)
        return parse_lines(lines)
    except TranscriptError:
        raise
    except (RecursionError, MemoryError, ValueError, TypeError, IndexError) as exc:
        msg = f"文件无法解析（{type(exc).__name__}），请检查格式后重新上传"
        raise TranscriptError(msg) from None


def docx_lines(data: bytes, *, mark_headings: bool = False) -> list[str]:
    """Text lines of a DOCX file, paragraphs and table rows in document order (see `_docx_numbered`)."""
    return [line for _, line in _docx_numbered(data, mark_headings=mark_headings)]


def _docx_numbered(data: bytes, *, mark_headings: bool = False) -> list[tuple[int, str]]:
    """(number, line) for each line of a DOCX body; headings become ``# …``, bold lines ``**…**``.

    Numbering, used as "第N段" in messages: every body paragraph (empty ones too) and every table
    row counts as one 段, in document order. A paragraph with line breaks or a table row with
    multi-line cells gives several lines sharing its number; a skipped row gives none.
    """
    try:
        import docx
        from docx.table import Table

        numbered: list[tuple[int, str]] = []
        no = 0
        for block in docx.Document(io.BytesIO(data)).iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    no += 1
                    numbered += [(no, ln) for ln in _row_lines(_row_cells(row), mark_headings)]
                continue
            no += 1
            style = (block.style.name if block.style is not None else "") or ""
            runs = [r for r in block.runs if r.text.strip()]
            lines = [ln.strip() for ln in block.text.split("\n")]
            if mark_headings and style.startswith(("Heading", "标题", "Title")):
                lines = [f"# {ln}" if ln else ln for ln in lines]
            elif mark_headings and runs and all(r.bold for r in runs):
                lines = [f"**{ln}**" if ln else ln for ln in lines]
            numbered += [(no, ln) for ln in lines]
        return numbered
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
    # a 环节 column before the speaker ("导入 | 师 | 同学们好"): start at the speaker's cell
    at = next((i for i, c in enumerate(cells[:3]) if _SPEAKER.fullmatch(c.strip() + "：")), 0)
    if 0 < at < len(cells) - 1 and not any(_STAMP.match(c) for c in cells[:at]):
        cells = cells[at:]
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
    return lines


SECTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "教学目标": ("教学目标", "学习目标", "课时目标", "三维目标", "素养目标", "目标"),
    "学情分析": ("学情分析", "学生分析", "学生情况", "学情"),
    "教学重难点": ("教学重难点", "教学重点", "教学难点", "重点难点", "重难点", "重点", "难点"),
    "教学过程": ("教学过程", "教学环节", "教学流程", "教学步骤", "教学活动", "课堂流程", "过程"),
    "评价设计": ("评价设计", "学习评价", "教学评价", "课堂评价", "评价方案", "评价任务", "评价"),
    "作业设计": ("作业设计", "课后作业", "作业布置", "布置作业", "课后练习", "作业"),
}
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

    def line_of(self, key: str, quote: str) -> int | None:
        """The number of the section's line that contains ``quote`` (its first 12 characters
        suffice: quotes are cut), else the section heading's line."""
        probe = quote.strip()[:12]
        found = next((no for no, text in self.lines.get(key, []) if probe and probe in text), None)
        return found or next((no for no, _, k in self.headings if k == key), None)


def canonical_section(title: str) -> str:
    """The canonical key for a heading ("教学重点" -> "教学重难点"), or "" if none matches."""
    norm = re.sub(r"[\s\d.、．:：*#【】()（）一二三四五六七八九十]", "", title)
    best = ("", 0)
    for key, names in SECTION_SYNONYMS.items():
        for name in names:
            if name in norm and len(name) > best[1] and len(norm) <= len(name) + 8:
                best = (key, len(name))
    return best[0]


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
        if head is None:
            buf.append(line)
            numbered_buf.append((no, line))
            continue
        flush()
        plan.headings.append((no, head[0], head[1]))
        current, buf = (head[0], head[1]), [head[2]] if head[2] else []
        numbered_buf = [(no, head[2])] if head[2] else []
    flush()
    plan.missing = [k for k in SECTION_SYNONYMS if k not in plan.sections]
    return plan


def parse_either(data: bytes, filename: str) -> tuple[str, list[Utterance] | LessonPlan]:
    """A file whose kind the user did not say, parsed: ("transcript", turns) or
    ("lesson_plan", plan).

    Subtitles and JSON are transcripts and Markdown is a lesson plan. A text or DOCX file is a
    transcript if it parses as one; if it does not, but it has at least two lesson-plan sections
    (教学目标, 教学过程 …), it is a lesson plan; otherwise the transcript's error is raised, since
    it names the line to fix.
    """
    suffix = os.path.splitext((filename or "").strip())[1].lower()
    if suffix in (".md", ".markdown"):
        return "lesson_plan", parse_lesson_plan(data, filename)
    try:
        return "transcript", parse_transcript(data, filename)
    except TranscriptError as transcript_error:
        if suffix in (".srt", ".vtt", ".json"):
            raise
        try:
            plan = parse_lesson_plan(data, filename)
        except TranscriptError:
            raise transcript_error from None
        if len({key for _, _, key in plan.headings if key}) >= 2:
            return "lesson_plan", plan
        raise


def guess_kind(data: bytes, filename: str) -> str:
    """ "transcript" or "lesson_plan" for a file whose kind the user did not say (the rules of
    :func:`parse_either`)."""
    return parse_either(data, filename)[0]
