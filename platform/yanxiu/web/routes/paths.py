"""研修路径 API：a teacher's precise training path, each step explained."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter

from yanxiu.recommend.service import path_for
from yanxiu.web.deps import PathReader, ScopeDep, ServicesDep, SessionDep

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")


@api.get("/teachers/{teacher}/path", tags=["recommendation"])
def teacher_path(
    teacher: str,
    user: PathReader,
    scope: ScopeDep,
    services: ServicesDep,
    db: SessionDep,
    today: date | None = None,
) -> dict[str, object]:
    """A teacher's precise training path (by user id or username), each step explained.

    A teacher reads their own; a trainer or admin, teachers within their region."""
    path = path_for(
        db, services.recommender, scope=scope, teacher=teacher, policy=services.policy,
        today=today or date.today(), unavailable=services.search_error,
    )  # fmt: skip
    return path.as_dict()
