"""What happened after a push (推送分析): opened and completed, by school type and over time,
and the latest pushes of a studio with their recipients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, School, SchoolLocation, User
from yanxiu.studios.models import CaseResource, Push, PushDelivery
from yanxiu.studios.service import LOCATION_LABELS


@dataclass(frozen=True)
class SchoolStats:
    school: str
    county: str
    location: str
    is_weak: bool
    delivered: int
    opened: int
    completed: int

    @property
    def location_label(self) -> str:
        return LOCATION_LABELS.get(self.location, "—")

    def as_dict(self) -> dict[str, Any]:
        return {"school": self.school, "county": self.county, "location": self.location,
                "weak_school": self.is_weak, "delivered": self.delivered, "opened": self.opened,
                "completed": self.completed}  # fmt: skip


@dataclass(frozen=True)
class PushStats:
    push_id: int
    delivered: int
    opened: int
    completed: int
    rural_recipients: int
    weak_recipients: int
    priority_recipients: int
    rural_openers: int
    weak_openers: int
    priority_openers: int
    schools: list[SchoolStats]
    by_location: dict[str, tuple[int, int, int]]  # location -> (delivered, opened, completed)

    @staticmethod
    def _rate(n: int, d: int) -> float:
        return n / d if d else 0.0

    @property
    def open_rate(self) -> float:
        return self._rate(self.opened, self.delivered)

    @property
    def completion_rate(self) -> float:
        return self._rate(self.completed, self.delivered)

    @property
    def rural_share(self) -> float:
        return self._rate(self.rural_recipients, self.delivered)

    @property
    def weak_share(self) -> float:
        return self._rate(self.weak_recipients, self.delivered)

    @property
    def priority_share(self) -> float:
        return self._rate(self.priority_recipients, self.delivered)

    @property
    def rural_share_of_openers(self) -> float:
        return self._rate(self.rural_openers, self.opened)

    @property
    def weak_share_of_openers(self) -> float:
        return self._rate(self.weak_openers, self.opened)

    @property
    def priority_share_of_openers(self) -> float:
        return self._rate(self.priority_openers, self.opened)

    def as_dict(self) -> dict[str, Any]:
        return {
            "push_id": self.push_id, "delivered": self.delivered, "opened": self.opened,
            "completed": self.completed, "open_rate": round(self.open_rate, 4),
            "completion_rate": round(self.completion_rate, 4),
            "recipients": {"rural": self.rural_recipients, "weak": self.weak_recipients,
                           "rural_share": round(self.rural_share, 4), "weak_share": round(self.weak_share, 4),
                           "priority_share": round(self.priority_share, 4)},
            "openers": {"rural": self.rural_openers, "weak": self.weak_openers,
                        "rural_share": round(self.rural_share_of_openers, 4),
                        "weak_share": round(self.weak_share_of_openers, 4),
                        "priority_share": round(self.priority_share_of_openers, 4)},
            "by_location": {k: {"delivered": d, "opened": o, "completed": c}
                            for k, (d, o, c) in self.by_location.items()},
            "schools": [s.as_dict() for s in self.schools],
        }  # fmt: skip


def push_stats(session: Session, push_id: int) -> PushStats:
    """Delivered / opened / completed for one push, overall, by school and by location."""
    rows = session.execute(
        select(PushDelivery.opened_at, PushDelivery.completed_at, School, Region.name)
        .join(User, User.id == PushDelivery.teacher_id)
        .outerjoin(School, School.id == User.school_id)
        .outerjoin(Region, Region.id == School.county_id)
        .where(PushDelivery.push_id == push_id)
    ).all()
    per_school: dict[int | None, list[Any]] = {}
    by_location: dict[str, list[int]] = {loc.value: [0, 0, 0] for loc in SchoolLocation}
    totals = dict.fromkeys(("d", "o", "c", "rd", "wd", "pd", "ro", "wo", "po"), 0)
    for opened_at, completed_at, school, county in rows:
        rural = bool(school is not None and school.location == SchoolLocation.RURAL)
        weak = bool(school is not None and school.is_weak)
        opened, completed = opened_at is not None, completed_at is not None
        totals["d"] += 1
        totals["o"] += opened
        totals["c"] += completed
        totals["rd"] += rural
        totals["wd"] += weak
        totals["pd"] += rural or weak
        if opened:
            totals["ro"] += rural
            totals["wo"] += weak
            totals["po"] += rural or weak
        key = school.id if school is not None else None
        entry = per_school.setdefault(
            key,
            [school.name if school else "（未登记学校）", county or "", school.location.value if school else "",
             weak, 0, 0, 0],
        )  # fmt: skip
        entry[4] += 1
        entry[5] += opened
        entry[6] += completed
        if school is not None:
            loc = by_location[school.location.value]
            loc[0] += 1
            loc[1] += opened
            loc[2] += completed
    schools = sorted(
        (SchoolStats(*entry) for entry in per_school.values()),
        key=lambda s: (-s.delivered, s.location != SchoolLocation.RURAL.value, s.school),
    )
    return PushStats(
        push_id=push_id, delivered=totals["d"], opened=totals["o"], completed=totals["c"],
        rural_recipients=totals["rd"], weak_recipients=totals["wd"], priority_recipients=totals["pd"],
        rural_openers=totals["ro"], weak_openers=totals["wo"], priority_openers=totals["po"],
        schools=schools, by_location={k: (v[0], v[1], v[2]) for k, v in by_location.items()},
    )  # fmt: skip


@dataclass(frozen=True)
class PushSummary:
    push_id: int
    case_id: int
    case_title: str
    created_at: datetime
    note: str
    delivered: int
    opened: int
    completed: int

    @property
    def open_rate(self) -> float:
        return self.opened / self.delivered if self.delivered else 0.0

    @property
    def completion_rate(self) -> float:
        return self.completed / self.delivered if self.delivered else 0.0


def recent_pushes(
    session: Session, studio_ids: Sequence[int], *, limit: int = 20
) -> list[PushSummary]:
    """A studio's pushes, newest first, with their delivery counts."""
    if not studio_ids:
        return []
    rows = session.execute(
        select(
            Push.id, Push.case_id, CaseResource.title, Push.created_at, Push.note,
            func.count(PushDelivery.id), func.count(PushDelivery.opened_at),
            func.count(PushDelivery.completed_at),
        )
        .join(CaseResource, CaseResource.id == Push.case_id)
        .outerjoin(PushDelivery, PushDelivery.push_id == Push.id)
        .where(Push.studio_id.in_(list(studio_ids)))
        .group_by(Push.id, Push.case_id, CaseResource.title, Push.created_at, Push.note)
        .order_by(Push.created_at.desc(), Push.id.desc())
        .limit(limit)
    ).all()  # fmt: skip
    return [
        PushSummary(int(pid), int(cid), str(title), created, note or "", int(d), int(o), int(c))
        for pid, cid, title, created, note, d, o, c in rows
    ]


