"""Studio services: case resources from content, membership, the teacher inbox and publishing.

Everything here works inside the caller's transaction (one request = one unit of work): a
function either makes all of its changes or raises before writing anything. Refusals are
:mod:`yanxiu.errors` kinds (not found, not allowed, conflict, invalid) with Chinese messages.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, School, SchoolLocation, User
from yanxiu.audit.service import record_audit
from yanxiu.catalog.models import Competency
from yanxiu.catalog.schema import STAGES, SUBJECTS
from yanxiu.catalog.service import SyncCounts
from yanxiu.db.base import utcnow
from yanxiu.errors import Conflict, Invalid, NotAllowed, NotFound, TooLarge
from yanxiu.safe_text import MESSAGE as SAFE_TEXT_MESSAGE
from yanxiu.safe_text import has_forbidden
from yanxiu.studios.cases import CaseIn
from yanxiu.studios.models import CaseKind, CaseResource, Push, PushDelivery, Studio, StudioMember

KIND_LABELS: dict[str, str] = {
    CaseKind.TRANSCRIPT.value: "课堂实录",
    CaseKind.LESSON_PLAN.value: "教学设计",
    CaseKind.REFLECTION.value: "教学反思",
}
LOCATION_LABELS: dict[str, str] = {
    SchoolLocation.URBAN.value: "城区",
    SchoolLocation.TOWN.value: "镇区",
    SchoolLocation.RURAL.value: "乡村",
}


def sync_cases(session: Session, cases: list[CaseIn], *, origin: str) -> SyncCounts:
    """Insert new cases and update changed ones (cases of unknown studios are skipped)."""
    counts = SyncCounts()
    studios = {s.code: s for s in session.scalars(select(Studio))}
    existing = {c.code: c for c in session.scalars(select(CaseResource))}
    for case in cases:
        studio = studios.get(case.studio)
        if studio is None:
            continue
        digest = case.content_hash()
        row = existing.get(case.id)
        if row is not None and row.content_hash == digest:
            counts.unchanged += 1
            continue
        if row is None:
            row = CaseResource(code=case.id)
            session.add(row)
            counts.created += 1
        else:
            counts.updated += 1
        row.studio_id, row.kind, row.title = studio.id, CaseKind(case.kind), case.title
        row.stage, row.subject, row.grade = case.stage, case.subject, case.grade
        row.competencies, row.summary, row.body = case.competencies, case.summary, case.body
        row.origin, row.content_hash = origin, digest
    session.flush()
    return counts


NO_STUDIO = "工作室不存在。"
NO_CASE = "案例不存在。"


class StudioAccessError(NotAllowed):
    """The user may not see or manage this studio, case or push."""


# -- browsing and membership (teachers)


@dataclass(frozen=True)
class CaseBrief:
    id: int
    title: str
    kind: str
    grade: str
    summary: str
    created_at: datetime

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass
class StudioCard:
    """One studio as the browse page and the API show it."""

    id: int
    code: str
    name: str
    stage: str
    subject: str
    description: str
    host_name: str
    host_school: str
    members: int
    cases: int
    joined: bool
    recent_cases: list[CaseBrief] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "code": self.code, "name": self.name, "stage": self.stage,
            "subject": self.subject, "description": self.description, "host": self.host_name,
            "host_school": self.host_school, "members": self.members, "cases": self.cases,
            "joined": self.joined,
            "recent_cases": [{"id": c.id, "title": c.title, "kind": c.kind} for c in self.recent_cases],
        }  # fmt: skip


def _brief(case: CaseResource) -> CaseBrief:
    return CaseBrief(
        case.id, case.title, case.kind.value, case.grade, case.summary, case.created_at
    )


def list_studios(
    session: Session,
    *,
    teacher_id: int | None = None,
    stage: str = "",
    subject: str = "",
    recent: int = 3,
) -> list[StudioCard]:
    """Studios with their host, member and case counts and latest cases (filters optional).

    Args:
        teacher_id: Marks the studios this teacher has joined.
        stage, subject: Keep studios of this stage / subject ("通用" studios match any subject).
    """
    query = select(Studio).order_by(Studio.stage, Studio.name)
    if stage:
        query = query.where(Studio.stage == stage)
    if subject:
        query = query.where(Studio.subject.in_([subject, "通用"]))
    studios = list(session.scalars(query))
    if not studios:
        return []
    ids = [s.id for s in studios]
    members = dict(
        session.execute(
            select(StudioMember.studio_id, func.count(StudioMember.id))
            .where(StudioMember.studio_id.in_(ids))
            .group_by(StudioMember.studio_id)
        ).all()
    )
    joined: set[int] = set()
    if teacher_id is not None:
        joined = set(
            session.scalars(
                select(StudioMember.studio_id).where(
                    StudioMember.teacher_id == teacher_id, StudioMember.studio_id.in_(ids)
                )
            )
        )
    cases: dict[int, list[CaseResource]] = {}
    for case in session.scalars(
        select(CaseResource)
        .where(CaseResource.studio_id.in_(ids))
        .order_by(CaseResource.created_at.desc(), CaseResource.id.desc())
    ):
        cases.setdefault(case.studio_id, []).append(case)
    hosts = {
        u.id: u
        for u in session.scalars(select(User).where(User.id.in_({s.host_id for s in studios})))
    }
    cards = []
    for s in studios:
        host = hosts.get(s.host_id)
        own = cases.get(s.id, [])
        cards.append(
            StudioCard(
                id=s.id, code=s.code, name=s.name, stage=s.stage, subject=s.subject,
                description=s.description or "", host_name=host.display_name if host else "",
                host_school=host.school.name if host and host.school else "",
                members=int(members.get(s.id, 0)), cases=len(own), joined=s.id in joined,
                recent_cases=[_brief(c) for c in own[:recent]],
            )
        )  # fmt: skip
    return cards


def studio_card(session: Session, studio_id: int, *, teacher_id: int | None = None) -> StudioCard:
    """One studio's card with all its cases (NotFound if there is no such studio)."""
    studio = session.get(Studio, studio_id)
    if studio is None:
        raise NotFound(NO_STUDIO)
    for card in list_studios(session, teacher_id=teacher_id, recent=10_000):
        if card.id == studio_id:
            return card
    raise NotFound(NO_STUDIO)  # pragma: no cover - the studio was just read


