"""What the hour-claim pages show: the teacher's list and form, a claim with its evidence and
history, the reviewer's queue (the rules themselves are in :mod:`yanxiu.credits.claims`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, User
from yanxiu.accounts.scope import Scope, overseers
from yanxiu.audit.models import AuditEntry
from yanxiu.catalog.schema import CATEGORIES
from yanxiu.credits.claim_models import ClaimEvidence, ClaimState, HourClaim
from yanxiu.credits.claims import (
    KIND_LABELS,
    STATE_LABELS,
    ClaimDraft,
    ClaimRow,
    can_review,
    evidence_of,
    load_claim,
    own_claims,
)
from yanxiu.credits.evidence import ACCEPTED, MAX_EVIDENCE_BYTES, MAX_EVIDENCE_FILES
from yanxiu.credits.policy import CreditPolicy

STEP_LABELS = {
    "claim.submit": "提交申报",
    "claim.resubmit": "修改后重新提交",
    "claim.approve": "认定通过",
    "claim.changes": "退回修改",
    "claim.reject": "不予认定",
}
STATE_BADGES = {
    ClaimState.SUBMITTED: "warn",
    ClaimState.CHANGES_REQUESTED: "warn",
    ClaimState.APPROVED: "ok",
    ClaimState.REJECTED: "bad",
}


@dataclass(frozen=True)
class FormChoices:
    """The claim form's choices and the rules it states (from the policy)."""

    kinds: dict[str, str]
    categories: tuple[str, ...]
    caps: dict[str, float | None]  # kind → the policy's cap per cycle
    accepted: str = ACCEPTED
    max_mb: int = MAX_EVIDENCE_BYTES // (1024 * 1024)
    max_files: int = MAX_EVIDENCE_FILES


def form_choices(policy: CreditPolicy) -> FormChoices:
    from yanxiu.credits.claims import SOURCE_OF_KIND

    caps = {k.value: policy.sources[s].cap_hours for k, s in SOURCE_OF_KIND.items()}
    return FormChoices({k.value: v for k, v in KIND_LABELS.items()}, CATEGORIES, caps)


@dataclass(frozen=True)
class ClaimList:
    rows: list[ClaimRow]
    badges: dict[ClaimState, str] = field(default_factory=lambda: STATE_BADGES)


def claim_list(session: Session, teacher_id: int) -> ClaimList:
    return ClaimList(own_claims(session, teacher_id))


@dataclass(frozen=True)
class ClaimForm:
    draft: ClaimDraft
    errors: dict[str, str]
    choices: FormChoices


def new_claim_form(
    policy: CreditPolicy, draft: ClaimDraft | None = None, errors: dict[str, str] | None = None
) -> ClaimForm:
    return ClaimForm(draft or ClaimDraft(), dict(errors or {}), form_choices(policy))


@dataclass(frozen=True)
class Step:
    at: datetime
    by: str
    label: str
    reason: str


@dataclass(frozen=True)
class ClaimPage:
    claim: HourClaim
    teacher: User
    kind_label: str
    state_label: str
    badge: str
    evidence: list[ClaimEvidence]
    history: list[Step]
    reviewer_name: str  # who decided it
    reviewers: list[str]  # who will review it (trainers over the teacher)
    is_owner: bool
    reviewable: bool  # the viewer may decide it now
    editable: bool  # the owner may edit and resubmit it now
    form: ClaimForm | None  # the edit form, for the owner when changes were asked for
    error: str = ""


def claim_page(
    session: Session, policy: CreditPolicy, scope: Scope, claim_id: int, *,
    draft: ClaimDraft | None = None, errors: dict[str, str] | None = None, error: str = "",
) -> ClaimPage:  # fmt: skip
    claim = load_claim(session, scope, claim_id)
    teacher = session.get(User, claim.teacher_id)
    assert teacher is not None
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "hour_claim", AuditEntry.entity_id == str(claim.id))
        .order_by(AuditEntry.id)
    )
    names: dict[int, str] = {}

    def name_of(user_id: int | None) -> str:
        if user_id is None:
            return ""
        if user_id not in names:
            user = session.get(User, user_id)
            names[user_id] = user.display_name if user else ""
        return names[user_id]

    history = [
        Step(e.created_at, name_of(e.actor_id), STEP_LABELS.get(e.action, e.action),
             str((e.detail or {}).get("reason", "")))
        for e in entries
    ]  # fmt: skip
    is_owner = claim.teacher_id == scope.user_id
    editable = is_owner and claim.state == ClaimState.CHANGES_REQUESTED
    return ClaimPage(
        claim=claim, teacher=teacher, kind_label=KIND_LABELS[claim.kind],
        state_label=STATE_LABELS[claim.state], badge=STATE_BADGES[claim.state],
        evidence=evidence_of(session, claim.id), history=history,
        reviewer_name=name_of(claim.reviewer_id),
        reviewers=[u.display_name for u in overseers(session, teacher, (Role.TRAINER,))],
        is_owner=is_owner,
        reviewable=not is_owner and claim.state == ClaimState.SUBMITTED
        and can_review(session, scope, claim),
        editable=editable,
        form=new_claim_form(policy, draft or ClaimDraft.of(claim), errors) if editable else None,
        error=error,
    )  # fmt: skip
