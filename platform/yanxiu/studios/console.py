"""What a studio host works with: the console, publishing a case, the push wizard and the
analytics of a push.

Each function checks that the studio, case or push is the host's own (NotFound /
:class:`~yanxiu.studios.service.StudioAccessError` otherwise), runs the queries for one page
and returns a dataclass whose fields are the page's template context. Whom a host may push to
is their :class:`~yanxiu.accounts.scope.Scope` plus their studio's members
(:mod:`yanxiu.studios.push`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from yanxiu.accounts.models import User
from yanxiu.errors import Invalid, NotAllowed, NotFound
from yanxiu.search.embed import Embedder
from yanxiu.search.embed_cache import EmbeddingCache
from yanxiu.studios import push as pushes
from yanxiu.studios import service
from yanxiu.studios.models import CaseResource, Push, Studio
from yanxiu.studios.push_analytics import (
    PushStats,
    PushSummary,
    Recipient,
    push_recipients,
    push_stats,
    recent_pushes,
)

NO_STUDIO_TO_PUBLISH = "无权访问：您还没有主持的工作室，无法发布案例。"
COMPETENCY_GROUPS = {
    "practice": "课堂教学实践", "subject": "学科专业素养", "homeroom": "班主任工作",
    "psychology": "心理健康教育", "research": "教研能力", "it": "信息技术应用",
    "induction": "新教师入职", "ethics": "师德师风",
}  # fmt: skip


def host_user(session: Session, host_id: int) -> User:
    """The host's account row (pushes are made and audited in its name)."""
    host = session.get(User, host_id)
    if host is None:  # pragma: no cover - the session middleware reloads the user
        raise NotAllowed("无权访问")
    return host


def _studio_of(session: Session, case: CaseResource) -> Studio:
    studio = session.get(Studio, case.studio_id)
    assert studio is not None  # a case belongs to a studio (foreign key)
    return studio


# -- the console


@dataclass(frozen=True)
class ConsoleView:
    studio: Studio | None  # None: the host has no studio yet
    own: list[Studio]  # every studio the host hosts (to switch between them)
    members: list[service.MemberRow]
    cases: list[CaseResource]
    pushes: list[PushSummary]  # the latest ten (the template's name for them)
    pushed_counts: dict[int, int]  # case id -> teachers it was delivered to
    open_rate: float | None  # over the latest pushes; None before anything was delivered
    priority_members: int  # members from rural or weak schools


def overview(session: Session, host_id: int, studio_id: int | None = None) -> ConsoleView:
    """The host's studio ``studio_id`` (default: their first) with members, cases and pushes."""
    studio = service.host_studio(session, host_id, studio_id)
    own = service.host_studios(session, host_id)
    if studio is None:
        return ConsoleView(None, own, [], [], [], {}, None, 0)
    members = service.studio_members(session, studio.id)
    recent = recent_pushes(session, [studio.id], limit=10)
    delivered = sum(p.delivered for p in recent)
    return ConsoleView(
        studio=studio, own=own, members=members, cases=service.studio_cases(session, studio.id),
        pushes=recent, pushed_counts=service.case_push_counts(session, studio.id),
        open_rate=sum(p.opened for p in recent) / delivered if delivered else None,
        priority_members=sum(m.location == "rural" or m.is_weak for m in members),
    )  # fmt: skip


# -- publishing a case


@dataclass(frozen=True)
class CaseForm:
    draft: service.CaseDraft
    errors: dict[str, str]  # field -> what is wrong with it
    own: list[Studio]
    studio_id: int
    groups: dict[str, list[tuple[str, str]]]  # competency group -> (id, name), non-empty only
    open_groups: set[str]  # groups shown unfolded: practice, and those with a ticked item


def _publishing_studio(session: Session, host_id: int, studio_id: int | None) -> Studio:
    studio = service.host_studio(session, host_id, studio_id)
    if studio is None:
        raise NotAllowed(NO_STUDIO_TO_PUBLISH)
    return studio


