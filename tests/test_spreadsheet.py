"""Every CSV the product writes neutralises formula-looking cells (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.factories import make_teacher
from yanxiu.credits.export import ledger_csv
from yanxiu.credits.ledger import credit_hours, ledger_entries
from yanxiu.credits.models import CreditSource
from yanxiu.spreadsheet import csv_writer, safe_cell

ATTACKS = ['=HYPERLINK("http://x","点我")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("value", ATTACKS)
def test_formula_looking_text_is_kept_as_text(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["师德专题", "6", 6, -2.5, None, "a=b"])
def test_other_cells_are_untouched(value: object) -> None:
    assert safe_cell(value) == value


def test_the_writer_neutralises_every_cell() -> None:
    buf = io.StringIO()
    csv_writer(buf).writerow(["正常", *ATTACKS])
    row = next(csv.reader(io.StringIO(buf.getvalue())))
    assert row[0] == "正常" and all(cell.startswith("'") for cell in row[1:])


def test_the_ledger_export_neutralises_a_hostile_title(session, policy) -> None:
    teacher = make_teacher(session)
    credit_hours(session, policy=policy, teacher_id=teacher.id, source=CreditSource.ONLINE,
                 category="师德师风", hours=2, earned_on=date(2025, 3, 1),
                 title='=HYPERLINK("http://evil.example","领取证书")', idempotency_key="csv-1")  # fmt: skip
    text = ledger_csv(ledger_entries(session, [teacher.id]), {teacher.id: ("t", "@名字", "学校")})
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][2] == "'@名字"
    assert any(cell.startswith("'=HYPERLINK") for cell in rows[1])
