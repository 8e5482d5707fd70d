"""Figures about the whole installation (the public home page) and a database liveness check."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import School, User
from yanxiu.catalog.models import Course
from yanxiu.studios.models import CaseResource, Studio


def health_check(session: Session) -> None:
    """Raises if the database cannot answer."""
    session.execute(select(1))


def site_stats(session: Session) -> dict[str, int]:
    """What the home page counts: resources, cases, studios, schools, users."""
    counted = {"课程资源": Course.id, "实践案例": CaseResource.id, "名师工作室": Studio.id,
               "学校": School.id, "用户": User.id}  # fmt: skip
    return {
        label: int(session.scalar(select(func.count(col))) or 0) for label, col in counted.items()
    }
