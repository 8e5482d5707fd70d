"""学时证明: a certificate of the hours credited to a teacher in a cycle or a cycle year, with a
verification code anyone holding it can have checked.

Issuing freezes the certified content (teacher, period, every counted record, totals by
category) as canonical JSON in a ``certificates`` row, with its SHA-256, and derives the code
from an HMAC of that JSON with the server's secret: a code cannot be made up without the secret,
a changed character finds no certificate, and a row edited in the database no longer matches
its code. Verifying also rebuilds the content from today's ledger and says whether the ledger
has changed since the certificate was issued (a record voided, added or re-reviewed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import TeacherProfile, User
from yanxiu.audit.service import record_audit
from yanxiu.credits.claim_models import Certificate
from yanxiu.credits.compliance import add_years
from yanxiu.credits.ledger import ledger_entries
from yanxiu.credits.policy import SOURCE_DESCRIPTIONS, CreditPolicy
from yanxiu.db.base import utcnow
from yanxiu.errors import Invalid, NotAllowed, NotFound

CODE_LENGTH = 20  # base32 characters (100 bits of the HMAC), shown in groups of four


@dataclass(frozen=True)
class Period:
    key: str  # "cycle" or "year-N"
    kind: str  # cycle | year
    start: date
    end: date  # exclusive
    label: str

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def periods(session: Session, policy: CreditPolicy, teacher_id: int, today: date) -> list[Period]:
    """The teacher's current cycle, then each of its years that has begun."""
    profile = session.get(TeacherProfile, teacher_id)
    if profile is None:
        raise NotAllowed("只有教师有学时证明。")
    start = profile.cycle_start
    end = add_years(start, policy.cycle_years)
    found = [Period("cycle", "cycle", start, end,
                    f"{start.year}—{end.year} 培训周期（{start} 至 {end - timedelta(days=1)}）")]  # fmt: skip
    for i in range(policy.cycle_years):
        y0, y1 = add_years(start, i), add_years(start, i + 1)
        if y0 > today:
            break
        found.append(Period(f"year-{i + 1}", "year", y0, y1,
                            f"周期第 {i + 1} 学年（{y0} 至 {y1 - timedelta(days=1)}）"))  # fmt: skip
    return found


def period_of(
    session: Session, policy: CreditPolicy, teacher_id: int, key: str, today: date
) -> Period:
    for p in periods(session, policy, teacher_id, today):
        if p.key == key:
            return p
    raise Invalid("请选择证明的周期或学年。", fields={"period": "请选择周期或学年"})


def certified_content(
    session: Session, policy: CreditPolicy, teacher_id: int, period: Period
) -> dict[str, Any]:
    """What a certificate of ``period`` says today: every counted record and the totals."""
    teacher = session.get(User, teacher_id)
    if teacher is None:
        raise NotFound("没有这位教师。")
    records = [
        e for e in ledger_entries(session, [teacher_id])
        if e.counts and period.start <= e.earned_on < period.end
    ]  # fmt: skip
    by_category: dict[str, float] = {}
    for e in records:
        by_category[e.category] = round(by_category.get(e.category, 0.0) + e.hours, 2)
    return {
        "teacher": teacher.display_name,
        "teacher_id": teacher.id,
        "school": teacher.school.name if teacher.school else "",
        "policy": policy.name,
        "period": {"kind": period.kind, "key": period.key, "label": period.label,
                   "start": period.start.isoformat(), "end": period.last_day.isoformat()},
        "records": [
            {"id": e.id, "date": e.earned_on.isoformat(), "title": e.title, "category": e.category,
             "source": SOURCE_DESCRIPTIONS.get(e.source, str(e.source)), "hours": e.hours}
            for e in records
        ],
        "categories": [{"category": c, "hours": h} for c, h in sorted(by_category.items())],
        "total": round(sum(e.hours for e in records), 2),
    }  # fmt: skip


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, content: dict[str, Any]) -> str:
    digest = hmac.new(secret.encode(), b"yanxiu-certificate\n" + canonical(content), hashlib.sha256)
    return base64.b32encode(digest.digest()).decode()[:CODE_LENGTH]


