"""Kill a process in the middle of crediting: nothing committed is lost or doubled."""

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select, text

from tests.factories import make_teacher
from yanxiu.audit.models import AuditEntry
from yanxiu.config import PROJECT_ROOT
from yanxiu.credits.models import CreditRecord

N = 400


def run_worker(url: str, teacher_id: int, *, kill_after: int | None) -> list[int]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.crash_worker", url, str(teacher_id), str(N)],
        stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT, env=env,
    )  # fmt: skip
    committed = []
    assert proc.stdout is not None
    for line in proc.stdout:
        committed.append(int(line.split()[1]))
        if kill_after is not None and len(committed) >= kill_after:
            proc.send_signal(
                signal.SIGKILL
            )  # no cleanup, no atexit: like a power cut to the process
            break
    proc.wait(timeout=120)
    return committed


@pytest.mark.slow
def test_kill_mid_crediting_loses_and_doubles_nothing(db):
    with db.factory() as s:
        teacher_id = make_teacher(s).id
        s.commit()
    committed = run_worker(db.url, teacher_id, kill_after=N // 3)
    assert len(committed) >= N // 3

    if db.backend == "sqlite":
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    with db.factory() as s:
        keys = list(
            s.scalars(
                select(CreditRecord.idempotency_key).where(CreditRecord.teacher_id == teacher_id)
            )
        )
        assert len(keys) == len(set(keys))  # nothing doubled
        assert {f"crash:{i}" for i in committed} <= set(keys)  # nothing committed was lost
        # the killed transaction, if any, left no half: every record has its audit entry
        audited = s.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "credit.create")
        )
        assert audited == len(keys)

    # Re-running the whole job after the crash completes it without doubling anything.
    run_worker(db.url, teacher_id, kill_after=None)
    with db.factory() as s:
        total = s.scalar(
            select(func.count(CreditRecord.id)).where(CreditRecord.teacher_id == teacher_id)
        )
        assert total == N