def case_form(
    session: Session,
    host_id: int,
    studio_id: int | None = None,
    draft: service.CaseDraft | None = None,
    errors: dict[str, str] | None = None,
) -> CaseForm:
    """The publish form: empty (the studio's stage and subject), or as sent with its errors."""
    studio = _publishing_studio(session, host_id, studio_id)
    draft = draft or service.CaseDraft(stage=studio.stage, subject=studio.subject)
    groups: dict[str, list[tuple[str, str]]] = {g: [] for g in COMPETENCY_GROUPS}
    for cid, name, group in service.competency_choices(session):
        groups.setdefault(group, []).append((cid, name))
    groups = {g: items for g, items in groups.items() if items}
    ticked = {
        g for g, items in groups.items() if any(cid in draft.competencies for cid, _ in items)
    }
    return CaseForm(
        draft=draft, errors=dict(errors or {}), own=service.host_studios(session, host_id),
        studio_id=studio.id, groups=groups, open_groups={"practice"} | ticked,
    )  # fmt: skip


def publish(
    session: Session,
    host_id: int,
    studio_id: int | None,
    draft: service.CaseDraft,
    upload: tuple[bytes, str] | None = None,
) -> CaseResource:
    """Publish a host's case; an uploaded file (data, name) replaces the typed body.

    Raises:
        Invalid: Something is wrong; ``fields`` lists every wrong field at once (an unusable
            file as ``file``, with the other fields' problems beside it).
        NotAllowed: The host hosts no studio, or not this one.
    """
    studio = _publishing_studio(session, host_id, studio_id)
    if upload is not None:
        try:
            draft.body = service.case_text_from_file(*upload, draft.kind)
        except Invalid as exc:  # still report every other field's problem at once
            others = service.validate_case_draft(session, draft)
            others.pop("body", None)
            raise Invalid("案例信息有误", fields={**others, **exc.fields}) from None
    return service.publish_case(
        session, studio=studio, author=host_user(session, host_id), draft=draft
    )


# -- the push wizard


class WizardFilters(BaseModel):
    """The wizard's filter form as the browser sends it: blank or unusable values fall back
    to the defaults, and the case's own stage and subject apply until the host has used the
    form (``filtered=1``)."""

    filtered: str = Field("", max_length=2)
    stage: str | None = Field(None, max_length=16)
    subject: str | None = Field(None, max_length=16)
    county_id: str | None = Field(None, max_length=12)
    location: list[str] = Field(default_factory=list)
    weak_only: str | None = Field(None, max_length=5)
    scope: str | None = Field(None, max_length=8)
    size: str | None = Field(None, max_length=4)

    def for_case(self, case: CaseResource) -> pushes.AudienceFilters:
        touched = self.filtered == "1"
        base = pushes.AudienceFilters.for_case(case)
        return pushes.AudienceFilters(
            stage=(self.stage or "") if touched or self.stage is not None else base.stage,
            subject=(self.subject or "") if touched or self.subject is not None else base.subject,
            county_id=int_or_none(self.county_id), locations=tuple(self.location),
            weak_only=(self.weak_only or "").lower() in ("1", "true", "on", "yes"),
            scope="members" if self.scope == "members" else "region",
            size=int_or_none(self.size) or pushes.DEFAULT_SIZE,
        ).clean()  # fmt: skip


class AudienceQuery(BaseModel):
    """The audience API's filters, typed (a wrong value is refused, not defaulted)."""

    stage: str | None = Field(
        None, max_length=16, description="Default: the case's stage; empty: any"
    )
    subject: str | None = Field(
        None, max_length=16, description="Default: the case's subject; empty: any"
    )
    county_id: int | None = None
    location: list[str] = Field([], description="urban / town / rural, repeatable")
    weak_only: bool = False
    scope: str = Field("region", pattern="^(region|members)$")
    size: int = Field(pushes.DEFAULT_SIZE, ge=1, le=pushes.MAX_SIZE)

    def for_case(self, case: CaseResource) -> pushes.AudienceFilters:
        base = pushes.AudienceFilters.for_case(case)
        return pushes.AudienceFilters(
            stage=base.stage if self.stage is None else self.stage,
            subject=base.subject if self.subject is None else self.subject,
            county_id=self.county_id, locations=tuple(self.location),
            weak_only=self.weak_only, scope="members" if self.scope == "members" else "region",
            size=self.size,
        )  # fmt: skip


def int_or_none(value: str | None) -> int | None:
    """A number typed in a form or link; None for blank or anything else."""
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class Audience:
    case: CaseResource
    preview: pushes.AudiencePreview


