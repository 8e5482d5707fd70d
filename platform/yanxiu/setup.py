"""Initialising a Yanxiu database: migrate, load content, seed the demo (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.catalog.lessons import sync_lessons
from yanxiu.catalog.media import content_store
from yanxiu.catalog.models import Course
from yanxiu.catalog.service import SyncCounts, sync_competencies, sync_courses
from yanxiu.config import Settings
from yanxiu.content import Content, load_content
from yanxiu.credits.policy import load_policies
from yanxiu.db import migrate, session_scope
from yanxiu.errors import InputError, Problem
from yanxiu.reports import snapshot
from yanxiu.runtime import get_engine, get_session_factory
from yanxiu.seed.demo import DemoSummary, seed_demo


@dataclass
class InitResult:
    content: Content
    catalog: SyncCounts
    demo: DemoSummary | None


def initialise(settings: Settings, *, demo: bool, progress: bool = True) -> InitResult:
    """Migrate, load content and (optionally) seed the demo; safe to run again."""
    content = load_content(settings.content_dir)  # validate everything before touching the DB
    engine = get_engine(settings)
    migrate.upgrade(engine)
    factory = get_session_factory(settings)
    with session_scope(factory) as session:
        sync_competencies(session, content.competencies)
        counts = sync_courses(session, content.resources, origin="content:catalog")
        store = content_store(
            settings.data_dir / "media", settings.content_dir / "lessons" / "media"
        )
        _, problems = sync_lessons(session, content.lessons, store)
        if problems:
            raise InputError(problems, "lessons refer to unknown courses; nothing was loaded")
    summary = None
    if demo:
        with session_scope(factory) as session:
            _check_program_modules(session, content)
            summary = seed_demo(
                session,
                content,
                password=settings.demo_password.get_secret_value(),
                progress=progress,
            )
    # The dashboards read per-teacher summaries; take them now (a job refreshes them nightly).
    with session_scope(factory) as session:
        policy = load_policies(settings.content_dir / "policies")[settings.policy]
        snapshot.refresh(session, policy=policy, today=date.today())
    return InitResult(content, counts, summary)


def _check_program_modules(session: Session, content: Content) -> None:
    codes = set(session.scalars(select(Course.code)))
    problems = [
        Problem("demo/roster.yaml", p["code"], f"module {m} is not in the catalog")
        for p in content.roster.get("programs", [])
        for m in p.get("modules", [])
        if m not in codes
    ]
    if problems:
        raise InputError(problems, "demo roster refers to unknown courses; nothing was seeded")
