"""Which people a user may see: the one access rule of the whole product.

Every route, service, job and export asks a :class:`Scope` rather than deciding for itself.

- A **teacher** sees only themself.
- A **trainer** or **admin** sees everyone whose home region lies in their own region's
  subtree (a city's scope covers its counties); without a region, nobody else.
- A **studio host** sees everyone in their push reach: the city above their county (a host
  speaks to the teachers of the whole city), or their own region if it is not a county.

A person's *home region* is the county of their school, or, for someone without a school
(staff), their own region. What a role may *do* to the people it sees (review, push, export)
is the role's business; this module only answers "may this user see that person".

Objects that belong to a person (a practice record, a ledger entry, an enrolment, a job) are
read through their owner: anything with a ``teacher_id``, ``owner_id`` or ``user_id``.
Objects that belong to a region (a programme) are read through ``region_id``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol, TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from yanxiu.accounts.models import Region, RegionLevel, Role, School, User
from yanxiu.errors import NotAllowed

OUT_OF_SCOPE = "无权访问：您的账号不能查看此内容。"

Ts = TypeVarTuple("Ts")


class Account(Protocol):
    """What a scope needs to know of the user it is for (a ``User`` or a logged-in snapshot)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> Role: ...
    @property
    def region_id(self) -> int | None: ...
    @property
    def school_id(self) -> int | None: ...


