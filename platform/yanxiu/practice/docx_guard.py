"""Checks a DOCX archive before python-docx opens it.

A DOCX is a zip: 300 KB can hold a 300 MB ``document.xml`` (a zip bomb) or 200,000 empty
paragraphs, and python-docx would build the whole tree in memory. The declared sizes in the
zip directory are checked first (Python's zipfile never returns more than the declared size of
a member, so a lying header only truncates and the CRC check then fails), then the paragraphs
of ``word/document.xml`` are counted as bytes, without parsing. Each refusal says why.
"""

from __future__ import annotations

import io
import zipfile

MAX_PARTS = 400  # a lesson's DOCX has 10–40 parts
MAX_UNCOMPRESSED = 40 * 1024 * 1024  # all parts together
MAX_DOCUMENT_XML = 16 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed for a part over 10 MB; text XML compresses 5–20×
MAX_PARAGRAPHS = 20_000  # a 45-minute lesson is 600–1,500 paragraphs or table rows


def docx_problem(data: bytes) -> str | None:
    """Why this DOCX must not be parsed (Chinese, for the person), or None if it may be."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return "无法打开DOCX文件（已损坏或不是Word文档），请另存为.docx后上传"
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_PARTS:
            return f"DOCX文件包含 {len(infos)} 个部件，超出正常文档范围，请另存为新的.docx后上传"
        total = sum(i.file_size for i in infos)
        if total > MAX_UNCOMPRESSED:
            return f"DOCX文件解压后约 {total / 1048576:.0f} MB，超过上限，请删除图片等内容或另存为纯文本"
        for info in infos:
            if info.file_size > 10 * 1024 * 1024 and info.file_size > MAX_RATIO * max(
                1, info.compress_size
            ):
                return "DOCX文件的压缩比异常（疑似压缩炸弹），已拒绝解析，请另存为新的.docx后上传"
        try:
            doc = archive.getinfo("word/document.xml")
        except KeyError:
            return "DOCX文件缺少正文（word/document.xml），请用Word另存为.docx后上传"
        if doc.file_size > MAX_DOCUMENT_XML:
            return "DOCX正文过大，请拆分后上传"
        try:
            xml = archive.read(doc)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            return "无法打开DOCX文件（已损坏或不是Word文档），请另存为.docx后上传"
    paragraphs = xml.count(b"<w:p>") + xml.count(b"<w:p ") + xml.count(b"<w:tr>")
    paragraphs += xml.count(b"<w:tr ")
    if paragraphs > MAX_PARAGRAPHS:
        return f"DOCX文件有 {paragraphs} 个段落或表格行，超过 {MAX_PARAGRAPHS} 的上限，请拆分后上传"
    return None
