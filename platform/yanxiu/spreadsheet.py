"""CSV the product writes, safe to open in Excel or WPS (OWASP CSV injection).

A cell that begins with ``= + - @``, a tab or a carriage return is read by a spreadsheet as a
formula (``=HYPERLINK(...)`` in a course title or a teacher's name could run when a centre
opens the export); such a cell is written with a leading apostrophe, which spreadsheets show as
text and do not display. Every CSV the product writes goes through :func:`csv_writer`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

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
