"""HTML pages and JSON endpoints, one module per area of the workspace.

Each module exposes ``router`` (HTML pages, left out of the OpenAPI schema) and ``api``
(JSON under ``/api/v1``). ``yanxiu.app.create_app`` includes them all.
"""

from __future__ import annotations

from fastapi import APIRouter

from yanxiu.web.routes import (
    accounts,
    admin,
    authoring,
    certificates,
    checkin,
    claims,
    courses,
    enrolment,
    gaps,
    jobs,
    notifications,
    org,
    paths,
    people,
    practice,
    program_admin,
    review,
    roster,
    search,
    studio_host,
    studios,
    study,
    synonyms,
    system,
    teacher,
    trainer,
)

AREAS = (
    system,
    search,
    paths,
    teacher,
    courses,
    study,
    checkin,
    claims,
    certificates,
    enrolment,
    practice,
    review,
    studios,
    studio_host,
    program_admin,  # before trainer: /trainer/programs/new is not a programme id
    trainer,
    admin,
    org,
    roster,
    accounts,
    gaps,
    synonyms,
    authoring,
    jobs,
    notifications,
    people,
)


def all_routers() -> list[APIRouter]:
    return [r for area in AREAS for r in (area.router, area.api)]
