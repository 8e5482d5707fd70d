"""Course media on the server's disk: ``var/media`` (outside the web root, never a CDN).

Files are stored by content hash (``units/<sha256[:2]>/<sha256>.<ext>``), so the same file
loaded twice is stored once and a stored file is never overwritten with something else. The
type is read from the file's first bytes, not trusted from its name or the browser.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from yanxiu.catalog.lessons import MediaStore, StoredMedia
from yanxiu.errors import Invalid, NotFound, TooLarge

MAX_MEDIA_BYTES = 200 * 1024 * 1024
# kind -> accepted (media type, extension)
ACCEPTED = {
    "document": {"application/pdf": ".pdf"},
    "audio": {"audio/wav": ".wav", "audio/mpeg": ".mp3", "audio/ogg": ".ogg"},
    "video": {"video/mp4": ".mp4", "video/webm": ".webm", "video/ogg": ".ogv"},
}


def sniff(head: bytes) -> str:
    """The media type of a file from its first bytes ("" when it is none we serve)."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"OggS"):
        return "video/ogg" if b"theora" in head[:64] else "audio/ogg"
    return ""


def check_media(kind: str, data: bytes) -> tuple[str, str]:
    """(media type, extension) of an upload for a unit of ``kind``, or :class:`Invalid`."""
    if len(data) > MAX_MEDIA_BYTES:
        raise TooLarge(
            f"文件超过 {MAX_MEDIA_BYTES // 1024 // 1024} MB", fields={"file": "文件过大"}
        )
    accepted = ACCEPTED.get(kind, {})
    found = sniff(data[:64])
    if found not in accepted:
        names = "、".join(ext.lstrip(".").upper() for ext in accepted.values()) or "无"
        raise Invalid(
            f"文件类型不符：{kind} 单元只接受 {names} 文件", fields={"file": f"请上传 {names} 文件"}
        )
    return found, accepted[found]


def store_bytes(media_dir: Path, data: bytes, extension: str, media_type: str) -> StoredMedia:
    """Write ``data`` under ``media_dir`` by its hash (atomically) unless already there."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"units/{digest[:2]}/{digest}{extension}"
    target = media_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    return StoredMedia(relative, media_type, digest)


def content_store(media_dir: Path, source_dir: Path) -> MediaStore:
    """A :data:`~yanxiu.catalog.lessons.MediaStore` copying files from content/lessons/media."""

    def store(course_code: str, name: str) -> StoredMedia:
        path = (source_dir / name).resolve()
        if source_dir.resolve() not in path.parents or not path.is_file():
            raise NotFound(f"{course_code}: media file {name} not found in {source_dir}")
        data = path.read_bytes()
        media_type = sniff(data[:64])
        if not media_type:
            raise Invalid(f"{course_code}: {name} is not a PDF, audio or video file we serve")
        extension = next(
            e for kinds in ACCEPTED.values() for t, e in kinds.items() if t == media_type
        )
        return store_bytes(media_dir, data, extension, media_type)

    return store


def media_file(media_dir: Path, relative: str, source_dir: Path | None = None) -> Path:
    """The stored file for ``relative``; one missing from a fresh ``var/`` (a copied
    database) is restored from the content folder when it is a content file."""
    path = (media_dir / relative).resolve()
    if media_dir.resolve() not in path.parents:
        raise NotFound("媒体文件不存在")
    if not path.is_file() and source_dir is not None and source_dir.is_dir():
        digest = Path(relative).stem
        for candidate in source_dir.iterdir():
            if candidate.is_file() and hashlib.sha256(candidate.read_bytes()).hexdigest() == digest:
                store_bytes(
                    media_dir,
                    candidate.read_bytes(),
                    path.suffix,
                    sniff(candidate.read_bytes()[:64]),
                )
                break
    if not path.is_file():
        raise NotFound("媒体文件不存在或已被移除")
    return path
