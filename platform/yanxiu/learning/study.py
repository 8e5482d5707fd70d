"""Studying a course's units, as the server records it.

- Text and PDF units: the page tells the server it was opened, then that its end came into
  view; the unit is complete only after both, in that order.
- Video and audio units: the player reports its position every few seconds. The server
  counts what was played from the verified point (the "frontier") at most as fast as its own
  clock runs between reports: a faster playback rate or a forged position gains nothing over
  real time, and a jump ahead (a gap no report interval could cover) counts nothing until
  playing goes on from the frontier again. Complete at the policy's share (90 %). A report
  delayed by a loaded network loses a second or two at most, made up by the reports after it.

A course's progress is the share of its units completed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yanxiu.accounts.scope import Account
from yanxiu.catalog.models import Course, CourseUnit, Enrolment, EnrolmentStatus
from yanxiu.credits.policy import CreditPolicy
from yanxiu.db.base import utcnow
from yanxiu.errors import Conflict, Invalid, NotFound
from yanxiu.learning.course import SEES_DRAFTS, get_course
from yanxiu.learning.enrolments import EnrolmentError, get_enrolment
from yanxiu.learning.models import UnitProgress

KIND_LABELS = {"text": "图文", "document": "文档", "video": "视频", "audio": "音频"}
SLACK_SECONDS = 1.0  # network and timer jitter allowed per report


class UnitNotFound(NotFound):
    """No such unit in this course (or it was retired)."""


def active_units(session: Session, course_id: int) -> list[CourseUnit]:
    return list(
        session.scalars(
            select(CourseUnit)
            .where(CourseUnit.course_id == course_id, CourseUnit.retired.is_(False))
            .order_by(CourseUnit.position, CourseUnit.id)
        )
    )


@dataclass(frozen=True)
class UnitState:
    unit: CourseUnit
    percent: int
    done: bool

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.unit.kind.value]

    @property
    def minutes(self) -> str:
        seconds = int(self.unit.duration_seconds)
        return f"{seconds // 60}:{seconds % 60:02d}" if seconds else ""


@dataclass(frozen=True)
class StudyView:
    units: list[UnitState]

    @property
    def done(self) -> int:
        return sum(1 for u in self.units if u.done)

    @property
    def percent(self) -> int:
        return round(100 * self.done / len(self.units)) if self.units else 0

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(u.unit.title for u in self.units if not u.done)


def _unit_percent(unit: CourseUnit, progress: UnitProgress | None, ratio: float) -> int:
    if progress is None:
        return 0
    if progress.completed_at is not None:
        return 100
    if unit.kind.is_media and unit.duration_seconds:
        target = unit.duration_seconds * ratio
        return min(99, int(100 * progress.frontier / target))
    return 0


def study_view(
    session: Session, policy: CreditPolicy, course: Course, teacher_id: int | None
) -> StudyView:
    units = active_units(session, course.id)
    progress: dict[int, UnitProgress] = {}
    if teacher_id and units:
        progress = {
            p.unit_id: p
            for p in session.scalars(
                select(UnitProgress).where(
                    UnitProgress.teacher_id == teacher_id,
                    UnitProgress.unit_id.in_([u.id for u in units]),
                )
            )
        }
    ratio = policy.crediting.online.media_complete_ratio
    return StudyView(
        [
            UnitState(u, pct := _unit_percent(u, progress.get(u.id), ratio), pct == 100)
            for u in units
        ]
    )


def find_unit(
    session: Session, code: str, unit_id: int, *, include_drafts: bool = False
) -> tuple[Course, CourseUnit]:
    """A unit of a course (of a draft course only with ``include_drafts``)."""
    course = get_course(session, code, include_drafts=include_drafts)
    unit = session.get(CourseUnit, unit_id)
    if unit is None or unit.course_id != course.id or unit.retired:
        raise UnitNotFound(f"课程 {code} 没有这个学习单元")
    return course, unit


def viewed_unit(
    session: Session, code: str, unit_id: int, viewer: Account
) -> tuple[Course, CourseUnit]:
    """A unit the viewer may see: drafts for staff only."""
    return find_unit(session, code, unit_id, include_drafts=viewer.role in SEES_DRAFTS)


def _studying(session: Session, teacher_id: int, course: Course) -> Enrolment:
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is None or enrolment.status == EnrolmentStatus.DROPPED:
        raise EnrolmentError("请先报名该课程，学习记录才会保存")
    return enrolment


def _progress_row(session: Session, teacher_id: int, unit_id: int) -> UnitProgress:
    """The teacher's row for the unit, created once even under concurrent first reports."""
    query = select(UnitProgress).where(
        UnitProgress.teacher_id == teacher_id, UnitProgress.unit_id == unit_id
    )
    row = session.scalar(query.with_for_update())
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = UnitProgress(teacher_id=teacher_id, unit_id=unit_id)
            session.add(row)
            session.flush()
    except IntegrityError:
        row = session.scalar(query.with_for_update())
        assert row is not None
    return row