def is_member(session: Session, studio_id: int, teacher_id: int) -> bool:
    return (
        session.scalar(
            select(StudioMember.id).where(
                StudioMember.studio_id == studio_id, StudioMember.teacher_id == teacher_id
            )
        )
        is not None
    )


def join_studio(session: Session, *, studio_id: int, teacher_id: int) -> bool:
    """Make the teacher a member; True if they just joined, False if they already were."""
    if session.get(Studio, studio_id) is None:
        raise NotFound(NO_STUDIO)
    if is_member(session, studio_id, teacher_id):
        return False
    try:
        with session.begin_nested():  # a concurrent double click hits the unique constraint
            session.add(StudioMember(studio_id=studio_id, teacher_id=teacher_id))
            session.flush()
    except IntegrityError:
        return False
    record_audit(session, actor_id=teacher_id, action="studio.join", entity="studio",
                 entity_id=studio_id)  # fmt: skip
    return True


# -- the inbox of pushed cases


@dataclass(frozen=True)
class InboxItem:
    delivery_id: int
    push_id: int
    case_id: int
    title: str
    kind: str
    summary: str
    studio_name: str
    host_name: str
    note: str
    delivered_at: datetime
    opened_at: datetime | None
    completed_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.opened_at is None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def status(self) -> str:
        if self.completed_at is not None:
            return "已学完"
        return "未读" if self.opened_at is None else "已读"

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id, "push_id": self.push_id, "case_id": self.case_id,
            "title": self.title, "kind": self.kind, "summary": self.summary,
            "studio": self.studio_name, "host": self.host_name, "note": self.note,
            "delivered_at": self.delivered_at.isoformat(),
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "unread": self.unread, "status": self.status,
        }  # fmt: skip


