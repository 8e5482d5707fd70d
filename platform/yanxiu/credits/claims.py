"""Hour claims (学时申报): a teacher claims hours of 校本研修, 教研活动 or training taken elsewhere,
with evidence; a reviewer in scope approves, asks for changes or rejects.

- Who reviews: a trainer or admin whose :class:`~yanxiu.accounts.scope.Scope` covers the teacher.
- Approval credits the ledger once. The claim's state moves by a conditional UPDATE
  (``… WHERE state = 'submitted' AND revision = n``), so of any number of concurrent approvals
  exactly one wins and the others are told it was already decided (Conflict → 409); the ledger
  record's idempotency key ``claim:<id>`` and the claim's unique ``credit_record_id`` back that up.
- The policy's cap for the source (e.g. 校本研修 ≤ 120 学时 per cycle) is checked when the teacher
  submits and again when a reviewer approves, with the numbers in the message.
- Every step is audited (entity ``hour_claim``) and the teacher is notified of each decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, TeacherProfile, User
from yanxiu.accounts.scope import Account, Scope, overseers
from yanxiu.audit.service import record_audit
from yanxiu.catalog.schema import CATEGORIES
from yanxiu.credits.claim_models import ClaimEvidence, ClaimKind, ClaimState, HourClaim
from yanxiu.credits.compliance import add_years
from yanxiu.credits.evidence import MAX_EVIDENCE_FILES, StoredFile, Upload, check_upload, discard
from yanxiu.credits.evidence import store as store_file
from yanxiu.credits.ledger import credit_hours, ledger_entries, review_record
from yanxiu.credits.models import CreditSource, ReviewState
from yanxiu.credits.policy import CreditPolicy
from yanxiu.credits.rules import Evidence, decide
from yanxiu.db.base import utcnow
from yanxiu.errors import Conflict, Invalid, NotAllowed, NotFound
from yanxiu.notifications.models import NotificationKind
from yanxiu.notifications.service import notify

REVIEWER_ROLES = (Role.TRAINER, Role.ADMIN)
KIND_LABELS = {
    ClaimKind.SCHOOL_BASED: "校本研修",
    ClaimKind.RESEARCH: "教研活动",
    ClaimKind.EXTERNAL: "外出培训",
}
SOURCE_OF_KIND = {
    ClaimKind.SCHOOL_BASED: CreditSource.SCHOOL_BASED,
    ClaimKind.RESEARCH: CreditSource.RESEARCH,
    ClaimKind.EXTERNAL: CreditSource.IMPORT,  # hours earned on another platform or institution
}
STATE_LABELS = {
    ClaimState.SUBMITTED: "待审核",
    ClaimState.CHANGES_REQUESTED: "需修改",
    ClaimState.APPROVED: "已认定",
    ClaimState.REJECTED: "未通过",
}
ACTIONS = {"approve": ClaimState.APPROVED, "changes": ClaimState.CHANGES_REQUESTED,
           "reject": ClaimState.REJECTED}  # fmt: skip
ACTION_LABELS = {"approve": "认定通过", "changes": "退回修改", "reject": "不予认定"}
MAX_HOURS_PER_DAY = 8  # a day of training counts at most 8 学时


@dataclass
class ClaimDraft:
    """The claim form as typed (strings), kept to show it again with the problems found."""

    kind: str = ""
    category: str = ""
    hours: str = ""
    started_on: str = ""
    ended_on: str = ""
    organiser: str = ""
    title: str = ""
    description: str = ""

    @classmethod
    def of(cls, claim: HourClaim) -> ClaimDraft:
        return cls(kind=claim.kind.value, category=claim.category, hours=f"{claim.hours:g}",
                   started_on=claim.started_on.isoformat(), ended_on=claim.ended_on.isoformat(),
                   organiser=claim.organiser, title=claim.title, description=claim.description)  # fmt: skip


@dataclass(frozen=True)
class ClaimFields:
    kind: ClaimKind
    category: str
    hours: float
    started_on: date
    ended_on: date
    organiser: str
    title: str
    description: str


def parse_draft(draft: ClaimDraft, *, today: date) -> ClaimFields:
    """The draft's values, or Invalid with every field's problem."""
    errors: dict[str, str] = {}
    kind = next((k for k in ClaimKind if k.value == draft.kind), None)
    if kind is None:
        errors["kind"] = "请选择申报类型"
    if draft.category not in CATEGORIES:
        errors["category"] = "请选择培训类别"
    hours = 0.0
    try:
        hours = round(float(draft.hours), 2)
        if not 0 < hours <= 500:
            raise ValueError
        if round(hours * 2) != hours * 2:
            errors["hours"] = "学时按 0.5 学时计，如 6 或 2.5"
    except ValueError:
        errors["hours"] = "请填写大于 0 的学时数，如 6 或 2.5"
    dates: dict[str, date] = {}
    for name, label in (("started_on", "开始日期"), ("ended_on", "结束日期")):
        try:
            dates[name] = date.fromisoformat(getattr(draft, name).strip())
        except ValueError:
            errors[name] = f"请填写{label}（年-月-日）"
    start, end = dates.get("started_on"), dates.get("ended_on")
    if start and end:
        if end < start:
            errors["ended_on"] = "结束日期不能早于开始日期"
        elif end > today:
            errors["ended_on"] = "只能申报已经结束的培训"
        elif "hours" not in errors and hours > MAX_HOURS_PER_DAY * ((end - start).days + 1):
            days = (end - start).days + 1
            errors["hours"] = (f"{days} 天的培训最多申报 {MAX_HOURS_PER_DAY * days} 学时"
                               f"（每天不超过 {MAX_HOURS_PER_DAY} 学时）")  # fmt: skip
    organiser, title = draft.organiser.strip(), draft.title.strip()
    if not 2 <= len(organiser) <= 120:
        errors["organiser"] = "请填写组织单位（2–120 字），如“临江区第一中学教务处”"
    if not 4 <= len(title) <= 200:
        errors["title"] = "请填写培训名称（4–200 字）"
    if len(draft.description) > 2000:
        errors["description"] = "说明不超过 2000 字"
    if errors:
        raise Invalid(f"申报信息有 {len(errors)} 处需要修改。", fields=errors)
    assert kind is not None and start is not None and end is not None
    return ClaimFields(kind, draft.category, hours, start, end, organiser, title,
                       draft.description.strip())  # fmt: skip


# ---------------------------------------------------------------- the policy's caps


def teacher_cycle(session: Session, policy: CreditPolicy, teacher_id: int) -> tuple[date, date]:
    profile = session.get(TeacherProfile, teacher_id)
    if profile is None:
        raise NotAllowed("只有教师可以申报学时。")
    return profile.cycle_start, add_years(profile.cycle_start, policy.cycle_years)


def check_cap(
    session: Session, policy: CreditPolicy, *, teacher_id: int, kind: ClaimKind, hours: float,
    earned_on: date, claim_id: int | None = None, approving: bool = False,
) -> None:  # fmt: skip
    """Invalid (submitting) or Conflict (approving) if the hours would pass the source's cap for
    the cycle; the message gives the cap, what is credited, what is pending, what is left."""
    start, end = teacher_cycle(session, policy, teacher_id)
    if not start <= earned_on < end:
        raise Invalid(
            f"培训日期不在您本周期（{start}—{end - timedelta(days=1)}）内，不能计入本周期学时。",
            fields={"ended_on": "日期不在本周期内"},
        )
    source = SOURCE_OF_KIND[kind]
    rule = policy.sources[source]
    if not rule.counts:
        raise Invalid(f"{policy.province}的政策不认定{KIND_LABELS[kind]}学时。",
                      fields={"kind": "该类型不计学时"})  # fmt: skip
    if rule.cap_hours is None:
        return
    credited = sum(
        e.hours for e in ledger_entries(session, [teacher_id])
        if e.source == source and not e.voided and e.review_state != ReviewState.REJECTED
        and start <= e.earned_on < end
    )  # fmt: skip
    kinds = [k for k, s in SOURCE_OF_KIND.items() if s == source]
    pending_q = select(func.coalesce(func.sum(HourClaim.hours), 0)).where(
        HourClaim.teacher_id == teacher_id, HourClaim.kind.in_(kinds),
        HourClaim.state.in_((ClaimState.SUBMITTED, ClaimState.CHANGES_REQUESTED)),
        HourClaim.ended_on >= start, HourClaim.ended_on < end,
    )  # fmt: skip
    if claim_id is not None:
        pending_q = pending_q.where(HourClaim.id != claim_id)
    pending = 0.0 if approving else float(session.scalar(pending_q) or 0)
    room = max(0.0, rule.cap_hours - credited - pending)
    if hours <= room + 1e-9:
        return
    label = KIND_LABELS[kind] if source != CreditSource.IMPORT else "外部转入（外出培训）"
    message = (
        f"{label}每个周期最多认定 {rule.cap_hours:g} 学时（{policy.name}）："
        f"您本周期已认定 {credited:g} 学时"
        + (f"、另有 {pending:g} 学时在审核中" if pending else "")
        + f"，本次最多还能{'认定' if approving else '申报'} {room:g} 学时。"
    )
    if approving:
        raise Conflict(message)
    raise Invalid(message, fields={"hours": message})


# ---------------------------------------------------------------- the teacher's side


def _store_all(directory: Path, uploads: list[Upload]) -> list[StoredFile]:
    for upload in uploads:  # check every file before writing any
        check_upload(upload)
    return [store_file(directory, u) for u in uploads]


def _attach(session: Session, claim: HourClaim, stored: list[StoredFile], user_id: int) -> None:
    for s in stored:
        session.add(ClaimEvidence(claim_id=claim.id, original_name=s.original_name,
                                  stored_name=s.stored_name, media_type=s.media_type, size=s.size,
                                  sha256=s.sha256, uploaded_by_id=user_id))  # fmt: skip


def submit_claim(
    session: Session, policy: CreditPolicy, teacher: Account, draft: ClaimDraft,
    uploads: list[Upload], *, evidence_dir: Path, today: date,
) -> HourClaim:  # fmt: skip
    """A new claim with its evidence (Invalid/TooLarge, nothing stored, if anything is wrong)."""
    if teacher.role != Role.TEACHER:
        raise NotAllowed("只有教师可以申报学时。")
    fields = parse_draft(draft, today=today)
    if not uploads:
        raise Invalid(
            "请上传证明材料。", fields={"evidence": "请至少上传一份证明材料（PDF 或照片）"}
        )
    if len(uploads) > MAX_EVIDENCE_FILES:
        raise Invalid(
            "证明材料太多。", fields={"evidence": f"最多上传 {MAX_EVIDENCE_FILES} 份材料"}
        )
    check_cap(session, policy, teacher_id=teacher.id, kind=fields.kind, hours=fields.hours,
              earned_on=fields.ended_on)  # fmt: skip
    stored = _store_all(evidence_dir, uploads)
    try:
        claim = HourClaim(teacher_id=teacher.id, state=ClaimState.SUBMITTED, revision=1,
                          **fields.__dict__)  # fmt: skip
        session.add(claim)
        session.flush()
        _attach(session, claim, stored, teacher.id)
        record_audit(session, actor_id=teacher.id, action="claim.submit", entity="hour_claim",
                     entity_id=claim.id, detail={"hours": claim.hours, "kind": claim.kind.value,
                                                 "files": len(stored)})  # fmt: skip
        _tell_reviewers(session, claim)
    except BaseException:
        discard(evidence_dir, stored)
        raise
    return claim


def resubmit_claim(
    session: Session, policy: CreditPolicy, teacher: Account, claim_id: int, draft: ClaimDraft,
    uploads: list[Upload], *, evidence_dir: Path, today: date,
) -> HourClaim:  # fmt: skip
    """The teacher's edited claim, back to the reviewers (only when changes were asked for)."""
    claim = session.get(HourClaim, claim_id)
    if claim is None:
        raise NotFound("没有这份学时申报。")
    if claim.teacher_id != teacher.id:
        raise NotAllowed("只能修改本人的学时申报。")
    if claim.state != ClaimState.CHANGES_REQUESTED:
        raise Conflict(f"这份申报{STATE_LABELS[claim.state]}，不能再修改。")
    fields = parse_draft(draft, today=today)
    count = session.scalar(
        select(func.count(ClaimEvidence.id)).where(ClaimEvidence.claim_id == claim.id)
    )
    if int(count or 0) + len(uploads) > MAX_EVIDENCE_FILES:
        raise Invalid(
            "证明材料太多。", fields={"evidence": f"每份申报最多 {MAX_EVIDENCE_FILES} 份材料"}
        )
    check_cap(session, policy, teacher_id=teacher.id, kind=fields.kind, hours=fields.hours,
              earned_on=fields.ended_on, claim_id=claim.id)  # fmt: skip
    revision = claim.revision
    stored = _store_all(evidence_dir, uploads)
    try:
        won = session.execute(
            update(HourClaim)
            .where(HourClaim.id == claim.id, HourClaim.state == ClaimState.CHANGES_REQUESTED,
                   HourClaim.revision == revision)
            .values(state=ClaimState.SUBMITTED, revision=revision + 1, updated_at=utcnow(),
                    **fields.__dict__)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if getattr(won, "rowcount", 0) != 1:
            raise Conflict("这份申报刚刚已经重新提交过了。")
        session.refresh(claim)
        _attach(session, claim, stored, teacher.id)
        record_audit(session, actor_id=teacher.id, action="claim.resubmit", entity="hour_claim",
                     entity_id=claim.id, detail={"revision": claim.revision, "hours": claim.hours,
                                                 "files": len(stored)})  # fmt: skip
        _tell_reviewers(session, claim)
    except BaseException:
        discard(evidence_dir, stored)
        raise
    return claim


# ---------------------------------------------------------------- the reviewer's side


def can_review(session: Session, scope: Scope, claim: HourClaim) -> bool:
    return scope.role in REVIEWER_ROLES and scope.can_read(session, claim)


def load_claim(session: Session, scope: Scope, claim_id: int) -> HourClaim:
    """A claim its teacher or a reviewer in scope may read (NotFound / NotAllowed otherwise)."""
    claim = session.get(HourClaim, claim_id)
    if claim is None:
        raise NotFound("没有这份学时申报。")
    if claim.teacher_id != scope.user_id and not can_review(session, scope, claim):
        raise NotAllowed("无权访问：只能查看本人或本辖区教师的学时申报。")
    return claim


@dataclass(frozen=True)
class Decided:
    claim_id: int
    state: str
    state_label: str
    credit_record_id: int | None
    message: str


def decide_claim(
    session: Session, policy: CreditPolicy, scope: Scope, claim_id: int, action: str,
    reason: str = "", *, revision: int | None = None,
) -> Decided:  # fmt: skip
    """Approve, ask for changes or reject a submitted claim, once.

    ``revision`` is the version the reviewer read (the form carries it): a claim resubmitted
    since is not decided blind. A claim already decided (by a concurrent click or a colleague)
    is a Conflict naming who decided it.
    """
    if scope.role not in REVIEWER_ROLES:
        raise NotAllowed("只有培训者或管理员可以审核学时申报。")
    claim = load_claim(session, scope, claim_id)
    if claim.teacher_id == scope.user_id:
        raise NotAllowed("不能审核本人的申报。")
    target = ACTIONS.get(action)
    if target is None:
        raise Invalid("请选择审核结果。", fields={"action": "请选择：认定通过、退回修改或不予认定"})
    reason = reason.strip()
    if target != ClaimState.APPROVED and not reason:
        what = "退回修改" if target == ClaimState.CHANGES_REQUESTED else "不予认定"
        raise Invalid(f"{what}须写明理由。", fields={"reason": f"请写明{what}的理由，教师会看到"})
    if len(reason) > 2000:
        raise Invalid("理由不超过 2000 字。", fields={"reason": "理由不超过 2000 字"})
    seen = claim.revision if revision is None else revision
    if claim.state != ClaimState.SUBMITTED or claim.revision != seen:
        raise _already(session, claim)
    if target == ClaimState.APPROVED:
        check_cap(session, policy, teacher_id=claim.teacher_id, kind=claim.kind,
                  hours=float(claim.hours), earned_on=claim.ended_on, claim_id=claim.id,
                  approving=True)  # fmt: skip
    # The one transition: of concurrent deciders exactly one updates the row.
    won = session.execute(
        update(HourClaim)
        .where(HourClaim.id == claim.id, HourClaim.state == ClaimState.SUBMITTED,
               HourClaim.revision == seen)
        .values(state=target, reviewer_id=scope.user_id, decision_reason=reason,
                decided_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    session.refresh(claim)
    if getattr(won, "rowcount", 0) != 1:
        raise _already(session, claim)
    if target == ClaimState.APPROVED:
        source = SOURCE_OF_KIND[claim.kind]  # the approved claim is the evidence the rules ask for
        verdict = decide(policy, source, Evidence(claim_approved=True))
        record, _ = credit_hours(
            session, policy=policy, decision=verdict, teacher_id=claim.teacher_id, source=source,
            category=claim.category, hours=float(claim.hours), earned_on=claim.ended_on,
            title=claim.title[:200], idempotency_key=f"claim:{claim.id}", created_by_id=scope.user_id,
            evidence={"claim_id": claim.id, "organiser": claim.organiser,
                      "files": [e.sha256 for e in evidence_of(session, claim.id)]},
        )  # fmt: skip
        if policy.sources[source].needs_review:  # this approval is that review
            review_record(session, record_id=record.id, state=ReviewState.APPROVED,
                          reviewer_id=scope.user_id, comment=f"学时申报 #{claim.id} 审核通过")  # fmt: skip
        claim.credit_record_id = record.id
        session.flush()
    record_audit(session, actor_id=scope.user_id, action=f"claim.{action}", entity="hour_claim",
                 entity_id=claim.id, detail={"revision": seen, "reason": reason,
                                             "credit_record_id": claim.credit_record_id})  # fmt: skip
    _tell_teacher(session, claim)
    label = STATE_LABELS[claim.state]
    return Decided(claim.id, claim.state.value, label, claim.credit_record_id,
                   f"已{ACTION_LABELS[action]}：《{claim.title}》{float(claim.hours):g} 学时。")  # fmt: skip


def _already(session: Session, claim: HourClaim) -> Conflict:
    if claim.state == ClaimState.SUBMITTED:
        return Conflict("教师已重新提交了这份申报，请查看新的内容后再审核。")
    who = session.get(User, claim.reviewer_id) if claim.reviewer_id else None
    name = f"（{who.display_name}）" if who else ""
    return Conflict(f"这份申报已经处理过了{name}：{STATE_LABELS[claim.state]}。")


# ---------------------------------------------------------------- telling people


def _tell_reviewers(session: Session, claim: HourClaim) -> None:
    teacher = session.get(User, claim.teacher_id)
    if teacher is None:
        return
    for reviewer in overseers(session, teacher, (Role.TRAINER,)):
        notify(session, user_id=reviewer.id, kind=NotificationKind.CLAIM_SUBMITTED,
               title=f"{teacher.display_name}申报{float(claim.hours):g}学时：{claim.title}"[:200],
               link=f"/claims/{claim.id}",
               event_key=f"claim:{claim.id}:submitted:{claim.revision}")  # fmt: skip


def _tell_teacher(session: Session, claim: HourClaim) -> None:
    outcome = {
        ClaimState.APPROVED: f"已认定 {float(claim.hours):g} 学时，计入学时台账",
        ClaimState.CHANGES_REQUESTED: "需要修改后重新提交",
        ClaimState.REJECTED: "未予认定",
    }[claim.state]
    body = f"理由：{claim.decision_reason}" if claim.decision_reason else "打开申报查看详情。"
    notify(session, user_id=claim.teacher_id, kind=NotificationKind.CLAIM_DECIDED,
           title=f"学时申报《{claim.title}》{outcome}"[:200], body=body, link=f"/claims/{claim.id}",
           event_key=f"claim:{claim.id}:decided:{claim.revision}")  # fmt: skip


# ---------------------------------------------------------------- reading


def evidence_of(session: Session, claim_id: int) -> list[ClaimEvidence]:
    return list(session.scalars(
        select(ClaimEvidence).where(ClaimEvidence.claim_id == claim_id).order_by(ClaimEvidence.id)
    ))  # fmt: skip


def evidence_file(session: Session, scope: Scope, claim_id: int, evidence_id: int) -> ClaimEvidence:
    """An evidence file of a claim the user may read (NotFound if it is not that claim's)."""
    load_claim(session, scope, claim_id)
    item = session.get(ClaimEvidence, evidence_id)
    if item is None or item.claim_id != claim_id:
        raise NotFound("没有这个证明材料。")
    return item


@dataclass(frozen=True)
class ClaimRow:
    claim: HourClaim
    teacher_name: str
    school: str
    kind_label: str
    state_label: str


@dataclass(frozen=True)
class ReviewQueue:
    waiting: list[ClaimRow]
    recent: list[ClaimRow] = field(default_factory=list)


def _rows(session: Session, claims: list[HourClaim]) -> list[ClaimRow]:
    rows = []
    for c in claims:
        teacher = session.get(User, c.teacher_id)
        school = teacher.school.name if teacher and teacher.school else ""
        rows.append(ClaimRow(c, teacher.display_name if teacher else "", school,
                             KIND_LABELS[c.kind], STATE_LABELS[c.state]))  # fmt: skip
    return rows


def own_claims(session: Session, teacher_id: int) -> list[ClaimRow]:
    query = select(HourClaim).where(HourClaim.teacher_id == teacher_id)
    return _rows(session, list(session.scalars(query.order_by(HourClaim.id.desc()))))


def waiting_claims(session: Session, scope: Scope) -> int:
    """How many claims in scope wait for a decision (the navigation badge)."""
    query = scope.filter(select(func.count(HourClaim.id)), HourClaim.teacher_id)
    return int(session.scalar(query.where(HourClaim.state == ClaimState.SUBMITTED)) or 0)


def review_queue(session: Session, scope: Scope, *, recent: int = 20) -> ReviewQueue:
    """Claims in scope waiting for a decision (oldest first), and the latest decided ones."""
    if scope.role not in REVIEWER_ROLES:
        raise NotAllowed("只有培训者或管理员可以审核学时申报。")
    base = scope.filter(select(HourClaim), HourClaim.teacher_id)
    waiting = base.where(HourClaim.state == ClaimState.SUBMITTED).order_by(HourClaim.updated_at)
    done = (base.where(HourClaim.state != ClaimState.SUBMITTED)
            .order_by(HourClaim.updated_at.desc()).limit(recent))  # fmt: skip
    return ReviewQueue(_rows(session, list(session.scalars(waiting))),
                       _rows(session, list(session.scalars(done))))  # fmt: skip
