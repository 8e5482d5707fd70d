"""Compliance snapshots give exactly the figures computed from the ledger (issue 19, scale)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import copy_sqlite
from yanxiu.accounts.models import Region, RegionLevel, Role, TeacherProfile, User
from yanxiu.accounts.scope import Scope
from yanxiu.credits.ledger import credit_hours
from yanxiu.credits.models import CreditSource
from yanxiu.credits.policy import CreditPolicy
from yanxiu.db.engine import make_engine, make_session_factory
from yanxiu.reports import snapshot
from yanxiu.reports.compliance import group_views, scoped_compliance, teacher_row_dict

TODAY = date(2026, 11, 20)


@pytest.fixture
def demo(demo_db_file: Path, tmp_path: Path) -> sessionmaker[Session]:
    """A private copy of the seeded demo (dashboards need its regions, schools and ledgers)."""
    copy_sqlite(demo_db_file, tmp_path / "demo.db")
    return make_session_factory(make_engine(f"sqlite:///{tmp_path / 'demo.db'}"))


def _province_scope(session) -> Scope:  # type: ignore[no-untyped-def]
    admin = session.scalars(select(User).where(User.role == Role.ADMIN)).first()
    top = session.scalars(select(Region).where(Region.parent_id.is_(None))).first()
    admin.region_id = top.id  # the widest admin: every county
    return Scope.for_user(session, admin)


def _slow(session, scope: Scope, policy: CreditPolicy, by: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    rows = scoped_compliance(session, policy=policy, today=TODAY, scope=scope)
    return [v.as_dict() for v in group_views(rows, by=by)]


def _fast(session, scope: Scope, policy: CreditPolicy, by: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    got = snapshot.grouped(session, scope=scope, policy=policy, today=TODAY, by=by)
    assert got is not None
    return [v.as_dict() for v in got.views]


def test_snapshots_serve_only_the_day_they_were_taken(
    demo: sessionmaker[Session], policy: CreditPolicy
) -> None:
    with demo() as s:
        scope = _province_scope(s)
        assert snapshot.grouped(s, scope=scope, policy=policy, today=TODAY, by="county") is None
        snapshot.refresh(s, policy=policy, today=TODAY - timedelta(days=1))
        assert snapshot.grouped(s, scope=scope, policy=policy, today=TODAY, by="county") is None
        assert snapshot.teacher_rows(s, scope=scope, policy=policy, today=TODAY) is None


def test_snapshot_figures_equal_the_ledger_and_follow_every_change(
    demo: sessionmaker[Session], policy: CreditPolicy
) -> None:
    with demo() as s:
        scope = _province_scope(s)
        assert snapshot.refresh(s, policy=policy, today=TODAY) > 100
        for by in ("county", "school"):
            assert _fast(s, scope, policy, by) == _slow(s, scope, policy, by)

        # A credit after the refresh makes its teacher dirty: still exact.
        teacher = s.scalars(
            select(User).join(TeacherProfile).where(User.role == Role.TEACHER).order_by(User.id)
        ).first()
        assert teacher is not None
        before = _fast(s, scope, policy, "county")
        credit_hours(
            s, policy=policy, teacher_id=teacher.id, source=CreditSource.OFFLINE,
            category="师德师风", hours=24, earned_on=TODAY - timedelta(days=3),
            title="师德专题集中培训", idempotency_key=f"test:snapshot:{teacher.id}",
        )  # fmt: skip
        s.commit()
        mark = s.get(snapshot.ComplianceWatermark, policy.code)
        assert mark is not None
        assert teacher.id in snapshot.dirty_teachers(s, mark, policy, scope)
        after = _fast(s, scope, policy, "county")
        assert after != before  # the new hours are counted …
        assert after == _slow(s, scope, policy, "county")  # … exactly as the ledger says

        # A changed tier (the policy's induction rule depends on it) is dirty as well.
        assert teacher.profile is not None
        teacher.profile.tier = policy.induction_tier or "新任教师"
        s.commit()
        for by in ("county", "school"):
            assert _fast(s, scope, policy, by) == _slow(s, scope, policy, by)

        # A deactivated teacher leaves both.
        teacher.is_active = False
        s.commit()
        assert _fast(s, scope, policy, "school") == _slow(s, scope, policy, "school")


def test_streamed_teacher_rows_equal_the_ledger(
    demo: sessionmaker[Session], policy: CreditPolicy
) -> None:
    with demo() as s:
        scope = _province_scope(s)
        snapshot.refresh(s, policy=policy, today=TODAY)
        county = s.scalars(select(Region).where(Region.level == RegionLevel.COUNTY)).first()
        assert county is not None
        narrow = scope.within({county.id})
        slow = [
            teacher_row_dict(r)
            for r in scoped_compliance(s, policy=policy, today=TODAY, scope=narrow)
        ]
        rows = snapshot.teacher_rows(s, scope=narrow, policy=policy, today=TODAY)
        assert rows is not None
        streamed = list(rows)
        assert 0 < len(streamed) < snapshot.count_teachers(s, scope)
        assert streamed == slow
