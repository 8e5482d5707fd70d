"""Who takes part in a programme: teachers register themselves, or a trainer assigns a cohort.

A programme is open to the teachers of its *audience*: its region (and the regions below it),
optionally only some schools, stages and subjects (an empty list means any). A teacher sees
the published programmes whose audience they belong to and registers; a trainer picks a cohort
by filter (stage, subject, school, weak schools only), sees how many that is, and assigns them
all, each told so in their inbox (``program_assigned``, once per programme).

Places: a programme has as many places as its smallest offline session has seats (sessions
without a capacity do not limit it). Registrations never exceed that, however many arrive at
once: each first locks the programme (:func:`~yanxiu.programs.editor.lock_program`; a row
lock on PostgreSQL, the write lock on SQLite) and then inserts with a single conditional
statement, so the loser of the last place gets :class:`~yanxiu.errors.Conflict` (409).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import DateTime, Integer, String, func, insert, literal, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from yanxiu.accounts.models import Role, School, TeacherProfile, User
from yanxiu.accounts.scope import Scope, home_region, region_ancestry, region_subtree
from yanxiu.audit.service import record_audit
from yanxiu.db.base import utcnow
from yanxiu.errors import Conflict, Invalid, NotFound
from yanxiu.notifications.models import NotificationKind
from yanxiu.notifications.service import notify
from yanxiu.programs.editor import editable_program, lock_program, registered_count
from yanxiu.programs.models import (
    JoinedBy,
    OfflineSession,
    Program,
    ProgramStatus,
    program_participants,
)
from yanxiu.programs.service import is_participant

FULL = "报名失败：该项目名额已满。可关注其他项目，或联系培训者了解是否增开场次。"


def program_capacity(session: Session, program_id: int) -> int | None:
    """Places of a programme: the smallest seat count among its sessions (None: no limit)."""
    value = session.scalar(
        select(func.min(OfflineSession.capacity)).where(OfflineSession.program_id == program_id)
    )
    return None if value is None else int(value)


def audience_fits(
    program: Program,
    *,
    ancestry: Iterable[int],
    school_id: int | None,
    profile: TeacherProfile | None,
) -> bool:
    """Does a teacher (their home region's ancestry, school, profile) belong to the audience?"""
    if program.region_id is not None and program.region_id not in set(ancestry):
        return False
    if program.audience_school_ids and school_id not in program.audience_school_ids:
        return False
    if program.audience_stages and (
        profile is None or profile.stage not in program.audience_stages
    ):
        return False
    if program.audience_subjects:
        subjects = set(profile.subjects or []) if profile else set()
        if not subjects & set(program.audience_subjects):
            return False
    return True


@dataclass(frozen=True)
class Offer:
    """A programme as a teacher sees it in the list."""

    program: Program
    registered: int
    capacity: int | None
    joined: bool

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.registered)

    @property
    def can_register(self) -> bool:
        return (
            not self.joined
            and self.program.status == ProgramStatus.PUBLISHED
            and (self.places_left is None or self.places_left > 0)
        )


def _teacher(session: Session, teacher_id: int) -> tuple[User, list[int]]:
    teacher = session.get(User, teacher_id)
    if teacher is None:
        raise NotFound("没有这位教师。")
    home = home_region(session, account=teacher)
    return teacher, region_ancestry(session, home) if home is not None else []


def _offer(session: Session, program: Program, joined: bool) -> Offer:
    return Offer(
        program, registered_count(session, program.id), program_capacity(session, program.id),
        joined,
    )  # fmt: skip


def teacher_offers(
    session: Session, *, teacher_id: int, today: date
) -> tuple[list[Offer], list[Offer]]:
    """(the teacher's programmes, published ones of their audience they may still join)."""
    teacher, ancestry = _teacher(session, teacher_id)
    joined_ids = set(
        session.scalars(
            select(program_participants.c.program_id).where(
                program_participants.c.teacher_id == teacher_id
            )
        )
    )
    mine = [
        _offer(session, p, True)
        for p in session.scalars(
            select(Program).where(Program.id.in_(joined_ids)).order_by(Program.starts_on.desc())
        )
    ]
    candidates = session.scalars(
        select(Program)
        .where(
            Program.status == ProgramStatus.PUBLISHED,
            Program.ends_on >= today,
            Program.id.not_in(joined_ids) if joined_ids else Program.id.is_not(None),
        )
        .order_by(Program.starts_on, Program.id)
    )
    open_ = [
        _offer(session, p, False)
        for p in candidates
        if audience_fits(p, ancestry=ancestry, school_id=teacher.school_id, profile=teacher.profile)
    ]
    return mine, open_


