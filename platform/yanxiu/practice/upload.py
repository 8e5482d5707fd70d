"""A teacher's upload: a file or pasted text, checked, parsed, scored and stored, or refused.

:func:`read_upload` checks what arrived (kind, file type, size, emptiness) before anything is
parsed; :func:`submit_upload` fills in the teacher's stage, subject and a title, and stores the
record with its AI draft (:func:`yanxiu.practice.service.submit_record`); :func:`upload_record`
does both, for the web page and the API. Every refusal is an
:class:`UploadRefused` (422; :class:`UploadTooLarge`, 413) whose message people read and whose
``line`` (also ``fields["line"]``) is the line to fix when the parser knows it; nothing is
stored then.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy.orm import Session

from yanxiu.accounts.models import TeacherProfile
from yanxiu.errors import Invalid, TooLarge
from yanxiu.practice.diagnosis import ResourceFinder
from yanxiu.practice.models import Diagnosis, PracticeRecord, RecordKind
from yanxiu.practice.parse import MAX_BYTES, SpeakerMappingNeeded, TranscriptError
from yanxiu.practice.service import KIND_LABELS, status_label, submit_record
from yanxiu.practice.speakers import TARGETS, RawSpeaker, target_role
from yanxiu.safe_text import MESSAGE, has_forbidden

UPLOAD_SUFFIXES: dict[str, tuple[str, ...]] = {
    "transcript": (".txt", ".docx", ".json", ".srt", ".vtt"),
    "lesson_plan": (".txt", ".md", ".docx"),
}
# A text field may carry a whole pasted transcript (the parser's 2 MB); the request body as a
# whole may add form overhead on top of that, and no more. Bodies up to BODY_LIMIT are parsed,
# so that anything over the parser's 2 MB gets a clear Chinese message on the form (413, title
# kept); beyond BODY_LIMIT the web layer cuts the request off with a bare 413.
BODY_LIMIT = 8 * MAX_BYTES
TEXT_MAX_CHARS = 300_000  # a pasted text field (~0.9 MB of UTF-8 Chinese); a lesson is ~20,000
MAX_MB = MAX_BYTES // (1024 * 1024)
TOO_LARGE = f"文件超过 {MAX_MB} MB 上限，请拆分后分别上传（例如按上下半节课）。"


class UploadRefused(Invalid):
    """An upload that cannot be used: the message people read, and the line if known."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message, fields={} if line is None else {"line": str(line)})
        self.line = line


class UploadTooLarge(UploadRefused, TooLarge):
    pass


@dataclass(frozen=True)
class SpeakerRow:
    """A speaker to map, as the upload page shows it."""

    label: str
    turns: int
    share: float  # of the raw speakers' characters
    first_lines: list[tuple[int, str]]
    default: str  # 师 / 生 / 众生 / 忽略


class SpeakersToMap(UploadRefused):
    """Not a refusal of the file: its speakers need the teacher's mapping first. Carries the
    upload (sent back with the mapping form) and each speaker with its default."""

    def __init__(self, err: SpeakerMappingNeeded, upload: Upload) -> None:
        super().__init__(err.message)
        self.upload = upload
        self.speakers = speaker_rows(err.speakers, err.default)


def speaker_rows(speakers: Sequence[RawSpeaker], default: Mapping[str, str]) -> list[SpeakerRow]:
    return [
        SpeakerRow(sp.label, sp.turns, sp.share, list(sp.first_lines), default.get(sp.label, "生"))
        for sp in speakers
    ]


def speaker_map_from_form(
    labels: Sequence[str], roles: Sequence[str], names: Sequence[str]
) -> dict[str, str]:
    """The mapping the upload page sent: for each speaker its role (师/生/众生/忽略) and, for
    a student, an optional name (then 生（姓名））. UploadRefused if a role is not offered."""
    out: dict[str, str] = {}
    for i, label in enumerate(labels):
        role = roles[i].strip() if i < len(roles) else ""
        name = (names[i].strip() if i < len(names) else "")[:8]
        if role not in TARGETS:
            raise UploadRefused(f"请为说话人“{label[:20]}”选择：{'、'.join(TARGETS)}")
        out[label[:40]] = f"生（{name}）" if role == "生" and name else role
        try:
            target_role(out[label[:40]])
        except Invalid as err:
            raise UploadRefused(err.message) from None
    return out


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    file_field: (
        bool  # a file field was sent (then the file name, or 粘贴文本, is the default title)
    )


def read_upload(
    kind: str,
    *,
    filename: str | None,
    stream: BinaryIO | None,
    text: str,
    pending: str = "",
    pending_name: str = "",
) -> Upload:
    """The uploaded file, else the pasted text; UploadRefused if neither can be used.

    ``pending`` (base64) and ``pending_name``: a file sent back by the speaker-mapping step.
    """
    if kind not in UPLOAD_SUFFIXES:
        raise UploadRefused("请选择类型：课堂实录或教学设计")
    if pending:
        try:
            data = base64.b64decode(pending, validate=True)
        except (binascii.Error, ValueError):
            raise UploadRefused("待确认的文件已损坏，请重新选择文件上传") from None
        if len(data) > MAX_BYTES:
            raise UploadTooLarge(TOO_LARGE)
        name = pending_name.replace("\\", "/").rsplit("/", 1)[-1][:255] or "粘贴文本.txt"
        return Upload(data, name, file_field=True)
    if stream is not None and filename:
        name = filename.replace("\\", "/").rsplit("/", 1)[-1][:255]
        suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        if suffix not in UPLOAD_SUFFIXES[kind]:
            allowed = "、".join(UPLOAD_SUFFIXES[kind])
            label = KIND_LABELS[RecordKind(kind)]
            raise UploadRefused(f"不支持“{suffix or name}”文件：{label}请上传 {allowed} 文件")
        data = stream.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise UploadTooLarge(TOO_LARGE)
        if not data.strip():
            raise UploadRefused("上传的文件是空的，请检查后重新选择")
        return Upload(data, name, file_field=True)
    if text.strip():
        data = text.encode("utf-8")
        if len(data) > MAX_BYTES:
            raise UploadTooLarge(TOO_LARGE)
        name = "粘贴文本.md" if kind == "lesson_plan" else "粘贴文本.txt"
        return Upload(data, name, file_field=stream is not None)
    raise UploadRefused("请选择要上传的文件，或把内容粘贴到文本框中")