def audience(
    session: Session,
    host_id: int,
    case_id: int,
    filters: WizardFilters | AudienceQuery,
    *,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> Audience:
    """The suggested recipients of one of the host's cases, ranked by need."""
    case = service.host_case(session, host_id, case_id)
    preview = pushes.rank_audience(
        session, studio=_studio_of(session, case), case=case, host=host_user(session, host_id),
        embedder=embedder, filters=filters.for_case(case), cache=cache,
    )  # fmt: skip
    return Audience(case, preview)


@dataclass(frozen=True)
class WizardView:
    own: list[Studio]
    cases: list[CaseResource]  # every case of the host's studios
    case: CaseResource | None  # the chosen case (default: the newest)
    filters: pushes.AudienceFilters | None
    preview: pushes.AudiencePreview | None
    counties: list[tuple[int, str]]  # (id, name) of the counties in the host's reach


def wizard(
    session: Session,
    host_id: int,
    case_id: int | None,
    filters: WizardFilters,
    *,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> WizardView:
    """The push wizard: the host's cases, the chosen one and its ranked audience."""
    own = service.host_studios(session, host_id)
    cases = [c for s in own for c in service.studio_cases(session, s.id)]
    case = service.host_case(session, host_id, case_id) if case_id else None
    case = case or (cases[0] if cases else None)
    ranked = None
    if case is not None:
        ranked = audience(session, host_id, case.id, filters, embedder=embedder, cache=cache)
    return WizardView(
        own=own, cases=cases, case=case, filters=ranked.preview.filters if ranked else None,
        preview=ranked.preview if ranked else None,
        counties=pushes.counties_in_reach(session, host_user(session, host_id)),
    )  # fmt: skip


def selection_reach(
    session: Session, host_id: int, case_id: int, teacher_ids: Sequence[int]
) -> pushes.Reach:
    """The reach of the teachers the host has ticked for one of their cases."""
    case = service.host_case(session, host_id, case_id)
    return pushes.reach_for_ids(
        session, _studio_of(session, case), host_user(session, host_id),
        teacher_ids[: pushes.MAX_SIZE],
    )  # fmt: skip


@dataclass(frozen=True)
class Sent:
    case: CaseResource
    result: pushes.PushResult


def send(
    session: Session, host_id: int, case_id: int, teacher_ids: Sequence[int], note: str = ""
) -> Sent:
    """Push one of the host's cases to the chosen teachers (PushError: nothing was sent)."""
    case = service.host_case(session, host_id, case_id)
    result = pushes.create_push(
        session, studio=_studio_of(session, case), case=case, host=host_user(session, host_id),
        teacher_ids=teacher_ids, note=note,
    )  # fmt: skip
    return Sent(case, result)


# -- analytics of one push


@dataclass(frozen=True)
class PushAnalytics:
    push: Push
    case: CaseResource
    studio: Studio
    stats: PushStats
    chart: dict[str, Any]  # Chart.js spec, by school location
    recipients: list[Recipient]


def location_chart(stats: PushStats) -> dict[str, Any]:
    """Chart.js bar spec: delivered / opened / completed by school location."""
    order = ["rural", "town", "urban"]
    labels = [service.LOCATION_LABELS[k] for k in order]
    series = (("已送达", 0, "#9aa5b1"), ("已打开", 1, "#0b6e4f"), ("已学完", 2, "#f0b429"))
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": [
            {"label": name, "data": [stats.by_location[k][i] for k in order], "backgroundColor": color}
            for name, i, color in series
        ]},
        "options": {"plugins": {"legend": {"position": "bottom"}},
                    "scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0},
                                     "title": {"display": True, "text": "教师人数"}}}},
    }  # fmt: skip


def push_analytics(session: Session, host_id: int, push_id: int) -> PushAnalytics:
    """Who received one of the host's pushes and how far they got."""
    push = session.get(Push, push_id)
    if push is None:
        raise NotFound("推送记录不存在。")
    studio = session.get(Studio, push.studio_id)
    if studio is None or studio.host_id != host_id:
        raise service.StudioAccessError("无权访问：您只能查看自己工作室的推送。")
    stats = push_stats(session, push.id)
    return PushAnalytics(
        push=push, case=push.case, studio=studio, stats=stats, chart=location_chart(stats),
        recipients=push_recipients(session, push.id),
    )  # fmt: skip
