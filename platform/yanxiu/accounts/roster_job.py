"""Roster import as a background job (web) or in the foreground (command line).

:func:`run_roster_import` reads the table, plans every row and, unless it is a dry run or a
row is bad, applies the plan in one transaction. It fills a :class:`RosterOutcome` that the job
page renders as the job runs: every bad row with its row, column and what to fix, or what was
(or would be) created, changed and deactivated.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from yanxiu.accounts.models import User
from yanxiu.accounts.passwords import check_password, one_time_password
from yanxiu.accounts.roster import (
    Applied,
    RosterPlan,
    RosterRules,
    RowProblem,
    apply_roster,
    plan_roster,
)
from yanxiu.accounts.scope import Scope
from yanxiu.accounts.security import hash_password
from yanxiu.audit.service import record_audit
from yanxiu.db import session_scope
from yanxiu.errors import Invalid, TooLarge
from yanxiu.spreadsheet import read_table

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
SAMPLE = 200  # changes listed per kind on the page (the counts are complete)
KIND_LABELS = {"create": "新建", "update": "更新", "transfer": "调动（换学校）", "deactivate": "停用（调出/离职）",
               "reactivate": "恢复（重新在职）", "unchanged": "未变化", "skip": "跳过（新工号但已调出/离职）"}  # fmt: skip


class Progress(Protocol):  # yanxiu.jobs.Progress
    def set_total(self, total: int) -> None: ...
    def advance(self, steps: int = 1, message: str | None = None) -> None: ...


class JobProgress(Progress, Protocol):  # a queued job's progress also keeps its outcome
    def set_detail(self, detail: dict[str, Any]) -> None: ...


class Submit(Protocol):  # yanxiu.services.Services.submit_job
    def __call__(
        self, handler: str, title: str, *, owner_id: int, params: dict[str, Any] | None = None,
        secret: dict[str, Any] | None = None,
    ) -> Any: ...  # fmt: skip


class RosterRejected(Exception):
    """Some rows are bad; nothing was written (the outcome lists them)."""


@dataclass
class RosterOutcome:
    filename: str
    dry_run: bool
    template: str = "jobs/_roster_outcome.html"  # how the job page shows this outcome
    state: Literal["running", "rejected", "previewed", "imported", "failed"] = "running"
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rows: int = 0
    initial_password: str = ""  # generated for this import: shown to its owner on the job page
    owner_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state, "dry_run": self.dry_run, "rows": self.rows, "counts": self.counts,
            "warnings": self.warnings,
            "problems": [{"row": p.row, "column": p.column, "message": p.message} for p in self.problems],
        }  # fmt: skip

    def page_dict(self) -> dict[str, Any]:
        """Everything the job page shows (kept as the job's detail; never the password)."""
        return {**self.as_dict(), "template": self.template, "filename": self.filename,
                "owner_id": self.owner_id, "samples": self.samples, "kind_labels": KIND_LABELS,
                "problems": [{"row": p.row, "where": p.where, "column": p.column,
                              "message": p.message} for p in self.problems]}  # fmt: skip

    def fill(self, plan: RosterPlan) -> None:
        self.rows, self.warnings, self.problems = plan.rows, plan.warnings, plan.problems
        self.counts = plan.counts()
        self.samples = {}
        for change in plan.changes:
            listed = self.samples.setdefault(change.kind, [])
            if change.kind != "unchanged" and len(listed) < SAMPLE:
                listed.append({"row": change.row, "staff_no": change.staff_no, "name": change.name,
                               "details": "、".join(change.details)})  # fmt: skip

    @property
    def kind_labels(self) -> dict[str, str]:
        return KIND_LABELS


def check_upload(filename: str, data: bytes) -> None:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in ("csv", "xlsx"):
        raise Invalid("请上传 .xlsx 或 .csv 文件（可先下载模板填写）。")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"文件超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，请拆分后分批导入。")
    if not data.strip():
        raise Invalid("上传的文件是空的。")


