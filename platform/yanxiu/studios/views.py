"""What teachers (and hosts, as readers) see of studios: the browse page, a studio's page, the
inbox of pushed cases and a case itself.

Each function runs the queries and the access rule for one page and returns a dataclass whose
fields are the page's template context. Who may read a case is
:func:`yanxiu.studios.service.check_case_access` (a member of its studio, a teacher it was
pushed to, or its studio's host).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role
from yanxiu.accounts.scope import Account
from yanxiu.catalog.schema import STAGES
from yanxiu.errors import NotFound
from yanxiu.studios import service
from yanxiu.studios.models import CaseResource, PushDelivery, Studio


@dataclass(frozen=True)
class BrowseView:
    cards: list[service.StudioCard]
    stage: str  # as asked (kept in the filter even when it is not a known stage)
    unread: int  # the teacher's unread pushed cases (0 for a host)
    is_teacher: bool


def browse(session: Session, viewer: Account, *, stage: str = "") -> BrowseView:
    """Every studio (of ``stage`` if it is a known stage), marked joined for a teacher."""
    teacher_id = viewer.id if viewer.role == Role.TEACHER else None
    cards = service.list_studios(
        session, teacher_id=teacher_id, stage=stage if stage in STAGES else ""
    )
    unread = service.unread_count(session, viewer.id) if teacher_id else 0
    return BrowseView(cards=cards, stage=stage, unread=unread, is_teacher=teacher_id is not None)


@dataclass(frozen=True)
class StudioPage:
    card: service.StudioCard  # with all of the studio's cases
    readable: set[int]  # ids of the cases this viewer may open
    is_teacher: bool
    is_host: bool  # the viewer hosts this studio


def studio_page(session: Session, viewer: Account, studio_id: int) -> StudioPage:
    """One studio with its cases; NotFound if there is no such studio."""
    is_teacher = viewer.role == Role.TEACHER
    card = service.studio_card(session, studio_id, teacher_id=viewer.id if is_teacher else None)
    studio = session.get(Studio, studio_id)
    assert studio is not None  # studio_card just found it
    is_host = studio.host_id == viewer.id
    if is_teacher:  # a member reads every case; anyone else what was pushed to them
        pushed = {i.case_id for i in service.inbox(session, viewer.id)}
        readable = {c.id for c in card.recent_cases if card.joined or c.id in pushed}
    else:
        readable = {c.id for c in card.recent_cases} if is_host else set()
    return StudioPage(card=card, readable=readable, is_teacher=is_teacher, is_host=is_host)


@dataclass(frozen=True)
class InboxView:
    items: list[service.InboxItem]  # newest first
    unread: int

    def as_dict(self) -> dict[str, Any]:
        return {"unread": self.unread, "items": [i.as_dict() for i in self.items]}


def inbox(session: Session, teacher_id: int) -> InboxView:
    """The cases pushed to a teacher and how many of them are still unread."""
    items = service.inbox(session, teacher_id)
    return InboxView(items=items, unread=sum(i.unread for i in items))


@dataclass(frozen=True)
class CaseView:
    case: CaseResource
    studio: Studio
    blocks: list[dict[str, Any]]  # the body as headings, paragraphs, lists or transcript turns
    delivery: PushDelivery | None  # the teacher's first delivery of this case, if pushed
    completed: bool
    notes: list[str]  # the hosts' notes on the pushes of this case to the teacher
    competencies: list[tuple[str, str]]  # (id, name)
    kind_label: str
    turns: dict[str, int]  # transcript turns by speaker role
    is_teacher: bool


def readable_case(session: Session, viewer: Account, case_id: int) -> CaseResource:
    """The case, if the viewer may read it (NotFound / StudioAccessError otherwise)."""
    case = session.get(CaseResource, case_id)
    if case is None:
        raise NotFound(service.NO_CASE)
    service.check_case_access(session, user_id=viewer.id, role=viewer.role, case=case)
    return case


def case_view(session: Session, viewer: Account, case_id: int) -> CaseView:
    """A case to read (reading it changes nothing: see :func:`open_case`)."""
    case = readable_case(session, viewer, case_id)
    is_teacher = viewer.role == Role.TEACHER
    deliveries: list[PushDelivery] = []
    if is_teacher:
        deliveries = service.my_deliveries(session, viewer.id, case.id)
    blocks = service.case_blocks(case)
    studio = session.get(Studio, case.studio_id)
    assert studio is not None  # a case belongs to a studio (foreign key)
    return CaseView(
        case=case, studio=studio, blocks=blocks,
        delivery=deliveries[0] if deliveries else None,
        completed=any(d.completed_at for d in deliveries),
        notes=[d.push.note for d in deliveries if d.push.note],
        competencies=service.competency_names(session, list(case.competencies or [])),
        kind_label=service.KIND_LABELS.get(case.kind.value, case.kind.value),
        turns=service.transcript_stats(blocks), is_teacher=is_teacher,
    )  # fmt: skip


def open_case(session: Session, teacher: Account, case_id: int) -> bool:
    """The teacher opened a case pushed to them: the delivery counts as read (once). An explicit
    request the case page sends when it is shown, so a link prefetch or a crawler following
    ``GET /studios/cases/{id}`` never marks anything read."""
    case = readable_case(session, teacher, case_id)
    return service.mark_opened(session, teacher_id=teacher.id, case_id=case.id)


def complete_case(session: Session, teacher: Account, case_id: int) -> bool:
    """Mark a pushed case learnt; True if newly so (Conflict if it was never pushed to them)."""
    case = readable_case(session, teacher, case_id)
    return service.mark_completed(session, teacher_id=teacher.id, case_id=case.id)