@dataclass(frozen=True)
class Recipient:
    teacher_id: int
    name: str
    school: str
    location: str
    is_weak: bool
    delivered_at: datetime
    opened_at: datetime | None
    completed_at: datetime | None

    @property
    def location_label(self) -> str:
        return LOCATION_LABELS.get(self.location, "—")

    @property
    def status(self) -> str:
        if self.completed_at is not None:
            return "已学完"
        return "已打开" if self.opened_at is not None else "未打开"


def push_recipients(session: Session, push_id: int) -> list[Recipient]:
    """Who received a push and how far they got (priority schools first, then by name)."""
    rows = session.execute(
        select(PushDelivery, User, School)
        .join(User, User.id == PushDelivery.teacher_id)
        .outerjoin(School, School.id == User.school_id)
        .where(PushDelivery.push_id == push_id)
    ).all()
    out = [
        Recipient(
            teacher_id=user.id, name=user.display_name, school=school.name if school else "",
            location=school.location.value if school else "", is_weak=bool(school and school.is_weak),
            delivered_at=d.delivered_at, opened_at=d.opened_at, completed_at=d.completed_at,
        )
        for d, user, school in rows
    ]  # fmt: skip
    out.sort(
        key=lambda r: (
            not (r.location == SchoolLocation.RURAL.value or r.is_weak),
            r.school,
            r.teacher_id,
        )
    )
    return out