def run_roster_import(
    progress: Progress, *, factory: sessionmaker[Session], data: bytes, outcome: RosterOutcome,
    rules: RosterRules, actor_id: int | None, scope: Scope | None, initial_password: str = "",
    password_hash: str = "",
) -> str:  # fmt: skip
    """The job: read, check every row, then (not a dry run, no bad row) write all at once.

    Raises:
        RosterRejected: Some rows are bad; ``outcome.problems`` lists them, nothing changed.
    """
    try:
        progress.advance(0, "正在读取文件…")
        table = read_table(data, outcome.filename)
        rows = len(table.rows)
        progress.set_total(rows * (1 if outcome.dry_run else 2) + 1)
        progress.advance(1, f"正在逐行校验 {rows} 行…")

        def step(n: int) -> None:
            progress.advance(n)

        with session_scope(factory) as session:
            plan = plan_roster(session, table, scope=scope, rules=rules, progress=step)
            outcome.fill(plan)
            if plan.problems:
                raise RosterRejected(
                    f"文件中有 {len(plan.problems)} 处问题，未导入任何数据。请按下表逐行修改后重新上传。"
                )
            if outcome.dry_run:
                outcome.state = "previewed"
                return "预检完成（未写入任何数据）：" + _summary(plan)
            progress.advance(0, "正在写入…")
            applied: Applied = apply_roster(session, plan, rules=rules, actor_id=actor_id,
                                            password_hash=password_hash or hash_password(initial_password),
                                            progress=step)  # fmt: skip
            record_audit(session, actor_id=actor_id, action="roster.import", entity="roster",
                         entity_id=outcome.filename[:64], detail={"rows": rows, **plan.counts()})  # fmt: skip
        outcome.state = "imported"
        if not applied.created:
            outcome.initial_password = ""  # nobody new: nothing to hand out
        return "导入完成：" + _summary(plan)
    except RosterRejected:
        outcome.state = "rejected"
        with session_scope(factory) as session:
            record_audit(session, actor_id=actor_id, action="roster.import_rejected", entity="roster",
                         entity_id=outcome.filename[:64], detail={"problems": len(outcome.problems)})  # fmt: skip
        raise
    except IntegrityError:  # another import wrote the same 工号 meanwhile: nothing of ours stays
        outcome.state = "failed"
        raise RuntimeError(
            "另一项名册导入同时写入了相同的工号，本次导入已整体撤销；请重新预检后再导入。"
        ) from None
    except Invalid as refused:  # the file itself cannot be read
        outcome.state = "rejected"
        outcome.problems = [RowProblem(0, "", refused.message)]
        raise RosterRejected(refused.message) from None
    except Exception:
        outcome.state = "failed"
        raise


def _summary(plan: RosterPlan) -> str:
    c = plan.counts()
    return (f"新建 {c['create']} 人，更新 {c['update']} 人，调动 {c['transfer']} 人，停用 {c['deactivate']} 人，"
            f"恢复 {c['reactivate']} 人，未变化 {c['unchanged']} 人，跳过 {c['skip']} 人。")  # fmt: skip


def initial_password_for(given: str) -> tuple[str, bool]:
    """The initial password of the teachers an import creates: the admin's (checked), or a
    generated one (True: show it to them)."""
    if given:
        check_password(given, field="initial_password")
        return given, False
    return one_time_password(), True


def start_roster_import(
    submit: Submit, *, data: bytes, filename: str, folder: Path, dry_run: bool,
    cycle_start: str, actor_id: int, initial_password: str = "",
) -> Any:  # fmt: skip
    """Check the upload, keep it under ``folder`` and queue the import (returns the job).

    The job's parameters hold the initial password's hash only; a generated password is handed
    to the job page of the process that started it (``secret``), never written anywhere.
    """
    check_upload(filename, data)
    password, generated = initial_password_for(initial_password)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("roster.xlsx" if filename.lower().endswith(".xlsx") else "roster.csv")
    path.write_bytes(data)
    params = {"path": str(path), "filename": filename, "dry_run": dry_run, "cycle_start": cycle_start,
              "actor_id": actor_id, "password_hash": hash_password(password)}  # fmt: skip
    shown = password if generated and not dry_run else ""
    title = f"{'预检' if dry_run else '导入'}教师名册：{filename}"
    return submit("roster", title, owner_id=actor_id, params=params,
                  secret={"initial_password": shown} if shown else None)  # fmt: skip


def run_roster_job(
    progress: JobProgress, params: dict[str, Any], *, factory: sessionmaker[Session],
    rules: RosterRules,
) -> str:  # fmt: skip
    """The "roster" job: :func:`run_roster_import` on the saved upload, as the admin who started
    it (their scope now), its outcome kept as the job's detail whatever happens."""
    path = Path(params["path"])
    outcome = RosterOutcome(filename=str(params["filename"]), dry_run=bool(params["dry_run"]),
                            owner_id=params.get("actor_id"))  # fmt: skip
    actor_id = params.get("actor_id")
    try:
        with session_scope(factory) as session:
            actor = session.get(User, actor_id) if actor_id is not None else None
            if actor is None:
                raise RuntimeError("发起导入的账号已不存在。")
            scope = Scope.for_user(session, actor)
        return run_roster_import(
            progress, factory=factory, data=path.read_bytes(), outcome=outcome, rules=rules,
            actor_id=actor_id, scope=scope, password_hash=str(params["password_hash"]),
        )  # fmt: skip
    finally:
        progress.set_detail(outcome.page_dict())
        shutil.rmtree(path.parent, ignore_errors=True)