def inbox(session: Session, teacher_id: int, *, limit: int = 200) -> list[InboxItem]:
    """Cases pushed to the teacher, newest first."""
    rows = session.execute(
        select(PushDelivery, Push, CaseResource, Studio, User)
        .join(Push, Push.id == PushDelivery.push_id)
        .join(CaseResource, CaseResource.id == Push.case_id)
        .join(Studio, Studio.id == Push.studio_id)
        .join(User, User.id == Studio.host_id)
        .where(PushDelivery.teacher_id == teacher_id)
        .order_by(PushDelivery.delivered_at.desc(), PushDelivery.id.desc())
        .limit(limit)
    ).all()
    return [
        InboxItem(
            delivery_id=d.id, push_id=p.id, case_id=c.id, title=c.title, kind=c.kind.value,
            summary=c.summary, studio_name=s.name, host_name=h.display_name, note=p.note or "",
            delivered_at=d.delivered_at, opened_at=d.opened_at, completed_at=d.completed_at,
        )
        for d, p, c, s, h in rows
    ]  # fmt: skip


def unread_count(session: Session, teacher_id: int) -> int:
    """Pushed cases the teacher has not opened yet (the inbox badge)."""
    return int(
        session.scalar(
            select(func.count(PushDelivery.id)).where(
                PushDelivery.teacher_id == teacher_id, PushDelivery.opened_at.is_(None)
            )
        )
        or 0
    )


def my_deliveries(session: Session, teacher_id: int, case_id: int) -> list[PushDelivery]:
    """The teacher's deliveries of one case (normally one), oldest first."""
    return list(
        session.scalars(
            select(PushDelivery)
            .join(Push, Push.id == PushDelivery.push_id)
            .where(PushDelivery.teacher_id == teacher_id, Push.case_id == case_id)
            .order_by(PushDelivery.id)
        )
    )


def check_case_access(session: Session, *, user_id: int, role: Role, case: CaseResource) -> None:
    """Raise :class:`StudioAccessError` unless the user may read the case.

    A teacher reads a case of a studio they belong to, or one pushed to them; a host reads
    the cases of the studios they host; nobody else reads cases here.
    """
    if role == Role.TEACHER:
        if is_member(session, case.studio_id, user_id) or my_deliveries(session, user_id, case.id):
            return
    elif role == Role.HOST:
        studio = session.get(Studio, case.studio_id)
        if studio is not None and studio.host_id == user_id:
            return
    raise StudioAccessError("无权访问：您不是该工作室成员，且这个案例没有推送给您。")


def mark_opened(
    session: Session, *, teacher_id: int, case_id: int, when: datetime | None = None
) -> bool:
    """Record the first opening of a pushed case; True if any delivery was newly opened."""
    changed = False
    for delivery in my_deliveries(session, teacher_id, case_id):
        if delivery.opened_at is None:
            delivery.opened_at = when or utcnow()
            changed = True
    if changed:
        session.flush()
    return changed


def mark_completed(
    session: Session, *, teacher_id: int, case_id: int, when: datetime | None = None
) -> bool:
    """Record that the teacher finished a pushed case (it counts as opened too).

    Returns True if a delivery was newly completed, False if it already was.

    Raises:
        Conflict: The case was never pushed to this teacher.
    """
    deliveries = my_deliveries(session, teacher_id, case_id)
    if not deliveries:
        raise Conflict("这个案例不是推送给您的，无需标记完成。")
    now = when or utcnow()
    changed = False
    for delivery in deliveries:
        if delivery.opened_at is None:
            delivery.opened_at = now
        if delivery.completed_at is None:
            delivery.completed_at = now
            changed = True
    if changed:
        session.flush()
        record_audit(session, actor_id=teacher_id, action="studio.case.complete",
                     entity="case_resource", entity_id=case_id)  # fmt: skip
    return changed


# -- hosts


def host_studios(session: Session, host_id: int) -> list[Studio]:
    return list(
        session.scalars(select(Studio).where(Studio.host_id == host_id).order_by(Studio.id))
    )


def host_studio(session: Session, host_id: int, studio_id: int | None = None) -> Studio | None:
    """The host's studio ``studio_id`` (or their first one, None if they host none).

    Raises:
        NotFound: No such studio.
        StudioAccessError: Someone else's studio.
    """
    if studio_id is None:
        own = host_studios(session, host_id)
        return own[0] if own else None
    studio = session.get(Studio, studio_id)
    if studio is None:
        raise NotFound(NO_STUDIO)
    if studio.host_id != host_id:
        raise StudioAccessError("无权访问：您只能管理自己主持的工作室。")
    return studio


