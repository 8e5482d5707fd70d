"""`yanxiu init --demo` end to end: idempotent, deterministic, and the reports built on it."""

import csv
import io
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import BACKENDS, Database
from yanxiu.accounts.models import Role, User
from yanxiu.catalog.models import Course, CourseUnit, Enrolment, EnrolmentStatus
from yanxiu.cli import app
from yanxiu.config import get_settings
from yanxiu.credits.models import CreditRecord
from yanxiu.learning.models import UnitProgress
from yanxiu.studios.models import CaseResource

runner = CliRunner()


def invoke(db, *args, **env):
    get_settings.cache_clear()
    try:
        result = runner.invoke(
            app, list(args), env={"YANXIU_DATABASE_URL": db.url, "YANXIU_ENV": "test", **env}
        )
    finally:
        get_settings.cache_clear()
    return result


def table_counts(db):
    with db.factory() as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model))
            for model in (User, Course, Enrolment, CreditRecord, CaseResource)
        }


@pytest.fixture(scope="module", params=BACKENDS)
def demo_db(request, tmp_path_factory):
    """One seeded demo per backend for the whole module (seeding takes 10–25 s)."""
    db = Database(request.param, tmp_path_factory.mktemp("demo"))
    result = invoke(db, "init", "--demo")
    assert result.exit_code == 0, result.output
    yield db
    db.drop()


@pytest.mark.slow
def test_init_demo_twice_duplicates_nothing_and_keeps_user_changes(demo_db):
    before = table_counts(demo_db)
    assert before["users"] == 311 and before["courses"] >= 200 and before["credit_records"] > 3000
    with demo_db.factory() as s:
        user = s.scalar(select(User).where(User.username == "t001"))
        original_name, user.display_name = user.display_name, "改过的名字"
        s.commit()
    result = invoke(demo_db, "init", "--demo")
    assert result.exit_code == 0, result.output
    assert "already seeded" in result.output
    assert "0 created, 0 updated" in result.output
    assert table_counts(demo_db) == before
    with demo_db.factory() as s:
        user = s.scalar(select(User).where(User.username == "t001"))
        assert user.display_name == "改过的名字"
        user.display_name = original_name  # the module's other tests share this database
        s.commit()


@pytest.mark.slow
def test_demo_is_deterministic(demo_db, tmp_path):
    """A fresh SQLite seed matches the module's seed on whichever backend it used."""
    (tmp_path / "other").mkdir()
    other = Database("sqlite", tmp_path / "other")
    assert invoke(other, "init", "--demo").exit_code == 0

    def fingerprint(db):
        with db.factory() as s:
            users = s.execute(
                select(User.username, User.display_name, User.school_id).order_by(User.username)
            ).all()
            hours = s.execute(
                select(CreditRecord.teacher_id, func.sum(CreditRecord.hours))
                .group_by(CreditRecord.teacher_id)
                .order_by(CreditRecord.teacher_id)
            ).all()
        return users, hours

    assert fingerprint(demo_db) == fingerprint(other)
    other.drop()


@pytest.mark.slow
def test_demo_has_every_role_and_varied_compliance(demo_db):
    result = invoke(demo_db, "demo-logins")
    assert result.exit_code == 0
    for username in ("admin", "trainer.linjiang", "host.zhoumin", "t112"):
        assert username in result.output
    with demo_db.factory() as s:
        roles = set(s.scalars(select(User.role)))
    assert roles == set(Role)
    result = invoke(demo_db, "report", "compliance", "--today", "2026-11-20")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 300
    statuses = {r["status"] for r in rows}
    assert {"进度正常", "进度滞后"} <= statuses
    by_county = list(
        csv.DictReader(
            io.StringIO(
                invoke(
                    demo_db, "report", "compliance", "--by", "county", "--today", "2026-11-20"
                ).stdout
            )
        )
    )
    assert len(by_county) == 3 and sum(int(r["teachers"]) for r in by_county) == 300
    by_school = invoke(
        demo_db, "report", "compliance", "--by", "school", "--today", "2026-11-20"
    ).stdout
    assert len(list(csv.DictReader(io.StringIO(by_school)))) >= 25


@pytest.mark.slow
def test_demo_teachers_are_partway_through_units_recorded_by_the_study_service(demo_db):
    """Some demo teachers are midway through an online course's units: their progress is the
    share of units the study tables say they completed (a video or audio partly played shows
    its own partial bar), and none of those courses is credited."""
    with demo_db.factory() as s:
        rows = s.execute(
            select(Enrolment, UnitProgress)
            .join(CourseUnit, CourseUnit.course_id == Enrolment.course_id)
            .join(UnitProgress, (UnitProgress.unit_id == CourseUnit.id)
                  & (UnitProgress.teacher_id == Enrolment.teacher_id))
        ).all()  # fmt: skip
        enrolments = {e.id: e for e, _ in rows}
        assert len({e.teacher_id for e in enrolments.values()}) >= 3
        partly_played = [p for _, p in rows if p.completed_at is None and p.frontier > 0]
        assert partly_played  # a video or audio stopped partway
        for e in enrolments.values():
            assert e.status == EnrolmentStatus.ENROLLED and e.completed_at is None
            n_units = s.scalar(select(func.count()).where(CourseUnit.course_id == e.course_id,
                                                          CourseUnit.retired.is_(False)))  # fmt: skip
            n_done = sum(1 for x, p in rows if x.id == e.id and p.completed_at is not None)
            assert 0 < n_done < n_units  # the course bar: the share of its units done (in %)
            assert round(e.progress * 100) == round(100 * n_done / n_units)
            code = s.get(Course, e.course_id).code
            key = f"course:{e.teacher_id}:{code}"
            assert not s.scalar(select(func.count()).where(CreditRecord.idempotency_key == key))


@pytest.mark.slow
def test_export_ledger_commands(demo_db, tmp_path):
    out = tmp_path / "ledger.json"
    result = invoke(demo_db, "export", "ledger", "--format", "xapi", "--output", str(out))
    assert result.exit_code == 0, result.output
    statements = json.loads(out.read_text(encoding="utf-8"))
    assert statements and all(s["actor"]["account"]["name"] for s in statements)
    result = invoke(demo_db, "export", "ledger")
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert len(rows) >= len(statements)
    assert any(r["voided"] == "yes" for r in rows)  # the demo corrects some records


def test_import_command_reports_row_errors_and_exit_code(empty_db, tmp_path):
    assert invoke(empty_db, "init").exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,summary,outline,category,stages,subjects,hours,format,competencies,provider\n"
                   "X-1,短,太短,一,烹饪,初中,通用,4,online,PRC-QUES,中心\n", encoding="utf-8")  # fmt: skip
    result = invoke(empty_db, "import", "catalog", str(bad))
    assert result.exit_code == 2
    assert "bad.csv row 2 [X-1]" in result.output and "nothing was imported" in result.output


def test_validate_content_command():
    get_settings.cache_clear()
    result = runner.invoke(app, ["validate-content"])
    assert result.exit_code == 0 and result.output.startswith("ok:")
