"""学时证明: issuing freezes and signs the content; verification finds forged or altered
certificates and says when the ledger has changed since; the PDF carries the code."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.factories import make_teacher
from yanxiu.audit.models import AuditEntry
from yanxiu.cli import app
from yanxiu.config import get_settings
from yanxiu.credits.certificates import (
    issue_certificate,
    normalise,
    periods,
    shown,
    verify_certificate,
)
from yanxiu.credits.claim_models import Certificate
from yanxiu.credits.ledger import credit_hours, void_record
from yanxiu.credits.models import CreditSource
from yanxiu.reports.certificate import certificate_pdf

SECRET = "a-test-secret-that-is-long-enough-for-hmac-0123456789"
TODAY = date(2026, 11, 20)


def _teacher_with_hours(session, policy):  # type: ignore[no-untyped-def]
    teacher = make_teacher(session, cycle_start=date(2024, 9, 1))
    for i, (category, hours) in enumerate([("师德师风", 6), ("学科教学", 12), ("学科教学", 4)]):
        credit_hours(session, policy=policy, teacher_id=teacher.id, source=CreditSource.ONLINE,
                     category=category, hours=hours, earned_on=date(2025, 3, 1 + i),
                     title=f"课程{i}：课堂提问设计", idempotency_key=f"cert-test:{teacher.id}:{i}")  # fmt: skip
    return teacher


def test_issue_and_verify_genuine_then_ledger_change(session, policy) -> None:
    teacher = _teacher_with_hours(session, policy)
    keys = [p.key for p in periods(session, policy, teacher.id, TODAY)]
    assert keys == ["cycle", "year-1", "year-2", "year-3"]
    cert = issue_certificate(session, policy, SECRET, teacher_id=teacher.id, period_key="cycle",
                             issued_by_id=teacher.id, today=TODAY)  # fmt: skip
    assert cert.total_hours == 22
    assert {c["category"]: c["hours"] for c in cert.content["categories"]} == {
        "师德师风": 6,
        "学科教学": 16,
    }
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.issue"))
    ok = verify_certificate(session, policy, SECRET, shown(cert.code).lower())  # any case, dashes
    assert ok.genuine and not ok.ledger_changed and ok.certificate is cert
    # a year certificate lists only that year's hours
    year = issue_certificate(session, policy, SECRET, teacher_id=teacher.id, period_key="year-2",
                             issued_by_id=teacher.id, today=TODAY)  # fmt: skip
    assert year.total_hours == 0 and year.code != cert.code
    # the ledger moves on: still genuine, but said to have changed since
    first = cert.content["records"][0]["id"]
    void_record(session, record_id=first, reason="重复录入", actor_id=None)
    changed = verify_certificate(session, policy, SECRET, cert.code)
    assert changed.genuine and changed.ledger_changed and changed.current_total == 16
    assert any("有变化" in line for line in changed.details)


def test_verify_detects_a_tampered_code_a_forged_row_and_another_secret(session, policy) -> None:
    teacher = _teacher_with_hours(session, policy)
    cert = issue_certificate(session, policy, SECRET, teacher_id=teacher.id, period_key="cycle",
                             issued_by_id=teacher.id, today=TODAY)  # fmt: skip
    code = cert.code
    flipped = code[:-1] + ("A" if code[-1] != "A" else "B")
    bad = verify_certificate(session, policy, SECRET, flipped)
    assert not bad.genuine and "查无此证明" in bad.headline
    assert not verify_certificate(session, policy, SECRET, "1234").genuine  # malformed
    # someone with database access raises the hours: the code no longer matches the content
    content = dict(cert.content) | {"total": 360}
    session.execute(update(Certificate).where(Certificate.id == cert.id).values(content=content))
    session.expire_all()
    altered = verify_certificate(session, policy, SECRET, code)
    assert not altered.genuine and "改动" in altered.headline
    # a server with another secret did not issue it
    assert not verify_certificate(session, policy, SECRET + "x", code).genuine


def test_the_pdf_is_deterministic_and_carries_the_code(session, policy) -> None:
    teacher = _teacher_with_hours(session, policy)
    cert = issue_certificate(session, policy, SECRET, teacher_id=teacher.id, period_key="cycle",
                             issued_by_id=teacher.id, today=TODAY)  # fmt: skip
    pdf = certificate_pdf(dict(cert.content), cert.code)
    assert pdf.startswith(b"%PDF-") and b"STSong-Light" in pdf
    assert shown(cert.code).encode() in pdf  # the code, also in the document's keywords
    assert certificate_pdf(dict(cert.content), cert.code) == pdf
    assert normalise(shown(cert.code)) == cert.code


def test_yanxiu_verify_command(db, policy, tmp_path) -> None:
    with db.factory() as s:
        teacher = _teacher_with_hours(s, policy)
        cert = issue_certificate(s, policy, SECRET, teacher_id=teacher.id, period_key="cycle",
                                 issued_by_id=teacher.id, today=TODAY)  # fmt: skip
        s.commit()
        code = cert.code
    env = {"YANXIU_DATABASE_URL": db.url, "YANXIU_ENV": "test", "YANXIU_SECRET_KEY": SECRET,
           "YANXIU_DATA_DIR": str(tmp_path / "var")}  # fmt: skip
    get_settings.cache_clear()
    try:
        good = CliRunner().invoke(app, ["verify", shown(code)], env=env)
        bad = CliRunner().invoke(app, ["verify", code[:-2] + "22"], env=env)
    finally:
        get_settings.cache_clear()
    assert good.exit_code == 0 and "有效" in good.output, good.output
    assert bad.exit_code == 1 and "无效" in bad.output