def host_case(session: Session, host_id: int, case_id: int) -> CaseResource:
    """A case of one of the host's studios (NotFound / StudioAccessError otherwise)."""
    case = session.get(CaseResource, case_id)
    if case is None:
        raise NotFound(NO_CASE)
    studio = session.get(Studio, case.studio_id)
    if studio is None or studio.host_id != host_id:
        raise StudioAccessError("无权访问：您只能推送自己工作室的案例。")
    return case


@dataclass(frozen=True)
class MemberRow:
    teacher_id: int
    username: str
    name: str
    school: str
    county: str
    location: str
    is_weak: bool
    joined_at: datetime

    @property
    def location_label(self) -> str:
        return LOCATION_LABELS.get(self.location, self.location)


def studio_members(session: Session, studio_id: int) -> list[MemberRow]:
    rows = session.execute(
        select(StudioMember, User)
        .join(User, User.id == StudioMember.teacher_id)
        .where(StudioMember.studio_id == studio_id)
        .order_by(StudioMember.joined_at.desc(), StudioMember.id.desc())
    ).all()
    out = []
    for member, user in rows:
        school: School | None = user.school
        out.append(
            MemberRow(
                teacher_id=user.id, username=user.username, name=user.display_name,
                school=school.name if school else "", county=school.county.name if school else "",
                location=school.location.value if school else "", is_weak=bool(school and school.is_weak),
                joined_at=member.joined_at,
            )
        )  # fmt: skip
    return out


def studio_cases(session: Session, studio_id: int) -> list[CaseResource]:
    return list(
        session.scalars(
            select(CaseResource)
            .where(CaseResource.studio_id == studio_id)
            .order_by(CaseResource.created_at.desc(), CaseResource.id.desc())
        )
    )


def case_push_counts(session: Session, studio_id: int) -> dict[int, int]:
    """Case id -> teachers it has been delivered to (over all pushes)."""
    return {
        cid: int(n)
        for cid, n in session.execute(
            select(Push.case_id, func.count(PushDelivery.id))
            .join(PushDelivery, PushDelivery.push_id == Push.id)
            .where(Push.studio_id == studio_id)
            .group_by(Push.case_id)
        )
    }


# -- publishing a case resource


TITLE_LIMITS = (4, 200)
SUMMARY_LIMITS = (10, 600)
BODY_MIN = 100
BODY_MAX = 200_000
MAX_COMPETENCIES = 6
CASE_FILE_SUFFIXES = (".txt", ".md", ".docx", ".srt", ".vtt", ".json")


@dataclass
class CaseDraft:
    """A host's case as typed in the form (validated by :func:`validate_case_draft`)."""

    title: str = ""
    kind: str = ""
    stage: str = ""
    subject: str = ""
    grade: str = ""
    summary: str = ""
    body: str = ""
    competencies: list[str] = field(default_factory=list)