def region_subtree(session: Session, region_id: int) -> set[int]:
    """``region_id`` and every region below it (via ``Region.parent_id``)."""
    children: dict[int | None, list[int]] = {}
    for rid, parent in session.execute(select(Region.id, Region.parent_id)):
        children.setdefault(parent, []).append(rid)
    found, todo = {region_id}, [region_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def home_region(
    session: Session, user_id: int | None = None, *, account: Account | None = None
) -> int | None:
    """The county of the person's school, else their own region (None if neither is set)."""
    if account is None:
        account = session.get(User, user_id)
        if account is None:
            return None
    if account.school_id is not None:
        county = session.scalar(select(School.county_id).where(School.id == account.school_id))
        if county is not None:
            return int(county)
    return account.region_id


def reach_root(session: Session, account: Account) -> int | None:
    """The top of a user's scope: a trainer's or admin's region; for a host, the city above
    their county (their region, else their school's county)."""
    if account.role != Role.HOST:
        return account.region_id
    root = (
        account.region_id
        if account.region_id is not None
        else home_region(session, account=account)
    )
    if root is None:
        return None
    region = session.get(Region, root)
    if region is not None and region.level == RegionLevel.COUNTY and region.parent_id is not None:
        return region.parent_id
    return root


def region_ancestry(session: Session, region_id: int) -> list[int]:
    """``region_id`` and every region above it, nearest first."""
    parents: dict[int, int | None] = {
        int(rid): parent for rid, parent in session.execute(select(Region.id, Region.parent_id))
    }
    chain, seen = [], set()
    current: int | None = region_id
    while current is not None and current not in seen:
        chain.append(current)
        seen.add(current)
        current = parents.get(current)
    return chain


def overseers(session: Session, person: User, roles: Collection[Role]) -> list[User]:
    """Active staff of ``roles`` whose scope covers ``person`` (the inverse of the rule below:
    a trainer's or admin's region is the person's home region or one above it). Hosts reach by
    city, so they are not asked here."""
    home = home_region(session, account=person)
    if home is None:
        return []
    wanted = [r for r in roles if r in (Role.TRAINER, Role.ADMIN)]
    query = (
        select(User)
        .where(
            User.role.in_(wanted),
            User.is_active.is_(True),
            User.region_id.in_(region_ancestry(session, home)),
        )
        .order_by(User.id)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class Scope:
    """The people one user may see (see the module docstring for the rule)."""

    user_id: int
    role: Role
    regions: frozenset[int]  # regions whose people this user sees (empty for a teacher)

    @classmethod
    def for_user(cls, session: Session, user: Account) -> Scope:
        regions: frozenset[int] = frozenset()
        if user.role != Role.TEACHER:
            root = reach_root(session, user)
            regions = frozenset(region_subtree(session, root)) if root is not None else frozenset()
        return cls(user_id=user.id, role=user.role, regions=regions)

    # -- regions

    def covers_region(self, region_id: int | None) -> bool:
        return region_id is not None and region_id in self.regions

    def within(self, region_ids: Collection[int]) -> Scope:
        """This scope narrowed to ``region_ids`` (a county's or school's drill-down)."""
        return Scope(self.user_id, self.role, self.regions & frozenset(region_ids))

    # -- people, in SQL

    def user_clause(self) -> ColumnElement[bool]:
        """A condition on ``User`` rows: true for the people this scope sees."""
        if self.role == Role.TEACHER or not self.regions:
            return User.id == self.user_id
        regions = list(self.regions)
        schools_here = select(School.id).where(School.county_id.in_(regions))
        return or_(
            User.id == self.user_id,
            User.school_id.in_(schools_here),
            and_(User.school_id.is_(None), User.region_id.in_(regions)),
        )

    def user_ids(self) -> Select[int]:
        """``SELECT users.id`` of every person in scope (a subquery for ``.in_()``)."""
        return select(User.id).where(self.user_clause())

    def filter(
        self,
        query: Select[*Ts],
        person: InstrumentedAttribute[int] | ColumnElement[int] | None = None,
    ) -> Select[*Ts]:
        """``query`` restricted to rows whose ``person`` column (default ``User.id``) is in scope.

        With the default, ``query`` must select from ``users``; otherwise name the column that
        holds the person (``PracticeRecord.teacher_id``, ``CreditRecord.teacher_id`` …).
        """
        if person is None:
            return query.where(self.user_clause())
        return query.where(person.in_(self.user_ids()))

    def teacher_ids(self, session: Session) -> set[int]:
        """Ids of every teacher in scope (active or not)."""
        query = self.filter(select(User.id).where(User.role == Role.TEACHER))
        return {int(i) for i in session.scalars(query)}

    # -- people and their things, one at a time

    def can_read_user(self, session: Session, user: User | int | None) -> bool:
        if user is None:
            return False
        if isinstance(user, int):
            if user == self.user_id:
                return True
            found = session.get(User, user)
            if found is None:
                return False
            user = found
        if user.id == self.user_id:
            return True
        if self.role == Role.TEACHER:
            return False
        return self.covers_region(home_region(session, account=user))

    def can_read(self, session: Session, obj: object) -> bool:
        """May this user see ``obj``: a person, something a person owns, or a region's thing."""
        if isinstance(obj, User):
            return self.can_read_user(session, obj)
        for owner in ("teacher_id", "owner_id", "user_id"):
            if hasattr(obj, owner):
                return self.can_read_user(session, getattr(obj, owner))
        if getattr(obj, "trainer_id", None) == self.user_id:  # a programme this user runs
            return True
        if hasattr(obj, "region_id"):
            return self.covers_region(obj.region_id)
        raise TypeError(f"no access rule for {type(obj).__name__}")

    def can_oversee(self, session: Session, actor_id: int | None) -> bool:
        """May this user see what ``actor_id`` *did* (their background jobs, their imports):
        their own, and an admin's view of anyone in scope; a trainer does not watch colleagues."""
        if actor_id == self.user_id:
            return True
        return self.role == Role.ADMIN and self.can_read_user(session, actor_id)

    def require(self, session: Session, obj: object, message: str = OUT_OF_SCOPE) -> None:
        """:class:`~yanxiu.errors.NotAllowed` unless :meth:`can_read`."""
        if not self.can_read(session, obj):
            raise NotAllowed(message)

    def readable(self, session: Session, ids: Collection[int]) -> set[int]:
        """Those of ``ids`` (user ids) this scope sees."""
        if not ids:
            return set()
        query = self.filter(select(User.id).where(User.id.in_(list(ids))))
        return {int(i) for i in session.scalars(query)}
