"""Hour-claim pages: a teacher files a claim with evidence, a trainer approves it, the ledger
shows it; evidence is served to the teacher and reviewers in scope only, checked by its bytes."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.web.conftest import Site
from tests.web.helpers import form_token as csrf_token
from yanxiu.credits.certificates import shown
from yanxiu.credits.claim_models import Certificate, ClaimEvidence, ClaimState, HourClaim

PDF = b"%PDF-1.4\n% a training certificate\n%%EOF\n"
FORM = {"kind": "school_based", "category": "学科教学", "hours": "6", "started_on": "2026-10-15",
        "ended_on": "2026-10-15", "organiser": "临江区第一中学教务处",
        "title": "初中数学组“大单元教学设计”校本研修"}  # fmt: skip


def test_claim_approve_and_ledger(fresh_site: Site) -> None:
    teacher = fresh_site.client("t112")
    page = teacher.get("/claims/new")
    assert page.status_code == 200 and "新建学时申报" in page.text
    token = csrf_token(page.text)
    # an HTML file named .pdf is refused by its bytes; the form comes back as typed
    bad = teacher.post("/claims", data=FORM | {"csrf_token": token},
                       files={"evidence": ("证书.pdf", b"<html>x</html>", "application/pdf")})  # fmt: skip
    assert bad.status_code == 422 and "不是 PDF" in bad.text and "大单元教学设计" in bad.text
    big = teacher.post("/claims", data=FORM | {"csrf_token": token},
                       files={"evidence": ("扫描件.pdf", PDF + b"0" * (5 * 1024 * 1024), "application/pdf")})  # fmt: skip
    assert big.status_code == 413 and "超过 5 MB" in big.text
    made = teacher.post("/claims", data=FORM | {"csrf_token": token},
                        files={"evidence": ("证书.pdf", PDF, "application/pdf")},
                        follow_redirects=False)  # fmt: skip
    assert made.status_code == 303
    url = made.headers["location"]
    claim_id = int(url.rsplit("/", 1)[1])
    detail = teacher.get(url)
    assert "待审核" in detail.text and "证书.pdf" in detail.text
    with fresh_site.factory() as s:
        evidence_id = s.scalar(select(ClaimEvidence.id).where(ClaimEvidence.claim_id == claim_id))
    got = teacher.get(f"{url}/evidence/{evidence_id}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment")

    trainer = fresh_site.client("trainer.linjiang")
    queue = trainer.get("/review/claims")
    assert queue.status_code == 200 and FORM["title"] in queue.text
    assert re.search(
        r'href="/review/claims"[^>]*>学时审核 <span class="nav-badge"[^>]*>1<', queue.text
    )
    assert trainer.get(f"{url}/evidence/{evidence_id}").status_code == 200
    page = trainer.get(url)
    assert "认定通过" in page.text
    done = trainer.post(f"{url}/decision", data={"action": "approve", "revision": "1",
                                                 "csrf_token": csrf_token(page.text)},
                        follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    again = trainer.post(f"/api/v1/claims/{claim_id}/decision", json={"action": "approve"},
                         headers={"X-CSRF-Token": csrf_token(page.text)})  # fmt: skip
    assert again.status_code == 409 and "已经处理过了" in again.json()["detail"]
    with fresh_site.factory() as s:
        assert s.get(HourClaim, claim_id).state == ClaimState.APPROVED
    ledger = teacher.get("/teacher/ledger")
    assert FORM["title"] in ledger.text

    # a reviewer of another county sees neither the claim nor its evidence
    other = fresh_site.client("trainer.baishi")
    assert other.get(url).status_code == 403
    assert other.get(f"{url}/evidence/{evidence_id}").status_code == 403
    assert FORM["title"] not in other.get("/review/claims").text

    # the teacher downloads a 学时证明 listing the approved claim; the admin verifies its code
    page = teacher.get("/teacher/certificates")
    assert page.status_code == 200 and "生成并下载 PDF" in page.text
    issued = teacher.post("/teacher/certificates", data={"period": "cycle",
                          "csrf_token": csrf_token(page.text)}, follow_redirects=False)  # fmt: skip
    assert issued.status_code == 303
    pdf = teacher.get(issued.headers["location"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    with fresh_site.factory() as s:
        cert = s.scalar(select(Certificate).order_by(Certificate.id.desc()))
        assert FORM["title"] in [r["title"] for r in cert.content["records"]]
        code = cert.code
    assert shown(code) in teacher.get("/teacher/certificates").text
    admin = fresh_site.client("admin")
    ok = admin.get("/admin/certificates", params={"code": shown(code)})
    assert ok.status_code == 200 and "真实有效" in ok.text and "没有变化" in ok.text
    forged = admin.get(
        "/admin/certificates", params={"code": code[:-1] + ("A" if code[-1] != "A" else "B")}
    )
    assert forged.status_code == 200 and "查无此证明" in forged.text
    # the teacher's personal data export holds her claims and certificates
    export = teacher.get("/teacher/export").json()
    (mine,) = [c for c in export["hour_claims"] if c["id"] == claim_id]
    assert mine["state"] == "approved" and mine["evidence"][0]["name"] == "证书.pdf"
    assert code in [c["code"] for c in export["certificates"]]