def submit_upload(
    session: Session,
    *,
    teacher_id: int,
    kind: str,
    title: str,
    upload: Upload,
    today: str,
    find_resources: ResourceFinder | None,
    calibration: Mapping[str, Mapping[int, int]] | None,
    speaker_map: Mapping[str, str] | None = None,
) -> tuple[PracticeRecord, Diagnosis]:
    """Parse, score and store an upload as the teacher's; UploadRefused (nothing stored) if the
    parser refuses it. ``today`` (YYYY-MM-DD, local time) dates a title nobody gave."""
    profile = session.get(TeacherProfile, teacher_id)
    stage = profile.stage if profile else ""
    subject = profile.subjects[0] if profile and profile.subjects else ""
    title = title.strip() or (upload.filename.rsplit(".", 1)[0] if upload.file_field else "")
    title = title or f"{KIND_LABELS[RecordKind(kind)]}（{today}）"
    if has_forbidden(title):  # typed, or the file's name ("作业\u202efdp.exe")
        raise UploadRefused(f"标题或文件名{MESSAGE}。")
    try:
        return submit_record(
            session, teacher_id=teacher_id, kind=RecordKind(kind), data=upload.data,
            filename=upload.filename, title=title, stage=stage, subject=subject,
            find_resources=find_resources,
            calibration={d: dict(m) for d, m in (calibration or {}).items()},
            speaker_map=speaker_map,
        )  # fmt: skip
    except SpeakerMappingNeeded as err:
        session.rollback()
        raise SpeakersToMap(err, upload) from None
    except TranscriptError as err:
        session.rollback()  # nothing half-parsed is kept
        raise UploadRefused(err.message, line=err.line_no) from None


@dataclass(frozen=True)
class Submitted:
    """A stored record and its draft's status (pending review)."""

    id: int
    diagnosis_id: int
    status: str
    status_label: str
    kind: str
    title: str


def upload_record(
    session: Session,
    *,
    teacher_id: int,
    kind: str,
    title: str,
    filename: str | None,
    stream: BinaryIO | None,
    text: str,
    today: str,
    find_resources: ResourceFinder | None,
    calibration: Mapping[str, Mapping[int, int]] | None,
    pending: str = "",
    pending_name: str = "",
    speaker_map: Mapping[str, str] | None = None,
) -> Submitted:
    """:func:`read_upload`, then :func:`submit_upload`; UploadRefused if either refuses
    (:class:`SpeakersToMap` when the speakers need mapping first)."""
    upload = read_upload(
        kind, filename=filename, stream=stream, text=text, pending=pending,
        pending_name=pending_name,
    )  # fmt: skip
    record, diagnosis = submit_upload(
        session, teacher_id=teacher_id, kind=kind, title=title, upload=upload, today=today,
        find_resources=find_resources, calibration=calibration, speaker_map=speaker_map,
    )  # fmt: skip
    return Submitted(
        id=record.id, diagnosis_id=diagnosis.id, status=diagnosis.status.value,
        status_label=status_label(diagnosis.status), kind=record.kind.value, title=record.title,
    )  # fmt: skip


@dataclass(frozen=True)
class UploadForm:
    """The upload form as the page shows it: empty, or refilled after a refusal."""

    kind: str = "transcript"
    title: str = ""
    text: str = ""
    error: str = ""
    line: int | None = None
    speakers: list[SpeakerRow] = field(default_factory=list)  # the mapping step, if any
    pending: str = ""  # the file (base64) the mapping form sends back
    pending_name: str = ""
    notice: str = ""

    @classmethod
    def refused(cls, kind: str, title: str, text: str, err: UploadRefused) -> UploadForm:
        """What was sent, with why it was refused (a huge pasted text is not sent back); for
        :class:`SpeakersToMap`, the mapping step with the file to send back."""
        kind = kind if kind in UPLOAD_SUFFIXES else "transcript"
        if isinstance(err, SpeakersToMap):
            return cls(kind=kind, title=title, speakers=err.speakers, notice=err.message,
                       pending=base64.b64encode(err.upload.data).decode("ascii"),
                       pending_name=err.upload.filename)  # fmt: skip
        return cls(kind=kind, title=title,
                   text=text if len(text) <= 200_000 else "", error=err.message, line=err.line)  # fmt: skip


def mapping_preview(roles: Sequence[str], shares: Sequence[str]) -> list[tuple[str, float]]:
    """Shares of the raw speakers' talk by role (the upload page's live preview, htmx):
    ``roles`` and ``shares`` as the mapping form sends them, one per speaker."""
    out = {"教师": 0.0, "学生": 0.0, "忽略": 0.0}
    for role, share in zip(roles, shares, strict=False):
        try:
            value = min(1.0, max(0.0, float(share)))
        except ValueError:
            continue
        key = {"师": "教师", "忽略": "忽略"}.get(role.strip(), "学生")
        out[key] += value
    return [(k, round(v, 3)) for k, v in out.items()]
