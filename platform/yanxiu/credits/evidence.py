"""Evidence files of hour claims: checked by their bytes, stored outside the web root.

A file is accepted only if its first bytes say it is a PDF, a JPEG or a PNG (its name and the
browser's content type are not trusted), and only up to :data:`MAX_EVIDENCE_BYTES`. It is kept
under ``<data_dir>/evidence`` with a random name, readable by the server's user only, and is
served by the claim routes to the people who may read the claim, never by the static server.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from yanxiu.errors import Invalid, NotFound, TooLarge

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024  # each file
MAX_EVIDENCE_FILES = 5  # per claim, over all its versions
# what the bytes start with → (media type, stored suffix, what people call it)
SIGNATURES: tuple[tuple[bytes, str, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf", "PDF"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg", "JPEG 照片"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png", "PNG 图片"),
)
ACCEPTED = "PDF、JPEG 或 PNG"


@dataclass(frozen=True)
class Upload:
    """One file as the browser sent it (``data`` read up to one byte past the limit)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    original_name: str
    stored_name: str
    media_type: str
    size: int
    sha256: str


def media_type_of(data: bytes) -> str | None:
    """The media type the bytes declare themselves to be (None if not one we accept)."""
    for magic, media_type, _, _ in SIGNATURES:
        if data.startswith(magic):
            return media_type
    return None


def check_upload(upload: Upload) -> str:
    """The upload's media type, or Invalid/TooLarge naming the file and what is wrong."""
    name = upload.filename or "未命名文件"
    if not upload.data:
        raise Invalid(f"文件“{name}”是空的。", fields={"evidence": f"文件“{name}”是空的"})
    if len(upload.data) > MAX_EVIDENCE_BYTES:
        message = f"文件“{name}”超过 {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB，请压缩后再上传。"
        raise TooLarge(message, fields={"evidence": message})
    media_type = media_type_of(upload.data)
    if media_type is None:
        message = f"文件“{name}”不是 {ACCEPTED} 文件（按文件内容判断，与扩展名无关）。"
        raise Invalid(message, fields={"evidence": message})
    return media_type


def evidence_dir(data_dir: Path) -> Path:
    return data_dir / "evidence"


def store(directory: Path, upload: Upload) -> StoredFile:
    """Check and write one file under ``directory`` with a random name (owner-only access)."""
    media_type = check_upload(upload)
    suffix = next(s for _, t, s, _ in SIGNATURES if t == media_type)
    directory.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16) + suffix
    fd = os.open(directory / stored_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(upload.data)
    original = Path(upload.filename.replace("\\", "/")).name[:200] or f"证明材料{suffix}"
    return StoredFile(
        original_name=original, stored_name=stored_name, media_type=media_type,
        size=len(upload.data), sha256=hashlib.sha256(upload.data).hexdigest(),
    )  # fmt: skip


def stored_path(directory: Path, stored_name: str) -> Path:
    """The file of a stored name (NotFound if it is gone or the name is not one of ours)."""
    if not stored_name or "/" in stored_name or "\\" in stored_name or stored_name.startswith("."):
        raise NotFound("没有这个证明材料。")
    path = directory / stored_name
    if not path.is_file():
        raise NotFound("证明材料文件已不在服务器上，请联系管理员。")
    return path


def discard(directory: Path, stored: list[StoredFile]) -> None:
    """Remove files written for a claim whose transaction did not go through."""
    for item in stored:
        (directory / item.stored_name).unlink(missing_ok=True)
