"""Ledger exports for the provincial credit bank (学分银行): CSV and xAPI statements."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from yanxiu.credits.ledger import LedgerEntry
from yanxiu.credits.models import CreditSource
from yanxiu.spreadsheet import BOM, csv_writer

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {
    CreditSource.ONLINE: ("completed", "完成"),
    CreditSource.IMPORT: ("completed", "完成"),
    CreditSource.OFFLINE: ("attended", "参加"),
    CreditSource.SCHOOL_BASED: ("attended", "参加"),
    CreditSource.RESEARCH: ("attended", "参加"),
}
CSV_COLUMNS = (
    "record_id", "teacher_username", "teacher_name", "school", "source", "category", "hours",
    "earned_on", "title", "review_state", "voided", "void_reason", "replaces_id", "evidence",
    "idempotency_key", "created_at",
)  # fmt: skip
# Statement ids are UUIDv5 of the record's idempotency key: re-exporting yields the same ids,
# so a credit bank that de-duplicates on id never double-counts.
STATEMENT_NAMESPACE = uuid.UUID("6f1c1c7e-8f5e-4a55-9d0b-2b5f0c7a1e42")


def iso_duration(hours: float) -> str:
    """ISO 8601 duration for xAPI ``result.duration`` (6.5 h → ``PT6H30M``)."""
    minutes = round(hours * 60)
    h, m = divmod(minutes, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") if minutes else "PT0S"


def ledger_csv(entries: Iterable[LedgerEntry], people: dict[int, tuple[str, str, str]]) -> str:
    """All records, voided ones included and marked, as CSV (UTF-8 with BOM for Excel)."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv_writer(buf)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        username, name, school = people.get(e.teacher_id, ("", "", ""))
        writer.writerow([
            e.id, username, name, school, e.source.value, e.category, f"{e.hours:g}", e.earned_on.isoformat(),
            e.title, e.review_state.value, "yes" if e.voided else "no", e.void_reason, e.replaces_id or "",
            ";".join(f"{k}={v}" for k, v in sorted(e.evidence.items())), e.idempotency_key,
            e.created_at.isoformat(),
        ])  # fmt: skip
    return buf.getvalue()


def xapi_statements(
    entries: Iterable[LedgerEntry], people: dict[int, tuple[str, str, str]], *, home_page: str
) -> Iterator[dict[str, Any]]:
    """xAPI statements for the records that count (approved and not voided)."""
    home = home_page.rstrip("/")
    for e in entries:
        if not e.counts:
            continue
        username, name, school = people.get(e.teacher_id, ("", "", ""))
        verb, verb_zh = VERBS[e.source]
        activity_kind = (
            "course"
            if "course" in e.evidence
            else "session"
            if "session" in e.evidence
            else e.source.value
        )
        activity_ref = e.evidence.get("course") or e.evidence.get("session") or e.id
        yield {
            "id": str(uuid.uuid5(STATEMENT_NAMESPACE, e.idempotency_key)),
            "actor": {
                "objectType": "Agent",
                "name": name,
                "account": {"homePage": home, "name": username},
            },
            "verb": {"id": ADL + verb, "display": {"en-US": verb, "zh-CN": verb_zh}},
            "object": {
                "objectType": "Activity",
                "id": f"{home}/activities/{activity_kind}/{activity_ref}",
                "definition": {
                    "name": {"zh-CN": e.title},
                    "type": "http://adlnet.gov/expapi/activities/"
                    + ("course" if activity_kind == "course" else "meeting"),
                },
            },
            "result": {
                "completion": True,
                "duration": iso_duration(e.hours),
                "extensions": {f"{home}/xapi/extensions/credited-hours": e.hours},
            },
            "context": {
                "platform": "Yanxiu 研修",
                "language": "zh-CN",
                "extensions": {
                    f"{home}/xapi/extensions/category": e.category,
                    f"{home}/xapi/extensions/source": e.source.value,
                    f"{home}/xapi/extensions/school": school,
                },
            },
            "timestamp": f"{e.earned_on.isoformat()}T00:00:00+08:00",
        }
