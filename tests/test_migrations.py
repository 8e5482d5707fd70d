import datetime as dt

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from tests.factories import make_teacher
from yanxiu.credits.ledger import credit_hours, review_record, void_record
from yanxiu.credits.models import CreditSource, ReviewState
from yanxiu.db import migrate
from yanxiu.db.append_only import APPEND_ONLY_TABLES
from yanxiu.practice.models import (
    Diagnosis,
    DiagnosisReview,
    DiagnosisStatus,
    PracticeRecord,
    RecordKind,
    ReviewDecision,
)
from yanxiu.tables import metadata


def test_migrations_from_empty_create_every_table(empty_db):
    assert migrate.current_revision(empty_db.engine) is None
    migrate.upgrade(empty_db.engine)
    tables = set(inspect(empty_db.engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert migrate.current_revision(empty_db.engine) == single_head()


def single_head() -> str:
    """The newest revision; branches merged without re-chaining their migrations would leave
    two heads, and ``upgrade("head")`` would refuse to run."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(migrate.MIGRATIONS_DIR)).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    return heads[0]


def test_migrations_go_down_and_up_again(empty_db):
    migrate.upgrade(empty_db.engine)
    migrate.downgrade(empty_db.engine, "base")
    assert not set(metadata.tables) & set(inspect(empty_db.engine).get_table_names())
    migrate.upgrade(empty_db.engine)
    assert set(metadata.tables) <= set(inspect(empty_db.engine).get_table_names())


def test_models_match_the_migrations(db):
    """Autogenerate against the migrated database finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def _fill_append_only_tables(db, policy):
    with db.factory() as s:
        t = make_teacher(s)
        rec, _ = credit_hours(
            s, policy=policy, teacher_id=t.id, source=CreditSource.ONLINE, category="师德师风",
            hours=2, earned_on=dt.date(2025, 1, 1), title="师德专题", idempotency_key="k1",
        )  # fmt: skip
        review_record(s, record_id=rec.id, state=ReviewState.APPROVED, reviewer_id=None)
        void_record(s, record_id=rec.id, reason="测试作废", actor_id=None)
        record = PracticeRecord(
            teacher_id=t.id,
            kind=RecordKind.TRANSCRIPT,
            title="课堂实录",
            text="师：好。",
            sha256="0" * 64,
        )
        s.add(record)
        s.flush()
        diagnosis = Diagnosis(
            record_id=record.id, model_version="v", status=DiagnosisStatus.PENDING_REVIEW
        )
        s.add(diagnosis)
        s.flush()
        s.add(
            DiagnosisReview(
                diagnosis_id=diagnosis.id, reviewer_id=t.id, decision=ReviewDecision.ACCEPT
            )
        )
        s.commit()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_append_only_tables_refuse_update_and_delete(db, policy, table):
    _fill_append_only_tables(db, policy)
    with db.engine.connect() as conn:
        assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() > 0
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    with db.engine.connect() as conn:  # and nothing changed
        assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() > 0
