"""The one access rule (yanxiu.accounts.scope), tested once as a table: role × relation → allowed.

A small province: 省 → 市A (县A1, 县A2) and 市B (县B1); one school per county. Every case is
checked three ways that must agree: ``can_read_user`` (one person, in Python), the SQL filter
(``teacher_ids``/``filter``, what lists and queues use) and ``can_read`` on a thing the teacher
owns (a practice record, a ledger entry: anything with ``teacher_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import password_hash
from yanxiu.accounts.models import Region, RegionLevel, Role, School, SchoolLocation, User
from yanxiu.accounts.scope import Scope
from yanxiu.errors import NotAllowed


@dataclass
class World:
    users: dict[str, User]
    regions: dict[str, Region]


def _region(s: Session, code: str, level: RegionLevel, parent: Region | None) -> Region:
    region = Region(code=code, name=code, level=level, parent_id=parent.id if parent else None)
    s.add(region)
    s.flush()
    return region


def _user(s: Session, name: str, role: Role, region: Region | None, school: School | None) -> User:
    user = User(username=name, display_name=name, password_hash=password_hash(), role=role,
                region_id=region.id if region else None, school_id=school.id if school else None)  # fmt: skip
    s.add(user)
    s.flush()
    return user


@pytest.fixture
def world(session: Session) -> World:
    province = _region(session, "省", RegionLevel.PROVINCE, None)
    city_a = _region(session, "市A", RegionLevel.CITY, province)
    city_b = _region(session, "市B", RegionLevel.CITY, province)
    regions = {"省": province, "市A": city_a, "市B": city_b}
    schools = {}
    for county, city in (("县A1", city_a), ("县A2", city_a), ("县B1", city_b)):
        regions[county] = _region(session, county, RegionLevel.COUNTY, city)
        school = School(code=f"校{county}", name=f"{county}中学", county_id=regions[county].id,
                        stages=["初中"], location=SchoolLocation.RURAL)  # fmt: skip
        session.add(school)
        session.flush()
        schools[county] = school
    T, TR, A, H = Role.TEACHER, Role.TRAINER, Role.ADMIN, Role.HOST
    people = {
        # teachers: region and school agree, as the roster sets them …
        "教师A1": (T, "县A1", "县A1"),
        "同校教师A1": (T, "县A1", "县A1"),
        "教师A2": (T, "县A2", "县A2"),
        "教师B1": (T, "县B1", "县B1"),
        # … or only one of them is set (the copies this module replaced disagreed here)
        "无区域教师A1": (T, None, "县A1"),
        "无学校教师A1": (T, "县A1", None),
        # staff: a region is their jurisdiction
        "县A1培训者": (TR, "县A1", None),
        "市A培训者": (TR, "市A", None),
        "无区域培训者": (TR, None, None),
        "县A1管理员": (A, "县A1", None),
        "市A管理员": (A, "市A", None),
        "省管理员": (A, "省", None),
        "无区域管理员": (A, None, None),
        # hosts reach the whole city above their county
        "县A1主持人": (H, "县A1", "县A1"),
        "无区域主持人B1": (H, None, "县B1"),
    }
    users = {
        name: _user(session, name, role, regions.get(region or ""), schools.get(school or ""))
        for name, (role, region, school) in people.items()
    }
    return World(users, regions)


# (who looks, at whom, allowed)
TABLE = [
    # a teacher sees only themself
    ("教师A1", "教师A1", True),
    ("教师A1", "同校教师A1", False),
    ("教师A1", "教师B1", False),
    # a county trainer: their county only, whichever of region or school places the teacher
    ("县A1培训者", "教师A1", True),
    ("县A1培训者", "无区域教师A1", True),
    ("县A1培训者", "无学校教师A1", True),
    ("县A1培训者", "教师A2", False),
    ("县A1培训者", "教师B1", False),
    # a city trainer: every county of the city, not the other city
    ("市A培训者", "教师A2", True),
    ("市A培训者", "无区域教师A1", True),
    ("市A培训者", "教师B1", False),
    # no region: nobody else (minimum necessary), not "everyone"
    ("无区域培训者", "教师A1", False),
    ("无区域管理员", "教师A1", False),
    # admins like trainers, by their region's subtree
    ("县A1管理员", "教师A1", True),
    ("县A1管理员", "教师A2", False),
    ("市A管理员", "教师A2", True),
    ("市A管理员", "教师B1", False),
    ("省管理员", "教师B1", True),
    ("省管理员", "无区域教师A1", True),
    # a host reaches the city above their county (region, else school's county)
    ("县A1主持人", "教师A2", True),
    ("县A1主持人", "教师B1", False),
    ("无区域主持人B1", "教师B1", True),
    ("无区域主持人B1", "教师A1", False),
    # staff see staff of their scope too (jobs, audit), never above it
    ("市A管理员", "县A1培训者", True),
    ("县A1管理员", "市A培训者", False),
]


@pytest.mark.parametrize(("viewer", "target", "allowed"), TABLE)
def test_role_by_relation(
    world: World, session: Session, viewer: str, target: str, allowed: bool
) -> None:
    me, them = world.users[viewer], world.users[target]
    scope = Scope.for_user(session, me)
    assert scope.can_read_user(session, them) is allowed
    assert scope.can_read_user(session, them.id) is allowed
    in_sql = them.id in set(session.scalars(scope.filter(select(User.id))))
    assert in_sql is allowed, "the SQL filter and the one-person check disagree"
    if them.role == Role.TEACHER:
        assert (them.id in scope.teacher_ids(session)) is allowed
    record = SimpleNamespace(teacher_id=them.id)  # e.g. a practice record or a ledger entry
    assert scope.can_read(session, record) is allowed
    if not allowed:
        with pytest.raises(NotAllowed):
            scope.require(session, record)


def test_programmes_are_read_by_region_or_by_the_trainer_who_runs_them(
    world: World, session: Session
) -> None:
    trainer = Scope.for_user(session, world.users["县A1培训者"])
    mine_elsewhere = SimpleNamespace(
        trainer_id=world.users["县A1培训者"].id, region_id=world.regions["县B1"].id
    )
    ours = SimpleNamespace(
        trainer_id=world.users["市A培训者"].id, region_id=world.regions["县A1"].id
    )
    theirs = SimpleNamespace(
        trainer_id=world.users["市A培训者"].id, region_id=world.regions["县A2"].id
    )
    assert trainer.can_read(session, mine_elsewhere)
    assert trainer.can_read(session, ours)
    assert not trainer.can_read(session, theirs)


def test_only_admins_oversee_what_others_did(world: World, session: Session) -> None:
    """Jobs and imports: one's own, and an admin's view of those in scope."""
    county_trainer = world.users["县A1培训者"]
    city_trainer = Scope.for_user(session, world.users["市A培训者"])
    city_admin = Scope.for_user(session, world.users["市A管理员"])
    assert city_trainer.can_oversee(session, world.users["市A培训者"].id)
    assert not city_trainer.can_oversee(session, county_trainer.id)  # a colleague's job
    assert city_admin.can_oversee(session, county_trainer.id)
    assert not Scope.for_user(session, world.users["县A1管理员"]).can_oversee(
        session, world.users["市A培训者"].id
    )


def test_narrowing_never_widens(world: World, session: Session) -> None:
    county_admin = Scope.for_user(session, world.users["县A1管理员"])
    widened = county_admin.within({world.regions["市A"].id, world.regions["县A2"].id})
    assert not widened.can_read_user(session, world.users["教师A2"])
    assert not widened.can_read_user(session, world.users["教师A1"])  # 县A1 not asked for
    city = Scope.for_user(session, world.users["市A管理员"]).within({world.regions["县A2"].id})
    assert city.can_read_user(session, world.users["教师A2"])
    assert not city.can_read_user(session, world.users["教师A1"])


def test_every_object_needs_a_rule(world: World, session: Session) -> None:
    with pytest.raises(TypeError):
        Scope.for_user(session, world.users["省管理员"]).can_read(session, object())


def test_overseers_are_exactly_the_staff_whose_scope_covers_a_person(
    world: World, session: Session
) -> None:
    """The inverse question (whom to tell about a teacher's contest) agrees with the table."""
    from yanxiu.accounts.scope import overseers

    staff_roles = (Role.TRAINER, Role.ADMIN)
    for target in ("教师A1", "无区域教师A1", "教师A2", "教师B1"):
        person = world.users[target]
        expected = {
            u.username
            for u in world.users.values()
            if u.role in staff_roles and Scope.for_user(session, u).can_read_user(session, person)
        }
        assert {u.username for u in overseers(session, person, staff_roles)} == expected
