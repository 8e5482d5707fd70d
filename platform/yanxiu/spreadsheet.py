"""Spreadsheets: CSV the product writes, safe to open in Excel or WPS (OWASP CSV injection), and
the CSV and XLSX tables people upload (read as text, a zip bomb refused before reading).

A cell that begins with ``= + - @``, a tab or a carriage return is read by a spreadsheet as a
formula (``=HYPERLINK(...)`` in a course title or a teacher's name could run when a centre
opens the export); such a cell is written with a leading apostrophe, which spreadsheets show as
text and do not display. Every CSV the product writes goes through :func:`csv_writer`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any

from yanxiu.errors import Invalid

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # so Excel opens UTF-8 Chinese headers correctly


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will read it as text (numbers are left as they are)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: IO[str]) -> SafeWriter:
    return SafeWriter(out)


# -- reading the tables people upload (CSV from Excel/WPS, or XLSX)

XLSX_MAX_UNCOMPRESSED = 100 * 1024 * 1024  # a zip bomb expands far beyond its upload size
XLSX_MAX_PARTS = 500  # a workbook of one sheet has about a dozen parts
XLSX_MAX_RATIO = 200  # compression ratio of any one part (text XML compresses ~10–30×)


@dataclass
class Table:
    """An uploaded table: the header cells and each data row with its row number (header = 1)."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 工号 20190012 as 20190012.0
    return str(value).strip()


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030: what Excel and WPS save as "CSV" in China."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid(
        "文件既不是 UTF-8 也不是 GBK 编码的文本，请在 Excel 中“另存为 CSV UTF-8”后重新上传。"
    )


def check_xlsx(data: bytes) -> None:
    """Refuse a workbook that would expand too far when read (zip bomb), before reading it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise Invalid(
            "文件不是有效的 XLSX 工作簿，请用 Excel 或 WPS 另存为 .xlsx 后重新上传。"
        ) from None
    if len(infos) > XLSX_MAX_PARTS:
        raise Invalid(
            f"XLSX 文件包含 {len(infos)} 个内部部件，超过上限 {XLSX_MAX_PARTS}，疑似异常文件。"
        )
    total = sum(i.file_size for i in infos)
    if total > XLSX_MAX_UNCOMPRESSED:
        raise Invalid(
            f"XLSX 文件解压后约 {total // (1024 * 1024)} MB，超过上限 "
            f"{XLSX_MAX_UNCOMPRESSED // (1024 * 1024)} MB，请拆分后分批导入。"
        )
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > XLSX_MAX_RATIO * max(
            1, info.compress_size
        ):
            raise Invalid("XLSX 文件的压缩比异常（疑似“压缩炸弹”），已拒绝读取。")


def read_table(data: bytes, filename: str) -> Table:
    """The first sheet of an XLSX, or a CSV, as text cells; :class:`Invalid` if unreadable."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xlsx":
        return _read_xlsx(data)
    if suffix == "csv":
        return _read_csv(data)
    raise Invalid("请上传 .xlsx 或 .csv 文件（Excel 的 .xls 旧格式请先另存为 .xlsx）。")


def _read_csv(data: bytes) -> Table:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    rows = [(n, [c.strip() for c in cells]) for n, cells in enumerate(reader, start=1)]
    return _table(rows)


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook  # imported on use: only uploads need it

    check_xlsx(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Invalid(
            f"无法读取 XLSX 文件（{type(exc).__name__}），请用 Excel 或 WPS 重新保存后上传。"
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = [
            (n, [_cell_text(v) for v in values])
            for n, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    return _table(rows)


def _table(rows: list[tuple[int, list[str]]]) -> Table:
    rows = [(n, cells) for n, cells in rows if any(cells)]  # blank lines are not rows
    if not rows:
        raise Invalid("文件中没有数据：第一行应为表头，下面每行一位教师。")
    (_, header), body = rows[0], rows[1:]
    return Table(header=[h.strip() for h in header], rows=body)


def xlsx_bytes(header: list[str], rows: Iterable[Iterable[Any]], *, title: str = "Sheet1") -> bytes:
    """A one-sheet workbook (templates, synthetic rosters); cells are written as text."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append([safe_cell(v) if isinstance(v, str) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