def shown(code: str) -> str:
    """The code as printed: groups of four (ABCD-EFGH-…)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(code: str) -> str:
    return re.sub(r"[^A-Z2-7]", "", code.upper())


def issue_certificate(
    session: Session, policy: CreditPolicy, secret: str, *, teacher_id: int, period_key: str,
    issued_by_id: int, today: date,
) -> Certificate:  # fmt: skip
    """Freeze today's certified content for the period, sign it, record and audit the issue."""
    period = period_of(session, policy, teacher_id, period_key, today)
    now = utcnow()
    content = certified_content(session, policy, teacher_id, period)
    content |= {"serial": secrets.token_hex(8), "issued_at": now.isoformat(timespec="seconds")}
    cert = Certificate(
        code=sign(secret, content), teacher_id=teacher_id, period_kind=period.kind,
        period_start=period.start, period_end=period.end, content=content,
        content_hash=hashlib.sha256(canonical(content)).hexdigest(), total_hours=content["total"],
        issued_by_id=issued_by_id, issued_at=now,
    )  # fmt: skip
    session.add(cert)
    session.flush()
    record_audit(session, actor_id=issued_by_id, action="certificate.issue", entity="certificate",
                 entity_id=cert.id, detail={"teacher_id": teacher_id, "period": period.key,
                                            "total": content["total"], "code": cert.code,
                                            "records": len(content["records"])})  # fmt: skip
    return cert


def own_certificates(session: Session, teacher_id: int) -> list[Certificate]:
    query = select(Certificate).where(Certificate.teacher_id == teacher_id)
    return list(session.scalars(query.order_by(Certificate.id.desc())))


@dataclass(frozen=True)
class Verification:
    code: str  # as asked, normalised
    genuine: bool  # issued here and unchanged since
    headline: str
    details: list[str]
    certificate: Certificate | None = None
    ledger_changed: bool = False
    current_total: float | None = None


def verify_certificate(
    session: Session, policy: CreditPolicy, secret: str, code: str
) -> Verification:
    """Is ``code`` a certificate this server issued, unchanged; and has the ledger moved since?"""
    wanted = normalise(code)
    if len(wanted) != CODE_LENGTH:
        return Verification(wanted, False, "验证码格式不对",
                            [f"验证码由 {CODE_LENGTH} 位字母和数字组成，如 ABCD-EFGH-JKLM-NPQR-STUV。"])  # fmt: skip
    cert = session.scalar(select(Certificate).where(Certificate.code == wanted))
    if cert is None:
        return Verification(wanted, False, "查无此证明：不是本平台签发的学时证明，或验证码被改动过",
                            ["请核对证明上印的验证码；如无误，这份证明不可信。"])  # fmt: skip
    content = dict(cert.content or {})
    problems = []
    if not hmac.compare_digest(sign(secret, content), cert.code):
        problems.append("证明记录的内容与签发时的签名不符（数据库中的证明被改动过）。")
    if hashlib.sha256(canonical(content)).hexdigest() != cert.content_hash:
        problems.append("证明记录的内容摘要与签发时不符。")
    if problems:
        return Verification(wanted, False, "证明已被改动，不可信", problems, cert)
    details = [f"{content.get('teacher', '')}，{content.get('period', {}).get('label', '')}，"
               f"合计 {content.get('total', 0):g} 学时。"]  # fmt: skip
    period = Period(str(content["period"]["key"]), cert.period_kind, cert.period_start,
                    cert.period_end, str(content["period"]["label"]))  # fmt: skip
    now = certified_content(session, policy, cert.teacher_id, period)
    frozen = {k: content.get(k) for k in ("records", "categories", "total")}
    changed = frozen != {k: now[k] for k in ("records", "categories", "total")}
    if changed:
        details.append(f"注意：签发后学时台账有变化（记录被撤销、补录或重新审核），"
                       f"该期间现为 {now['total']:g} 学时；如需最新证明请重新下载。")  # fmt: skip
    else:
        details.append("签发后学时台账没有变化。")
    return Verification(wanted, True, "真实有效：本平台签发，内容未被改动", details, cert,
                        ledger_changed=changed, current_total=float(now["total"]))  # fmt: skip


def load_certificate(session: Session, certificate_id: int) -> Certificate:
    cert = session.get(Certificate, certificate_id)
    if cert is None:
        raise NotFound("没有这份学时证明。")
    return cert
