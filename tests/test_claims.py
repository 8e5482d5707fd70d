"""Hour claims: evidence checks, the policy cap, scope, and one credit under concurrent approvals."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Database
from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role, User
from yanxiu.accounts.scope import Scope
from yanxiu.accounts.service import create_user
from yanxiu.audit.models import AuditEntry
from yanxiu.credits.claim_models import ClaimState, HourClaim
from yanxiu.credits.claims import ClaimDraft, decide_claim, resubmit_claim, submit_claim
from yanxiu.credits.evidence import MAX_EVIDENCE_BYTES, Upload, media_type_of
from yanxiu.credits.ledger import ledger_entries
from yanxiu.credits.models import CreditRecord, CreditSource
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import Conflict, Invalid, NotAllowed, TooLarge
from yanxiu.notifications.models import Notification, NotificationKind

TODAY = date(2026, 11, 20)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def draft(**kw: str) -> ClaimDraft:
    base = dict(kind="school_based", category="学科教学", hours="6", started_on="2026-10-15",
                ended_on="2026-10-15", organiser="临江区第一中学教务处",
                title="初中数学组“大单元教学设计”校本研修", description="全天研讨与课例打磨。")  # fmt: skip
    return ClaimDraft(**(base | kw))


def staff(session: Session, role: Role, region_id: int | None, name: str) -> User:
    return create_user(session, username=name, display_name=name, role=role,
                       password_hash=password_hash(), region_id=region_id)  # fmt: skip


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    school = make_school(session)
    teacher = make_teacher(session, school=school)
    elsewhere = make_school(session)
    return {
        "teacher": teacher,
        "trainer": staff(session, Role.TRAINER, school.county_id, "claims.trainer"),
        "outsider": staff(session, Role.TRAINER, elsewhere.county_id, "claims.outsider"),
        "admin": staff(session, Role.ADMIN, school.county_id, "claims.admin"),
    }


def submit(
    session: Session, policy: CreditPolicy, teacher: User, tmp_path: Path, **kw: str
) -> HourClaim:
    return submit_claim(session, policy, teacher, draft(**kw), [Upload("培训证书.pdf", PDF)],
                        evidence_dir=tmp_path / "evidence", today=TODAY)  # fmt: skip


def test_magic_bytes_decide_the_type_not_the_name() -> None:
    assert media_type_of(PDF) == "application/pdf"
    assert media_type_of(PNG) == "image/png" and media_type_of(JPEG) == "image/jpeg"
    assert media_type_of(b"MZ\x90\x00 an exe") is None
    assert media_type_of(b"<html><script>") is None


def test_evidence_type_and_size_are_checked(session, policy, people, tmp_path) -> None:
    teacher, folder = people["teacher"], tmp_path / "evidence"
    with pytest.raises(Invalid) as bad_type:  # an HTML page renamed .pdf
        submit_claim(session, policy, teacher, draft(), [Upload("证书.pdf", b"<html>hi</html>")],
                     evidence_dir=folder, today=TODAY)  # fmt: skip
    assert "evidence" in bad_type.value.fields and "PDF" in bad_type.value.message
    big = PDF + b"0" * MAX_EVIDENCE_BYTES
    with pytest.raises(TooLarge):
        submit_claim(session, policy, teacher, draft(), [Upload("大.pdf", big)],
                     evidence_dir=folder, today=TODAY)  # fmt: skip
    with pytest.raises(Invalid) as none:
        submit_claim(session, policy, teacher, draft(), [], evidence_dir=folder, today=TODAY)
    assert "evidence" in none.value.fields
    # one bad file among good ones: nothing is written
    with pytest.raises(Invalid):
        submit_claim(session, policy, teacher, draft(),
                     [Upload("a.png", PNG), Upload("b.gif", b"GIF89a....")],
                     evidence_dir=folder, today=TODAY)  # fmt: skip
    assert not folder.exists() or not any(folder.iterdir())
    claim = submit_claim(session, policy, teacher, draft(),
                         [Upload("a.jpeg", JPEG), Upload("..\\..\\etc\\x.png", PNG)],
                         evidence_dir=folder, today=TODAY)  # fmt: skip
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and all(len(n.split(".")[0]) == 32 for n in names)  # random names
    assert claim.state == ClaimState.SUBMITTED


def test_form_problems_are_named_per_field(session, policy, people, tmp_path) -> None:
    with pytest.raises(Invalid) as err:
        submit(
            session,
            policy,
            people["teacher"],
            tmp_path,
            hours="30",
            kind="x",
            ended_on="2026-10-14",
            organiser="",
        )
    assert set(err.value.fields) >= {"kind", "ended_on", "organiser"}
    with pytest.raises(Invalid) as err:
        submit(session, policy, people["teacher"], tmp_path, hours="30")  # one day, 8 h at most
    assert "每天不超过 8 学时" in err.value.fields["hours"]


def test_the_policy_cap_is_respected_with_the_numbers(session, policy, people, tmp_path) -> None:
    teacher = people["teacher"]
    cap = policy.sources[CreditSource.SCHOOL_BASED].cap_hours
    assert cap == 120
    for i in range(14):  # 14 × 8 = 112 pending
        submit(session, policy, teacher, tmp_path, hours="8", started_on=f"2025-10-{i + 1:02d}",
               ended_on=f"2025-10-{i + 1:02d}")  # fmt: skip
    with pytest.raises(Invalid) as err:
        submit(session, policy, teacher, tmp_path, hours="8.5", started_on="2026-10-14")
    assert "最多认定 120 学时" in err.value.message and "还能申报 8 学时" in err.value.message
    submit(session, policy, teacher, tmp_path, hours="8")  # exactly at the cap


def test_approval_credits_once_and_is_audited_and_told(session, policy, people, tmp_path) -> None:
    teacher, trainer = people["teacher"], people["trainer"]
    claim = submit(session, policy, teacher, tmp_path)
    scope = Scope.for_user(session, trainer)
    done = decide_claim(session, policy, scope, claim.id, "approve")
    assert done.state == "approved" and done.credit_record_id
    with pytest.raises(Conflict) as again:
        decide_claim(session, policy, scope, claim.id, "approve")
    assert "已经处理过了" in again.value.message
    (entry,) = [e for e in ledger_entries(session, [teacher.id])]
    assert entry.counts and entry.hours == 6 and entry.source == CreditSource.SCHOOL_BASED
    actions = set(
        session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "hour_claim"))
    )
    assert actions == {"claim.submit", "claim.approve"}
    kinds = set(
        session.scalars(select(Notification.kind).where(Notification.user_id == teacher.id))
    )
    assert NotificationKind.CLAIM_DECIDED in kinds


def test_changes_then_resubmit_then_reject(session, policy, people, tmp_path) -> None:
    teacher, admin = people["teacher"], people["admin"]
    scope = Scope.for_user(session, admin)
    claim = submit(session, policy, teacher, tmp_path)
    with pytest.raises(Invalid):  # asking for changes needs a reason
        decide_claim(session, policy, scope, claim.id, "changes", "")
    decide_claim(session, policy, scope, claim.id, "changes", "请补充盖章的签到表。")
    with pytest.raises(Conflict):  # a decision on the old version is refused
        decide_claim(session, policy, scope, claim.id, "approve", revision=1)
    resubmit_claim(session, policy, teacher, claim.id, draft(hours="5"), [Upload("签到表.png", PNG)],
                   evidence_dir=tmp_path / "evidence", today=TODAY)  # fmt: skip
    assert claim.state == ClaimState.SUBMITTED and claim.revision == 2 and claim.hours == 5
    with pytest.raises(Conflict):  # the reviewer read revision 1
        decide_claim(session, policy, scope, claim.id, "reject", "材料不全", revision=1)
    decide_claim(session, policy, scope, claim.id, "reject", "签到表与研修日期不符。", revision=2)
    assert claim.state == ClaimState.REJECTED and claim.credit_record_id is None
    assert not ledger_entries(session, [teacher.id])


def test_a_reviewer_outside_scope_cannot_see_or_decide(session, policy, people, tmp_path) -> None:
    claim = submit(session, policy, people["teacher"], tmp_path)
    outsider = Scope.for_user(session, people["outsider"])
    with pytest.raises(NotAllowed):
        decide_claim(session, policy, outsider, claim.id, "approve")
    other_teacher = make_teacher(session, school=people["teacher"].school)
    with pytest.raises(NotAllowed):
        decide_claim(session, policy, Scope.for_user(session, other_teacher), claim.id, "approve")
    assert claim.state == ClaimState.SUBMITTED


def test_twenty_concurrent_approvals_credit_once(
    db: Database, policy: CreditPolicy, tmp_path
) -> None:
    with db.factory() as s:
        school = make_school(s)
        teacher = make_teacher(s, school=school)
        reviewers = [staff(s, Role.TRAINER if i % 2 else Role.ADMIN, school.county_id, f"rev{i}")
                     for i in range(20)]  # fmt: skip
        claim = submit(s, policy, teacher, tmp_path)
        s.commit()
        claim_id, teacher_id, reviewer_ids = claim.id, teacher.id, [r.id for r in reviewers]
    barrier = threading.Barrier(20, timeout=30)
    outcomes: list[str] = []

    def approve(reviewer_id: int) -> None:
        try:
            with db.factory() as s:
                scope = Scope.for_user(s, s.get(User, reviewer_id))
                s.commit()  # hand the connection back: 20 threads share a pool of 15
                barrier.wait()
                decide_claim(s, policy, scope, claim_id, "approve")
                s.commit()
            outcomes.append("won")
        except Conflict:
            outcomes.append("409")
        except Exception as exc:  # noqa: BLE001 (any other error is the failure being tested)
            outcomes.append(f"error {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=approve, args=(r,)) for r in reviewer_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1 and outcomes.count("409") == 19, outcomes
    with db.factory() as s:
        credits = s.scalar(
            select(func.count(CreditRecord.id)).where(CreditRecord.teacher_id == teacher_id)
        )
        approvals = s.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "claim.approve")
        )
        assert credits == 1 and approvals == 1
        assert s.get(HourClaim, claim_id).state == ClaimState.APPROVED
