"""Database triggers bump the ``people`` counter on every change to who teaches where."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, update

from tests.factories import make_teacher
from yanxiu.accounts.models import School, TeacherProfile, User
from yanxiu.credits.ledger import credit_hours
from yanxiu.credits.models import CreditSource
from yanxiu.db.change_counters import version


def test_people_changes_bump_the_counter_whatever_writes_them(session, policy) -> None:
    start = version(session, "people")
    assert start is not None  # the migration created the counter and its triggers
    teacher = make_teacher(session)  # ORM inserts (school, user, profile)
    session.commit()
    after_insert = version(session, "people")
    assert after_insert is not None and after_insert > start

    session.execute(update(TeacherProfile).values(tier="骨干教师"))  # a bulk statement
    session.commit()
    after_bulk = version(session, "people")
    assert after_bulk is not None and after_bulk > after_insert

    credit_hours(
        session, policy=policy, teacher_id=teacher.id, source=CreditSource.OFFLINE,
        category="师德师风", hours=3, earned_on=date(2026, 10, 9), title="师德专题讲座",
        idempotency_key="counter:1",
    )  # fmt: skip
    session.commit()
    assert version(session, "people") == after_bulk  # the ledger is not "people"

    session.execute(update(School).values(is_weak=True))
    session.commit()
    after_school = version(session, "people")
    assert after_school is not None and after_school > after_bulk
    session.execute(update(User).where(User.id == teacher.id).values(is_active=False))
    session.commit()
    after_user = version(session, "people")
    assert after_user is not None and after_user > after_school
    session.execute(delete(TeacherProfile).where(TeacherProfile.user_id == teacher.id))
    session.commit()
    assert (version(session, "people") or 0) > after_user
