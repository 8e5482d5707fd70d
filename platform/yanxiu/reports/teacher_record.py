"""A teacher's whole ledger (学时台账) and standing, for the teacher and for staff in scope.

The teacher reads their own ledger in-app: every record, counted or not (pending review,
not recognised, voided with its reason, or over a source cap), filtered by cycle year and
category, a page at a time. An admin or trainer whose :class:`~yanxiu.accounts.scope.Scope`
covers the teacher opens the same ledger from the school drill-down, with the teacher's
compliance and training path; each such look is audited (personal data, PIPL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from yanxiu.accounts.models import School, User
from yanxiu.accounts.scope import Scope
from yanxiu.audit.service import record_audit
from yanxiu.catalog.schema import CATEGORIES
from yanxiu.credits.compliance import TeacherCompliance, YearStatus
from yanxiu.credits.ledger import LedgerEntry
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import NotFound
from yanxiu.recommend.service import PathRecommender, TrainingPath
from yanxiu.reports.dashboard import (
    REVIEW_LABELS,
    SOURCE_LABELS,
    CategoryRow,
    PathCache,
    PathSection,
    ProfileInfo,
    category_rows,
    teacher_compliance_report,
    training_path_section,
)

PER_PAGE = 30


@dataclass(frozen=True)
class LedgerLine:
    entry: LedgerEntry
    source_label: str
    state_label: str  # 已认定 / 待审核 / 未认定 / 已作废
    counts: bool


@dataclass(frozen=True)
class LedgerView:
    """One page of a teacher's ledger, newest first, with the filters that made it."""

    lines: list[LedgerLine]
    page: int
    pages: int
    total: int  # records matching the filters
    hours: float  # hours of those records that count
    years: list[YearStatus]  # the cycle's years (the year filter's choices)
    categories: list[str]
    year: int | None  # cycle year index chosen, 1-based
    category: str | None


@dataclass(frozen=True)
class TeacherRecord:
    """What staff see of a teacher: who, where, standing, and the ledger."""

    teacher: User
    school: School | None
    profile: ProfileInfo
    report: TeacherCompliance
    categories: list[CategoryRow]
    ledger: LedgerView


def _state(entry: LedgerEntry) -> str:
    return "已作废" if entry.voided else REVIEW_LABELS.get(entry.review_state, "")


def ledger_view(
    entries: list[LedgerEntry],
    report: TeacherCompliance,
    *,
    year: int | None = None,
    category: str | None = None,
    page: int = 1,
) -> LedgerView:
    """Filter and page ``entries`` (cycle year ``year`` of ``report``, a category)."""
    years = report.yearly
    chosen = next((y for y in years if y.index == year), None)
    if chosen is None:
        year = None
    if category not in CATEGORIES:
        category = None
    wanted = [
        e
        for e in entries
        if (chosen is None or chosen.start <= e.earned_on < chosen.end)
        and (category is None or e.category == category)
    ]
    wanted.sort(key=lambda e: (e.earned_on, e.id), reverse=True)
    pages = max(1, -(-len(wanted) // PER_PAGE))
    page = min(max(1, page), pages)
    shown = wanted[(page - 1) * PER_PAGE : page * PER_PAGE]
    return LedgerView(
        lines=[
            LedgerLine(e, SOURCE_LABELS.get(e.source, e.source.value), _state(e), e.counts)
            for e in shown
        ],
        page=page, pages=pages, total=len(wanted),
        hours=round(sum(e.hours for e in wanted if e.counts), 2),
        years=years, categories=list(CATEGORIES), year=year, category=category,
    )  # fmt: skip


def own_ledger(
    session: Session, *, teacher_id: int, policy: CreditPolicy, today: date,
    year: int | None = None, category: str | None = None, page: int = 1,
) -> LedgerView:  # fmt: skip
    """The teacher's own ledger page (NoTeacherProfile for an account without a profile)."""
    _, entries, report = teacher_compliance_report(
        session, teacher_id=teacher_id, policy=policy, today=today
    )
    return ledger_view(entries, report, year=year, category=category, page=page)


def teacher_record(
    session: Session, *, scope: Scope, viewer_id: int, teacher_id: int, policy: CreditPolicy,
    today: date, year: int | None = None, category: str | None = None, page: int = 1,
) -> TeacherRecord:  # fmt: skip
    """A teacher's standing and ledger for staff whose scope covers them (NotAllowed else)."""
    teacher = session.get(User, teacher_id)
    if teacher is None or teacher.profile is None:
        raise NotFound("没有这位教师。")
    scope.require(session, teacher)
    profile, entries, report = teacher_compliance_report(
        session, teacher_id=teacher_id, policy=policy, today=today
    )
    record_audit(session, actor_id=viewer_id, action="teacher.view_record", entity="user",
                 entity_id=teacher_id, detail={"page": page})  # fmt: skip
    return TeacherRecord(
        teacher=teacher, school=teacher.school, profile=profile, report=report,
        categories=category_rows(report, policy),
        ledger=ledger_view(entries, report, year=year, category=category, page=page),
    )  # fmt: skip


def teacher_path(
    session: Session, *, scope: Scope, teacher_id: int, planner: PathRecommender | None,
    unavailable: str, cache: PathCache[TrainingPath], policy: CreditPolicy, today: date,
) -> PathSection:  # fmt: skip
    """A teacher's training path for staff whose scope covers them (NotAllowed else)."""
    teacher = session.get(User, teacher_id)
    if teacher is None:
        raise NotFound("没有这位教师。")
    scope.require(session, teacher)
    return training_path_section(
        session, planner=planner, unavailable=unavailable, cache=cache, teacher_id=teacher_id,
        policy=policy, today=today,
    )  # fmt: skip
