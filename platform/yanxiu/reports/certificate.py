"""The 学时证明 PDF (ReportLab), drawn from a certificate's frozen content.

Chinese text uses ReportLab's built-in CID font STSong-Light (Adobe's standard Simplified
Chinese font, referenced rather than embedded), so the project ships and downloads no font
file; every PDF reader with the Adobe Asian font support (or a CJK fallback) shows it. The PDF
is drawn with ReportLab's invariant mode, so the same certificate always gives the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from yanxiu.accounts.scope import Scope
from yanxiu.credits.certificates import (
    Period,
    load_certificate,
    own_certificates,
    periods,
    shown,
)
from yanxiu.credits.claim_models import Certificate
from yanxiu.credits.policy import CreditPolicy

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=20, leading=28, alignment=1)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=16)
SMALL = ParagraphStyle("small", fontName=FONT, fontSize=9, leading=13, textColor=colors.grey)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=12)


def _table(rows: list[list[Any]], widths: list[float], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 9),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f5")),
        ("ALIGN", (-1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))  # fmt: skip
    return table


def certificate_pdf(content: dict[str, Any], code: str, *, centre: str = "教师发展中心") -> bytes:
    """The certificate as PDF bytes."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm, title="学时证明",
                            author="研修 Yanxiu", keywords=shown(code), invariant=1)  # fmt: skip
    period = content.get("period", {})
    story: list[Any] = [
        Paragraph("教师继续教育学时证明", TITLE),
        Spacer(1, 6 * mm),
        Paragraph(
            f"兹证明 <b>{content.get('teacher', '')}</b>"
            + (f"（{content['school']}）" if content.get("school") else "")
            + f"在{period.get('label', '')}内，经本平台学时台账认定的继续教育学时共计 "
            f"<b>{content.get('total', 0):g}</b> 学时，明细如下。", BODY),
        Paragraph(f"认定依据：{content.get('policy', '')}", SMALL),
        Spacer(1, 4 * mm),
        Paragraph("一、按培训类别汇总", BODY),
        Spacer(1, 2 * mm),
    ]  # fmt: skip
    summary = [["培训类别", "学时"]] + [
        [c["category"], f"{c['hours']:g}"] for c in content.get("categories", [])
    ] + [["合计", f"{content.get('total', 0):g}"]]  # fmt: skip
    story += [_table(summary, [110 * mm, 30 * mm]), Spacer(1, 5 * mm),
              Paragraph("二、认定记录明细", BODY), Spacer(1, 2 * mm)]  # fmt: skip
    records = content.get("records", [])
    if records:
        detail = [["日期", "培训内容", "类别", "来源", "学时"]] + [
            [r["date"], Paragraph(r["title"], CELL), r["category"], r["source"], f"{r['hours']:g}"]
            for r in records
        ]  # fmt: skip
        story.append(_table(detail, [22 * mm, 70 * mm, 28 * mm, 30 * mm, 14 * mm]))
    else:
        story.append(Paragraph("该期间没有已认定的学时记录。", BODY))
    story += [
        Spacer(1, 8 * mm),
        Paragraph(f"验证码：<b>{shown(code)}</b>", BODY),
        Paragraph(
            f"签发时间：{content.get('issued_at', '')}（UTC）　编号：{content.get('serial', '')}。"
            f"核验方式：由{centre}管理员在平台“证明核验”页输入验证码，或在服务器上运行 "
            f"yanxiu verify {shown(code)}。验证码由平台密钥签名，内容被改动的证明无法通过核验。", SMALL),
    ]  # fmt: skip
    doc.build(story)
    return out.getvalue()


@dataclass(frozen=True)
class Download:
    filename: str
    body: bytes


def certificate_download(session: Session, scope: Scope, certificate_id: int) -> Download:
    """The PDF of a certificate the user may read (its teacher, or staff in scope)."""
    cert = load_certificate(session, certificate_id)
    scope.require(session, cert, "无权访问：只能下载本人或本辖区教师的学时证明。")
    body = certificate_pdf(dict(cert.content), cert.code)
    day = cert.issued_at.strftime("%Y%m%d")
    return Download(f"xueshi-zhengming-{cert.period_start.year}-{day}-{cert.id}.pdf", body)


@dataclass(frozen=True)
class CertificatesPage:
    periods: list[Period]
    issued: list[Certificate]


def certificates_page(
    session: Session, policy: CreditPolicy, teacher_id: int, today: date
) -> CertificatesPage:
    return CertificatesPage(periods(session, policy, teacher_id, today),
                            own_certificates(session, teacher_id))  # fmt: skip
