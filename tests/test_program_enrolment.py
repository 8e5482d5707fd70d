"""Programmes planned by trainers: editing in scope, audience, registration under a capacity
(also twenty at once), cohort assignment with its notifications."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role
from yanxiu.accounts.scope import Scope
from yanxiu.accounts.service import create_user
from yanxiu.errors import Conflict, Invalid, NotAllowed, NotFound
from yanxiu.notifications.models import Notification, NotificationKind
from yanxiu.programs.editor import (
    ProgramForm,
    SessionForm,
    add_session,
    create_program,
    set_status,
    update_program,
)
from yanxiu.programs.enrolment import (
    CohortFilter,
    assign_cohort,
    preview_cohort,
    register,
    teacher_offers,
)
from yanxiu.programs.models import ProgramStatus, program_participants

TODAY = date(2026, 11, 20)


def _trainer(session, county_id: int, name: str):
    user = create_user(session, username=name, display_name=f"培训者{name}", role=Role.TRAINER,
                       password_hash=password_hash(), region_id=county_id)  # fmt: skip
    return user, Scope.for_user(session, user)


def _form(region_id: int, **kw) -> ProgramForm:
    base = dict(title="初中数学课堂提问能力提升研修", description="混合式研修：线上学习加两次集中面授。",
                category="课堂提问与对话", starts_on="2026-11-01", ends_on="2026-12-31",
                region_id=str(region_id))  # fmt: skip
    return ProgramForm(**(base | kw))


def _session_form(capacity: str = "", **kw) -> SessionForm:
    base = dict(title="集中面授：问题链设计", location="县教师发展中心报告厅",
                starts_at="2026-11-20T08:30", ends_at="2026-11-20T12:00", hours="3",
                capacity=capacity)  # fmt: skip
    return SessionForm(**(base | kw))


@pytest.fixture
def centre(session):
    """A county with a weak and an ordinary school, teachers of two subjects, its trainer, and
    a trainer of another county."""
    weak = make_school(session, weak=True)
    other_school = make_school(session)
    trainer, scope = _trainer(session, weak.county_id, "tr.a")
    stranger, stranger_scope = _trainer(session, other_school.county_id, "tr.b")
    maths = [make_teacher(session, school=weak, subjects=["数学"]) for _ in range(3)]
    chinese = [make_teacher(session, school=weak, subjects=["语文"]) for _ in range(2)]
    outside = make_teacher(session, school=other_school)
    program = create_program(session, scope=scope, form=_form(weak.county_id))
    session.commit()
    return {
        "school": weak, "trainer": trainer, "scope": scope, "stranger_scope": stranger_scope,
        "maths": maths, "chinese": chinese, "outside": outside, "program": program,
    }  # fmt: skip


def test_a_new_programme_is_a_draft_that_teachers_do_not_see(session, centre):
    program = centre["program"]
    assert program.status == ProgramStatus.DRAFT and program.trainer_id == centre["trainer"].id
    teacher = centre["maths"][0]
    mine, open_ = teacher_offers(session, teacher_id=teacher.id, today=TODAY)
    assert not mine and not open_
    with pytest.raises(Invalid):  # nothing to take part in yet
        set_status(session, scope=centre["scope"], program_id=program.id, status="published")
    add_session(session, scope=centre["scope"], program_id=program.id, form=_session_form())
    set_status(session, scope=centre["scope"], program_id=program.id, status="published")
    _, open_ = teacher_offers(session, teacher_id=teacher.id, today=TODAY)
    assert [o.program.id for o in open_] == [program.id]
    # a teacher of another county is not in the audience
    _, elsewhere = teacher_offers(session, teacher_id=centre["outside"].id, today=TODAY)
    assert not elsewhere
    with pytest.raises(NotFound):
        register(session, teacher_id=centre["outside"].id, program_id=program.id, today=TODAY)


def test_the_form_is_checked_field_by_field(session, centre):
    with pytest.raises(Invalid) as refused:
        create_program(session, scope=centre["scope"], form=_form(
            centre["school"].county_id, title="短", starts_on="2026-12-31", ends_on="2026-01-01",
            stages=["大学"], module_codes=["NO-SUCH-COURSE"], category="",
        ))  # fmt: skip
    assert set(refused.value.fields) >= {"title", "ends_on", "stages", "module_codes", "category"}
    with pytest.raises(Invalid) as refused:  # a region outside the trainer's scope
        create_program(session, scope=centre["scope"], form=_form(centre["outside"].region_id))
    assert "region_id" in refused.value.fields
    with pytest.raises(Invalid) as refused:  # a bidi override in the title
        create_program(session, scope=centre["scope"],
                       form=_form(centre["school"].county_id, title="研修\u202e项目名称"))  # fmt: skip
    assert "title" in refused.value.fields
    program = centre["program"]
    with pytest.raises(Invalid) as refused:
        add_session(session, scope=centre["scope"], program_id=program.id, form=_session_form(
            starts_at="2027-03-01T08:30", ends_at="2027-03-01T08:00", hours="30", capacity="0"))  # fmt: skip
    assert set(refused.value.fields) >= {"starts_at", "ends_at", "hours", "capacity"}


def test_a_trainer_of_another_region_can_neither_see_nor_edit(session, centre):
    program = centre["program"]
    with pytest.raises(NotAllowed):
        update_program(session, scope=centre["stranger_scope"], program_id=program.id,
                       form=_form(centre["school"].county_id))  # fmt: skip
    with pytest.raises(NotAllowed):
        add_session(session, scope=centre["stranger_scope"], program_id=program.id,
                    form=_session_form())  # fmt: skip
    with pytest.raises(NotAllowed):
        preview_cohort(session, scope=centre["stranger_scope"], program_id=program.id,
                       cohort=CohortFilter())  # fmt: skip


def test_audience_by_subject_and_school(session, centre):
    program = centre["program"]
    update_program(session, scope=centre["scope"], program_id=program.id, form=_form(
        centre["school"].county_id, subjects=["数学"], school_ids=[str(centre["school"].id)]))  # fmt: skip
    add_session(session, scope=centre["scope"], program_id=program.id, form=_session_form())
    set_status(session, scope=centre["scope"], program_id=program.id, status="published")
    assert teacher_offers(session, teacher_id=centre["maths"][0].id, today=TODAY)[1]
    assert not teacher_offers(session, teacher_id=centre["chinese"][0].id, today=TODAY)[1]


def test_capacity_is_the_smallest_session_and_a_full_programme_refuses(session, centre):
    program = centre["program"]
    add_session(session, scope=centre["scope"], program_id=program.id, form=_session_form("5"))
    add_session(session, scope=centre["scope"], program_id=program.id,
                form=_session_form("2", starts_at="2026-12-01T08:30", ends_at="2026-12-01T12:00"))  # fmt: skip
    set_status(session, scope=centre["scope"], program_id=program.id, status="published")
    first, second, third = centre["maths"]
    assert register(session, teacher_id=first.id, program_id=program.id, today=TODAY).created
    again = register(session, teacher_id=first.id, program_id=program.id, today=TODAY)
    assert not again.created  # idempotent
    assert register(session, teacher_id=second.id, program_id=program.id, today=TODAY).created
    with pytest.raises(Conflict, match="名额已满"):
        register(session, teacher_id=third.id, program_id=program.id, today=TODAY)
    set_status(session, scope=centre["scope"], program_id=program.id, status="closed")
    with pytest.raises(Conflict, match="截止报名"):
        register(session, teacher_id=centre["chinese"][0].id, program_id=program.id, today=TODAY)


def test_cohort_preview_assign_and_notify_once(session, centre):
    program = centre["program"]
    add_session(session, scope=centre["scope"], program_id=program.id, form=_session_form("4"))
    scope = centre["scope"]
    maths = preview_cohort(session, scope=scope, program_id=program.id,
                           cohort=CohortFilter(subject="数学", weak_only=True))  # fmt: skip
    assert (maths.matching, maths.new) == (3, 3)
    everyone = preview_cohort(session, scope=scope, program_id=program.id, cohort=CohortFilter())
    assert everyone.matching == 5 and not everyone.fits  # 5 teachers, 4 places
    with pytest.raises(Conflict, match="名额不足"):
        assign_cohort(session, scope=scope, program_id=program.id, cohort=CohortFilter(), now=TODAY)
    assert assign_cohort(session, scope=scope, program_id=program.id,
                         cohort=CohortFilter(subject="数学"), now=TODAY) == 3  # fmt: skip
    with pytest.raises(Invalid):  # all of them are in already
        assign_cohort(session, scope=scope, program_id=program.id,
                      cohort=CohortFilter(subject="数学"), now=TODAY)  # fmt: skip
    notes = session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.PROGRAM_ASSIGNED)
    ).all()
    assert sorted(n.user_id for n in notes) == sorted(t.id for t in centre["maths"])
    assert {n.event_key for n in notes} == {f"program:{program.id}:assigned"}
    assert all(n.link == f"/programs/{program.id}" for n in notes)


def test_twenty_concurrent_registrations_never_exceed_the_capacity(db, policy):
    """Twenty teachers press 报名 at once for 7 places: 7 get in, 13 get a Conflict (409),
    nothing else goes wrong; twenty twin requests of one teacher register her once."""
    with db.factory() as s:
        school = make_school(s)
        _, scope = _trainer(s, school.county_id, "tr.c")
        teachers = [make_teacher(s, school=school).id for _ in range(20)]
        program = create_program(s, scope=scope, form=_form(school.county_id))
        add_session(s, scope=scope, program_id=program.id, form=_session_form("7"))
        set_status(s, scope=scope, program_id=program.id, status="published")
        open_ = create_program(s, scope=scope, form=_form(school.county_id))
        add_session(s, scope=scope, program_id=open_.id, form=_session_form())  # no limit
        set_status(s, scope=scope, program_id=open_.id, status="published")
        program_id, open_id = program.id, open_.id
        s.commit()

    def race(ids: list[int], program_id: int = program_id) -> Counter[str]:
        barrier, outcomes, lock = threading.Barrier(len(ids)), Counter[str](), threading.Lock()

        def one(teacher_id: int) -> None:
            try:
                with db.factory() as s:
                    barrier.wait()
                    done = register(s, teacher_id=teacher_id, program_id=program_id, today=TODAY)
                    s.commit()
                    result = "created" if done.created else "again"
            except Conflict:
                result = "full"
            except Exception as exc:  # noqa: BLE001 (any other error is the failure tested)
                result = f"error: {type(exc).__name__}: {exc}"
            with lock:
                outcomes[result] += 1

        threads = [threading.Thread(target=one, args=(t,)) for t in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return outcomes

    outcomes = race(teachers)
    assert outcomes == Counter({"created": 7, "full": 13}), outcomes
    with db.factory() as s:
        count = s.scalar(
            select(func.count()).where(program_participants.c.program_id == program_id)
        )
    assert count == 7

    twins = race([teachers[0]] * 20, open_id)  # one teacher's twenty twin requests
    assert twins == Counter({"created": 1, "again": 19}), twins