def teacher_program(session: Session, *, teacher_id: int, program_id: int) -> Offer:
    """A programme the teacher takes part in, or a published one of their audience."""
    program = session.get(Program, program_id)
    if program is None:
        raise NotFound("没有这个培训项目。")
    if is_participant(session, program_id, teacher_id):
        return _offer(session, program, True)
    teacher, ancestry = _teacher(session, teacher_id)
    if program.status == ProgramStatus.DRAFT or not audience_fits(
        program, ancestry=ancestry, school_id=teacher.school_id, profile=teacher.profile
    ):
        raise NotFound("没有这个培训项目，或它不面向您开放报名。")
    return _offer(session, program, False)


def _insert_if_room(
    session: Session, *, program_id: int, teacher_id: int, capacity: int | None,
    joined_by: JoinedBy, assigned_by_id: int | None,
) -> bool:  # fmt: skip
    """One statement: add the participant only while the programme has room."""
    row = select(
        literal(program_id, Integer), literal(teacher_id, Integer),
        literal(joined_by.value, String), literal(utcnow(), DateTime(timezone=True)),
        literal(assigned_by_id, Integer) if assigned_by_id is not None else null(),
    )  # fmt: skip
    if capacity is not None:
        taken = (
            select(func.count())
            .select_from(program_participants)
            .where(program_participants.c.program_id == program_id)
            .scalar_subquery()
        )
        row = row.where(taken < capacity)
    statement = insert(program_participants).from_select(
        ["program_id", "teacher_id", "joined_by", "joined_at", "assigned_by_id"], row
    )
    # RETURNING says whether a row went in (psycopg reports no rowcount for INSERT … SELECT)
    return (
        session.execute(statement.returning(program_participants.c.teacher_id)).first() is not None
    )


@dataclass(frozen=True)
class Registration:
    program: Program
    created: bool  # False: the teacher was already registered

    @property
    def message(self) -> str:
        if not self.created:
            return f"您已报名「{self.program.title}」，无需重复报名。"
        return f"报名成功：「{self.program.title}」。线下活动当天请凭培训者出示的签到码签到。"


def register(session: Session, *, teacher_id: int, program_id: int, today: date) -> Registration:
    """The teacher registers for a published programme of their audience.

    Raises:
        NotFound: No such programme, or it is not open to this teacher.
        Conflict: Registration is closed, the programme has ended, or it is full.
    """
    offer = teacher_program(session, teacher_id=teacher_id, program_id=program_id)
    program = offer.program
    if offer.joined:
        return Registration(program, False)
    if program.status != ProgramStatus.PUBLISHED:
        raise Conflict("该项目已截止报名。")
    if program.ends_on < today:
        raise Conflict("该项目已结束，不能再报名。")
    lock_program(session, program.id)
    if is_participant(session, program.id, teacher_id):
        return Registration(program, False)
    try:
        with session.begin_nested():
            added = _insert_if_room(
                session, program_id=program.id, teacher_id=teacher_id,
                capacity=program_capacity(session, program.id), joined_by=JoinedBy.SELF,
                assigned_by_id=None,
            )  # fmt: skip
    except IntegrityError:  # the same teacher's twin request got there first
        return Registration(program, False)
    if not added:
        raise Conflict(FULL)
    record_audit(
        session, actor_id=teacher_id, action="program.register", entity="program",
        entity_id=program.id, detail={"teacher_id": teacher_id},
    )  # fmt: skip
    return Registration(program, True)


# ------------------------------------------------------------------ cohort assignment


@dataclass(frozen=True)
class CohortFilter:
    stage: str = ""
    subject: str = ""
    school_id: int | None = None
    weak_only: bool = False


