"""Check-in codes under attack and under load (issue 19): regenerated codes, tries limited per
teacher and per session in the database, concurrent check-ins and sheet edits that stay atomic."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role, User
from yanxiu.accounts.scope import Scope
from yanxiu.accounts.service import create_user
from yanxiu.credits.ledger import ledger_entries
from yanxiu.credits.models import CreditRecord, CreditVoid
from yanxiu.errors import NotAllowed, TooManyAttempts
from yanxiu.programs import attempts
from yanxiu.programs.checkin import CheckinError, check_in, checkin_code, regenerate_code
from yanxiu.programs.clock import store_wall
from yanxiu.programs.models import (
    Attendance,
    AttendanceStatus,
    CheckinAttempt,
    OfflineSession,
    Program,
    program_participants,
)
from yanxiu.programs.service import mark_attendance

SECRET = "test-secret-for-checkin-limits"
NOW = datetime(2026, 11, 20, 8, 40)  # Beijing wall clock: ten minutes into the session
DAY = date(2026, 11, 20)


@pytest.fixture
def site(db):
    """A session under way with four participants, its trainer and another county's trainer."""
    with db.factory() as s:
        school, elsewhere = make_school(s), make_school(s)
        trainer = create_user(s, username="tr.l", display_name="培训者", role=Role.TRAINER,
                              password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
        stranger = create_user(s, username="tr.x", display_name="外县培训者", role=Role.TRAINER,
                               password_hash=password_hash(), region_id=elsewhere.county_id)  # fmt: skip
        teachers = [make_teacher(s, school=school) for _ in range(4)]
        program = Program(code="PX-L", title="限流测试项目", category="学科教学", trainer_id=trainer.id,
                          region_id=school.county_id, starts_on=date(2026, 11, 1),
                          ends_on=date(2026, 12, 31))  # fmt: skip
        s.add(program)
        s.flush()
        s.execute(
            insert(program_participants),
            [{"program_id": program.id, "teacher_id": t.id} for t in teachers],
        )
        off = OfflineSession(program_id=program.id, title="集中面授", location="县教师发展中心",
                             starts_at=store_wall(datetime(2026, 11, 20, 8, 30)),
                             ends_at=store_wall(datetime(2026, 11, 20, 12, 0)), hours=3,
                             category="学科教学")  # fmt: skip
        s.add(off)
        s.commit()
        return {"db": db, "session_id": off.id, "teachers": [t.id for t in teachers],
                "trainer": trainer.id, "stranger": stranger.id}  # fmt: skip


def _try(db, policy, teacher_id: int, code: str, now: datetime = NOW):
    with db.factory() as s:
        result = check_in(
            s, teacher_id=teacher_id, code=code, secret=SECRET, policy=policy, now=now
        )
        s.commit()
        return result


def _code(site) -> str:
    with site["db"].factory() as s:
        off = s.get(OfflineSession, site["session_id"])
        return checkin_code(SECRET, off.id, off.code_version)


def _wrong(site) -> list[str]:
    real = _code(site)
    return [c for c in (f"{n:06d}" for n in range(100, 200)) if c != real]


def race(n: int, work: Callable[[int], str]) -> Counter[str]:
    """Run ``work(i)`` on ``n`` threads released together; count what each returned or raised."""
    barrier, outcomes, lock = threading.Barrier(n), Counter[str](), threading.Lock()

    def one(i: int) -> None:
        try:
            barrier.wait()
            result = work(i)
        except (CheckinError, TooManyAttempts) as refused:
            result = type(refused).__name__
        except Exception as exc:  # noqa: BLE001 (any other error is the failure tested)
            result = f"error: {type(exc).__name__}: {exc}"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_a_regenerated_code_replaces_the_old_one_at_once(site, policy):
    db, teacher, other = site["db"], site["teachers"][0], site["teachers"][1]
    old = _code(site)
    with db.factory() as s:
        with pytest.raises(NotAllowed):  # a trainer of another county cannot
            regenerate_code(s, scope=Scope.for_user(s, s.get_one(User, site["stranger"])),
                            session_id=site["session_id"])  # fmt: skip
        trainer_scope = Scope.for_user(s, s.get_one(User, site["trainer"]))
        regenerate_code(s, scope=trainer_scope, session_id=site["session_id"])
        s.commit()
    new = _code(site)
    assert new != old
    with pytest.raises(CheckinError, match="不正确"):
        _try(db, policy, teacher, old)
    assert _try(db, policy, other, new).newly_recorded


def test_five_wrong_codes_then_even_the_right_one_waits(site, policy):
    db, teacher, neighbour = site["db"], site["teachers"][0], site["teachers"][1]
    wrong, right = _wrong(site), _code(site)
    for code in wrong[:5]:
        with pytest.raises(CheckinError, match="不正确"):
            _try(db, policy, teacher, code)
    with pytest.raises(TooManyAttempts, match="分钟后再试"):
        _try(db, policy, teacher, right)  # not even compared: no lucky sixth guess
    # another teacher of the same session is not locked out by her neighbour
    assert _try(db, policy, neighbour, right).newly_recorded
    # the tries are in the database (every worker sees them); ten minutes later they age out
    with db.factory() as s:
        assert s.scalar(select(func.count(CheckinAttempt.id))) >= 6
    later = NOW + attempts.WINDOW + timedelta(minutes=1)
    assert _try(db, policy, teacher, right, now=later).newly_recorded


def test_twenty_concurrent_guesses_get_five_tries(site, policy):
    db, teacher, wrong = site["db"], site["teachers"][0], _wrong(site)
    outcomes = race(20, lambda i: _try(db, policy, teacher, wrong[i]) and "ok")
    assert outcomes == Counter({"CheckinError": 5, "TooManyAttempts": 15}), outcomes


def test_guesses_across_teachers_are_limited_per_session(site, policy, monkeypatch):
    monkeypatch.setattr(attempts, "PER_SESSION", 3)
    db, wrong = site["db"], _wrong(site)
    for teacher in site["teachers"][:3]:
        with pytest.raises(CheckinError):
            _try(db, policy, teacher, wrong[teacher])
    with pytest.raises(TooManyAttempts, match="本场活动"):
        _try(db, policy, site["teachers"][3], wrong[0])


def test_concurrent_check_ins_of_one_teacher_record_and_credit_once(site, policy):
    db, teacher, code = site["db"], site["teachers"][0], _code(site)

    def one(_: int) -> str:
        return "new" if _try(db, policy, teacher, code).newly_recorded else "again"

    outcomes = race(12, one)
    assert outcomes == Counter({"new": 1, "again": 11}), outcomes
    with db.factory() as s:
        assert s.scalar(select(func.count(Attendance.id))) == 1
        assert s.scalar(select(func.count(CreditRecord.id))) == 1


def test_concurrent_sheet_corrections_void_the_credit_once(site, policy):
    db, teacher, code = site["db"], site["teachers"][0], _code(site)
    _try(db, policy, teacher, code)  # present by code, 3 hours credited

    def mark(_: int) -> str:
        with db.factory() as s:
            off = s.get_one(OfflineSession, site["session_id"])
            outcome = mark_attendance(s, policy=policy, offline_session=off, teacher_id=teacher,
                                      status=AttendanceStatus.ABSENT, recorded_by_id=site["trainer"], today=DAY)  # fmt: skip
            s.commit()
            return outcome

    outcomes = race(10, mark)
    assert outcomes == Counter({"changed": 1, "unchanged": 9}), outcomes
    with db.factory() as s:
        assert s.scalar(select(func.count(CreditVoid.id))) == 1
        assert [e.hours for e in ledger_entries(s, [teacher]) if e.counts] == []