def case_text_from_file(data: bytes, filename: str, kind: str) -> str:
    """The text of an uploaded case file (.txt/.md/.docx; transcripts also .srt/.vtt/.json).

    Raises:
        Invalid: Unsupported, empty or unreadable file (``fields["file"]`` says why).
        TooLarge: The file is over the upload limit.
    """
    from yanxiu.practice.parse import MAX_BYTES, decode_text, docx_lines, parse_transcript

    def bad_file(message: str, error: type[Invalid] = Invalid) -> Invalid:
        return error(message, fields={"file": message})

    suffix = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    if suffix not in CASE_FILE_SUFFIXES:
        raise bad_file(f"不支持“{suffix or filename}”文件，请上传 .txt、.md 或 .docx 文件")
    if len(data) > MAX_BYTES:
        raise bad_file(f"文件{len(data) / 1048576:.1f} MB，超过2 MB上限", TooLarge)
    if not data.strip():
        raise bad_file("上传的文件是空的")
    if suffix in (".srt", ".vtt", ".json") and kind != CaseKind.TRANSCRIPT.value:
        raise bad_file("字幕或 JSON 文件只能作为课堂实录上传")
    try:
        if kind == CaseKind.TRANSCRIPT.value and suffix in (".srt", ".vtt", ".json", ".docx"):
            return transcript_text(parse_transcript(data, filename))
        if suffix == ".docx":
            return "\n".join(docx_lines(data, mark_headings=kind == CaseKind.LESSON_PLAN.value))
        return decode_text(data)
    except ValueError as exc:  # TranscriptError, or a malformed subtitle / JSON file
        raise bad_file(str(exc)) from None


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def transcript_text(utterances: list[Any]) -> str:
    """Utterances back to the case format: ``[hh:mm:ss] 师：…`` (no stamp if there was none)."""
    lines = []
    for u in utterances:
        stamp = f"[{_clock(u.start_s)}] " if u.start_s is not None else ""
        lines.append(f"{stamp}{u.speaker_label}：{u.text}")
    return "\n".join(lines)


def competency_choices(session: Session) -> list[tuple[str, str, str]]:
    """(id, name, group) of every competency, for the publish form."""
    return [
        (c.id, c.name, c.group)
        for c in session.scalars(select(Competency).order_by(Competency.group, Competency.id))
    ]


def validate_case_draft(session: Session, draft: CaseDraft) -> dict[str, str]:
    """Field -> Chinese error message; empty when the draft can be published."""
    errors: dict[str, str] = {}
    draft.title = draft.title.strip()
    draft.summary = draft.summary.strip()
    draft.grade = draft.grade.strip()
    draft.body = draft.body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not TITLE_LIMITS[0] <= len(draft.title) <= TITLE_LIMITS[1]:
        errors["title"] = f"标题应为 {TITLE_LIMITS[0]}–{TITLE_LIMITS[1]} 个字。"
    for name in ("title", "grade", "summary"):
        if has_forbidden(getattr(draft, name)):
            errors[name] = f"{SAFE_TEXT_MESSAGE}。"
    if draft.kind not in KIND_LABELS:
        errors["kind"] = "请选择案例类型（课堂实录、教学设计或教学反思）。"
    if draft.stage not in STAGES:
        errors["stage"] = "请选择学段。"
    if draft.subject not in SUBJECTS:
        errors["subject"] = "请选择学科。"
    if len(draft.grade) > 16:
        errors["grade"] = "年级不超过 16 个字。"
    if not SUMMARY_LIMITS[0] <= len(draft.summary) <= SUMMARY_LIMITS[1]:
        errors["summary"] = (
            f"内容简介应为 {SUMMARY_LIMITS[0]}–{SUMMARY_LIMITS[1]} 个字，说明这个案例可以学什么。"
        )
    known = {cid for cid, _, _ in competency_choices(session)}
    draft.competencies = list(dict.fromkeys(c for c in draft.competencies if c))
    unknown = [c for c in draft.competencies if c not in known]
    if unknown:
        errors["competencies"] = f"未知的能力点：{'、'.join(unknown)}。"
    elif len(draft.competencies) > MAX_COMPETENCIES:
        errors["competencies"] = f"最多选择 {MAX_COMPETENCIES} 个能力点。"
    if "body" not in errors:
        if len(draft.body) < BODY_MIN:
            errors["body"] = f"正文至少 {BODY_MIN} 个字（粘贴全文或上传文件）。"
        elif len(draft.body) > BODY_MAX:
            errors["body"] = f"正文不超过 {BODY_MAX} 个字。"
        elif draft.kind == CaseKind.TRANSCRIPT.value:
            problem = _transcript_problem(draft.body)
            if problem:
                errors["body"] = problem
    return errors


def _transcript_problem(body: str) -> str:
    from yanxiu.practice.parse import TranscriptError, parse_transcript

    try:
        utterances = parse_transcript(body.encode("utf-8"), "case.txt")
    except TranscriptError as exc:
        return f"课堂实录格式有误：{exc}"
    if not any(u.speaker_role == "teacher" for u in utterances):
        return "课堂实录中没有教师发言（以“师：”开头的行）。"
    return ""