@dataclass(frozen=True)
class CohortPreview:
    program: Program
    filter: CohortFilter
    matching: int  # teachers of the audience in scope the filter selects
    already: int  # of them, already taking part
    new_ids: list[int]
    capacity: int | None
    registered: int

    @property
    def new(self) -> int:
        return len(self.new_ids)

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.registered)

    @property
    def fits(self) -> bool:
        return self.places_left is None or self.new <= self.places_left


def preview_cohort(
    session: Session, *, scope: Scope, program_id: int, cohort: CohortFilter
) -> CohortPreview:
    """The active teachers in the trainer's scope and the programme's audience that the filter
    selects, and how many of them would be new participants."""
    program = editable_program(session, scope, program_id)
    regions = region_subtree(session, program.region_id) if program.region_id else set()
    query = (
        scope.filter(select(User).where(User.role == Role.TEACHER, User.is_active.is_(True)))
        .join(School, School.id == User.school_id)
        .where(School.county_id.in_(list(regions)))
        .options(joinedload(User.profile))
    )
    if cohort.school_id is not None:
        query = query.where(User.school_id == cohort.school_id)
    if cohort.weak_only:
        query = query.where(School.is_weak.is_(True))
    teachers = [
        t
        for t in session.scalars(query).unique()
        if (not program.audience_school_ids or t.school_id in program.audience_school_ids)
        and (not cohort.stage or (t.profile and t.profile.stage == cohort.stage))
        and (not cohort.subject or (t.profile and cohort.subject in (t.profile.subjects or [])))
    ]
    joined = set(
        session.scalars(
            select(program_participants.c.teacher_id).where(
                program_participants.c.program_id == program.id
            )
        )
    )
    new_ids = sorted(t.id for t in teachers if t.id not in joined)
    return CohortPreview(
        program, cohort, len(teachers), len(teachers) - len(new_ids), new_ids,
        program_capacity(session, program.id), len(joined),
    )  # fmt: skip


def assign_cohort(
    session: Session, *, scope: Scope, program_id: int, cohort: CohortFilter, now: datetime
) -> int:
    """Assign every new teacher the filter selects; each is notified once. Returns how many.

    Raises:
        Invalid: The filter selects nobody new.
        Conflict: There are fewer places left than teachers to assign (nobody is assigned).
    """
    program = editable_program(session, scope, program_id)
    if program.status == ProgramStatus.CLOSED:
        raise Conflict("该项目已截止报名，请先重新开放报名再分配学员。")
    lock_program(session, program.id)
    preview = preview_cohort(session, scope=scope, program_id=program_id, cohort=cohort)
    if not preview.new_ids:
        raise Invalid("按所选条件没有可新增的学员（可能都已在项目中）。")
    if not preview.fits:
        raise Conflict(
            f"名额不足：本项目还剩 {preview.places_left} 个名额，所选条件新增 {preview.new} 人。"
            "请缩小范围，或先增加线下活动的名额。"
        )
    session.execute(
        insert(program_participants),
        [
            {"program_id": program.id, "teacher_id": tid, "joined_by": JoinedBy.ASSIGNED.value,
             "joined_at": utcnow(), "assigned_by_id": scope.user_id}
            for tid in preview.new_ids
        ],
    )  # fmt: skip
    first = program.sessions[0] if program.sessions else None
    when = (
        f"首场线下活动 {first.starts_at:%m月%d日 %H:%M}，地点：{first.location}。" if first else ""
    )
    for tid in preview.new_ids:
        notify(
            session, user_id=tid, kind=NotificationKind.PROGRAM_ASSIGNED,
            title=f"您已被安排参加「{program.title}」",
            body=f"{program.starts_on:%Y年%m月%d日} 至 {program.ends_on:%Y年%m月%d日}。{when}",
            link=f"/programs/{program.id}", event_key=f"program:{program.id}:assigned", at=now,
        )  # fmt: skip
    record_audit(
        session, actor_id=scope.user_id, action="program.assign", entity="program",
        entity_id=program.id,
        detail={"count": len(preview.new_ids), "stage": cohort.stage, "subject": cohort.subject,
                "school_id": cohort.school_id, "weak_only": cohort.weak_only},
    )  # fmt: skip
    return len(preview.new_ids)
