"""The synthetic province generator writes a consistent province (small here; 100k in the bench)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from yanxiu.accounts.models import Region, Role, School, User
from yanxiu.accounts.scope import Scope
from yanxiu.credits.models import CreditRecord
from yanxiu.lab.province import generate
from yanxiu.reports import snapshot
from yanxiu.reports.compliance import group_views, scoped_compliance
from yanxiu.runtime import get_session_factory

TODAY = date(2026, 11, 20)


def test_a_small_province_is_consistent_and_its_snapshots_exact(
    settings_for, tmp_path: Path, policy
) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(f"sqlite:///{tmp_path / 'province.db'}")
    summary = generate(settings, teachers=150, schools=12, records_per_teacher=10,
                       password="Bench-2026-pass", today=TODAY, log=lambda _m: None)  # fmt: skip
    assert (summary.teachers, summary.schools, summary.regions) == (150, 12, 111)
    with get_session_factory(settings)() as s:
        assert s.scalar(select(func.count()).select_from(School)) == 12
        assert s.scalar(select(func.count()).where(User.role == Role.TEACHER)) == 150
        assert s.scalar(select(func.count()).select_from(CreditRecord)) == summary.records
        # every teacher's school lies in the county the teacher is registered in
        for user in s.scalars(select(User).where(User.role == Role.TEACHER)):
            assert user.school is not None and user.school.county_id == user.region_id
        admin = s.scalars(select(User).where(User.username == "bench.admin")).one()
        scope = Scope.for_user(s, admin)
        fast = snapshot.grouped(s, scope=scope, policy=policy, today=TODAY, by="county")
        assert fast is not None
        slow = group_views(
            scoped_compliance(s, policy=policy, today=TODAY, scope=scope), by="county"
        )
        assert [v.as_dict() for v in fast.views] == [v.as_dict() for v in slow]
        assert s.scalar(select(func.count()).where(Region.parent_id.is_(None))) == 1
    with pytest.raises(ValueError, match="empty"):
        generate(settings, teachers=5, schools=2, password="Bench-2026-pass", log=lambda _m: None)
