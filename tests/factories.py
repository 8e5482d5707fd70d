"""Small builders for test data (a region, a school, a teacher with a profile)."""

from __future__ import annotations

from datetime import date
from itertools import count

from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, RegionLevel, Role, School, SchoolLocation, User
from yanxiu.accounts.service import create_teacher_profile, create_user

_seq = count(1)
# A precomputed argon2 hash of "password123", so factories don't spend 50 ms per user.
PASSWORD = "password123"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        from yanxiu.accounts.security import hash_password

        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


def make_school(session: Session, *, rural: bool = False, weak: bool = False) -> School:
    n = next(_seq)
    county = Region(code=f"C{n}", name=f"测试县{n}", level=RegionLevel.COUNTY)
    session.add(county)
    session.flush()
    school = School(
        code=f"S{n}", name=f"测试学校{n}", county_id=county.id, stages=["初中"],
        location=SchoolLocation.RURAL if rural else SchoolLocation.URBAN, is_weak=weak,
    )  # fmt: skip
    session.add(school)
    session.flush()
    return school


def make_teacher(
    session: Session,
    *,
    school: School | None = None,
    tier: str = "合格教师",
    cycle_start: date = date(2024, 9, 1),
    stage: str = "初中",
    subjects: list[str] | None = None,
) -> User:
    school = school or make_school(session)
    n = next(_seq)
    user = create_user(
        session, username=f"teacher{n}", display_name=f"教师{n}", role=Role.TEACHER,
        password_hash=password_hash(), region_id=school.county_id, school_id=school.id,
    )  # fmt: skip
    create_teacher_profile(
        session, user=user, stage=stage, subjects=subjects or ["数学"], tier=tier, years_teaching=5,
        posts=[], cycle_start=cycle_start,
    )  # fmt: skip
    return user