def _next_case_code(session: Session, studio: Studio) -> str:
    prefix = f"{studio.code}-U"
    codes = session.scalars(select(CaseResource.code).where(CaseResource.code.like(f"{prefix}%")))
    numbers = [int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def publish_case(
    session: Session, *, studio: Studio, author: User, draft: CaseDraft
) -> CaseResource:
    """Store a host's case (all fields or nothing) and audit it.

    Raises:
        Invalid: The draft is invalid; ``fields`` maps each wrong field to its message.
    """
    errors = validate_case_draft(session, draft)
    if errors:
        raise Invalid("案例信息有误", fields=errors)
    payload = json.dumps(draft.__dict__, ensure_ascii=False, sort_keys=True)
    case = CaseResource(
        code=_next_case_code(session, studio), studio_id=studio.id, kind=CaseKind(draft.kind),
        title=draft.title, stage=draft.stage, subject=draft.subject, grade=draft.grade,
        competencies=draft.competencies, summary=draft.summary, body=draft.body,
        origin=f"工作室发布：{author.display_name}",
        content_hash=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
    )  # fmt: skip
    session.add(case)
    session.flush()
    record_audit(session, actor_id=author.id, action="studio.case.publish", entity="case_resource",
                 entity_id=case.id, detail={"studio": studio.code, "code": case.code, "kind": draft.kind})  # fmt: skip
    return case


# -- reading a case


_PLAN_HEADING = re.compile(r"^#{1,6}\s*(.+?)\s*#*$|^【(.+?)】\s*$")
_LIST_ITEM = re.compile(r"^(?:[-*•]\s+|\d+[.、．]\s*)(.+)$")


def case_blocks(case: CaseResource) -> list[dict[str, Any]]:
    """The case body as blocks for the template (never raw HTML).

    Transcripts become ``{"type": "turn", "time", "speaker", "role", "text"}`` rows; lesson
    plans and reflections become headings, paragraphs and lists.
    """
    if case.kind == CaseKind.TRANSCRIPT:
        from yanxiu.practice.parse import TranscriptError, parse_transcript

        try:
            utterances = parse_transcript(case.body.encode("utf-8"), "case.txt")
        except TranscriptError:
            utterances = []
        if utterances:
            return [
                {"type": "turn", "time": _clock(u.start_s) if u.start_s is not None else "",
                 "speaker": u.speaker_label, "role": u.speaker_role, "text": u.text,
                 "action": u.is_action}
                for u in utterances
            ]  # fmt: skip
    blocks: list[dict[str, Any]] = []
    for raw in case.body.split("\n"):
        line = raw.strip()
        if not line:
            blocks.append({"type": "break"})
            continue
        heading = _PLAN_HEADING.match(line)
        item = _LIST_ITEM.match(line)
        if heading:
            blocks.append(
                {"type": "heading", "text": (heading.group(1) or heading.group(2)).strip()}
            )
        elif item and case.kind == CaseKind.LESSON_PLAN:
            ordered = line[0].isdigit()
            if blocks and blocks[-1]["type"] == "list" and blocks[-1]["ordered"] == ordered:
                blocks[-1]["items"].append(item.group(1))
            else:
                blocks.append({"type": "list", "ordered": ordered, "items": [item.group(1)]})
        elif blocks and blocks[-1]["type"] == "para":
            blocks[-1]["text"] += "\n" + line
        else:
            blocks.append({"type": "para", "text": line})
    return [b for b in blocks if b["type"] != "break"]


def transcript_stats(blocks: list[dict[str, Any]]) -> dict[str, int]:
    """Turns by speaker role, for the line above a transcript."""
    counts = Counter(b["role"] for b in blocks if b["type"] == "turn")
    return {
        "teacher": counts.get("teacher", 0),
        "student": counts.get("student", 0) + counts.get("students", 0),
    }


def competency_names(session: Session, ids: list[str]) -> list[tuple[str, str]]:
    if not ids:
        return []
    names = dict(
        session.execute(select(Competency.id, Competency.name).where(Competency.id.in_(ids))).all()
    )
    return [(cid, names.get(cid, cid)) for cid in ids]