def _refresh_course(
    session: Session, policy: CreditPolicy, teacher_id: int, course: Course
) -> None:
    enrolment = get_enrolment(session, teacher_id, course.id)
    if enrolment is not None and enrolment.status == EnrolmentStatus.ENROLLED:
        view = study_view(session, policy, course, teacher_id)
        enrolment.progress = max(enrolment.progress, view.percent / 100)
    session.flush()


def open_unit(
    session: Session, *, teacher_id: int, code: str, unit_id: int, now: datetime | None = None
) -> UnitProgress:
    """The unit's page was opened (the page's script says so after it loads)."""
    course, unit = find_unit(session, code, unit_id)
    _studying(session, teacher_id, course)
    row = _progress_row(session, teacher_id, unit.id)
    if row.opened_at is None:
        row.opened_at = now or utcnow()
    session.flush()
    return row


def reach_end(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str, unit_id: int,
    now: datetime | None = None,
) -> UnitProgress:  # fmt: skip
    """A text or document unit was read to its end (its last line came into view)."""
    course, unit = find_unit(session, code, unit_id)
    _studying(session, teacher_id, course)
    if unit.kind.is_media:
        raise Invalid("视频、音频单元按实际播放进度记录")
    row = _progress_row(session, teacher_id, unit.id)
    if row.opened_at is None:
        raise Conflict("请先打开该单元再阅读")
    if row.completed_at is None:
        row.completed_at = now or utcnow()
        _refresh_course(session, policy, teacher_id, course)
    return row


@dataclass(frozen=True)
class PositionResult:
    frontier: float  # seconds counted as played
    percent: int
    completed: bool
    refused: bool  # this report was a jump ahead (or faster than real time): not counted


def _as_aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def report_position(
    session: Session, *, policy: CreditPolicy, teacher_id: int, code: str, unit_id: int,
    position: float, now: datetime | None = None,
) -> PositionResult:  # fmt: skip
    """Count a player's position report (seconds into the media) as far as it was played."""
    course, unit = find_unit(session, code, unit_id)
    _studying(session, teacher_id, course)
    if not unit.kind.is_media:
        raise Invalid("只有视频、音频单元报告播放位置")
    if not 0 <= position <= unit.duration_seconds + SLACK_SECONDS:
        raise Invalid("播放位置超出媒体时长", fields={"position": "播放位置无效"})
    now = now or utcnow()
    rule = policy.crediting.online
    row = _progress_row(session, teacher_id, unit.id)
    refused = False
    if row.last_report_at is None:  # the first report starts the clock; nothing counted yet
        row.opened_at = row.opened_at or now
    else:
        elapsed = (now - _as_aware(row.last_report_at)).total_seconds()
        # a long pause earns nothing: at most one report interval (and a half) counts
        played = min(max(elapsed, 0.0), rule.report_interval_seconds * 1.5)
        # a gap larger than a report could cover is a jump (or a forged position)
        tolerance = rule.report_interval_seconds * 1.5 + SLACK_SECONDS
        jumped = row.last_position > row.frontier + tolerance or (
            position - row.last_position > played + tolerance
        )
        if position > row.frontier:
            # never more than real time from where verified playing stood
            reach = min(row.last_position, row.frontier) + played + SLACK_SECONDS
            if jumped:
                refused = True
                row.refused_jumps += 1
            else:
                row.frontier = min(position, reach, unit.duration_seconds)
                refused = position > reach
    row.last_position, row.last_report_at = position, now
    row.reports += 1
    target = unit.duration_seconds * rule.media_complete_ratio
    if row.completed_at is None and row.frontier >= target:
        row.completed_at = now
        _refresh_course(session, policy, teacher_id, course)
    session.flush()
    percent = _unit_percent(unit, row, rule.media_complete_ratio)
    return PositionResult(round(row.frontier, 1), percent, row.completed_at is not None, refused)
