"""The logins `make run` prints complete each other's loops (issue 17, demo wiring)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

import yanxiu.tables  # noqa: F401
from tests.conftest import copy_sqlite
from yanxiu.accounts.models import Role, User
from yanxiu.accounts.scope import Scope
from yanxiu.config import PROJECT_ROOT
from yanxiu.practice.models import RecordKind
from yanxiu.practice.review import review_queue
from yanxiu.practice.service import submit_record
from yanxiu.seed.demo import demo_logins, featured_logins
from yanxiu.studios.models import Studio, StudioMember

TRANSCRIPT = (
    "[00:00:05] 师：同学们，今天我们研究一次函数的图像。\n[00:00:20] 生：老师，它是一条直线吗？\n"
)


def test_the_printed_logins_complete_each_others_loops(demo_db_file: Path, tmp_path: Path) -> None:
    copy_sqlite(demo_db_file, tmp_path / "demo.db")
    factory = sessionmaker(create_engine(f"sqlite:///{tmp_path / 'demo.db'}"))
    with factory() as s:
        logins = {
            role: name
            for role, name, _ in demo_logins(s, featured_logins(PROJECT_ROOT / "content"))
        }
        assert set(logins) == {"admin", "trainer", "host", "teacher"}
        user = {r: s.scalar(select(User).where(User.username == n)) for r, n in logins.items()}
        teacher, trainer, host, admin = (
            user["teacher"],
            user["trainer"],
            user["host"],
            user["admin"],
        )
        assert teacher and trainer and host and admin and teacher.role == Role.TEACHER
        # the teacher is in the trainer's and the admin's scope, and in the host's studio
        assert Scope.for_user(s, trainer).can_read_user(s, teacher)
        assert Scope.for_user(s, admin).can_read_user(s, teacher)
        studios = s.scalars(select(Studio.id).where(Studio.host_id == host.id)).all()
        assert s.scalar(
            select(StudioMember.teacher_id).where(
                StudioMember.studio_id.in_(studios), StudioMember.teacher_id == teacher.id
            )
        ), "the printed teacher is a member of the printed host's studio"
        # what the teacher uploads waits in the printed trainer's queue
        _, diagnosis = submit_record(
            s, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT, data=TRANSCRIPT.encode(),
            filename="loop.txt", title="演示闭环", stage="初中", subject="数学",
        )  # fmt: skip
        assert diagnosis.id in {d.id for d in review_queue(s, reviewer=trainer, limit=10_000)}
        s.rollback()
