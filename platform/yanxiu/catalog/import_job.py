"""Catalog import as a background job: validate every row, import all or nothing, re-index.

The web upload (管理员 → 课程目录 → 导入) saves the file and submits :func:`run_catalog_import`
to the job registry. The job fills an :class:`ImportOutcome` that the job page renders: every
bad row with its row number and problem (in Chinese), or the counts created and updated, and
whether the search index was refreshed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session, sessionmaker

from yanxiu.audit.service import record_audit
from yanxiu.catalog.service import SyncCounts, import_catalog_file
from yanxiu.db import session_scope
from yanxiu.errors import InputError, Invalid, Problem, TooLarge

ACCEPTED_SUFFIXES = (".csv", ".json", ".yaml", ".yml")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class Progress(Protocol):  # yanxiu.jobs.Progress
    def set_total(self, total: int) -> None: ...
    def advance(self, steps: int = 1, message: str | None = None) -> None: ...


class JobProgress(Progress, Protocol):  # a queued job's progress also keeps its outcome
    def set_detail(self, detail: dict[str, Any]) -> None: ...


class Submit(Protocol):  # yanxiu.services.Services.submit_job
    def __call__(
        self, handler: str, title: str, *, owner_id: int, params: dict[str, Any] | None = None
    ) -> Any: ...


class ImportRejected(Exception):
    """The file had problems; nothing was imported (the outcome lists them)."""


@dataclass(frozen=True)
class RowProblem:
    row: str  # "第 3 行" (CSV, the header is row 1), "第 2 条" (JSON/YAML), or "整个文件"
    row_number: int | None
    item: str  # the resource id, when known
    message: str  # in Chinese where the problem is a known kind
    original: str  # the validator's own words


@dataclass
class ImportOutcome:
    filename: str
    state: Literal["running", "rejected", "imported", "failed"] = "running"
    problems: list[RowProblem] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    index_note: str = ""
    index_refreshed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The outcome as the job API reports it (every rejected row, or the counts)."""
        return {
            "filename": self.filename, "state": self.state, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "index_refreshed": self.index_refreshed,
            "index_note": self.index_note,
            "problems": [{"row": p.row, "row_number": p.row_number, "item": p.item,
                          "message": p.message, "original": p.original} for p in self.problems],
        }  # fmt: skip


FIELD_NAMES = {
    "id": "编号", "title": "标题", "summary": "简介", "outline": "大纲", "problems": "典型困惑", "body": "正文",
    "category": "类别", "stages": "学段", "subjects": "学科", "levels": "层次", "posts": "岗位",
    "hours": "学时", "format": "形式", "prerequisites": "先修课程", "competencies": "能力点",
    "provider": "提供方", "status": "状态",
}  # fmt: skip
_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Field required$"), "缺少必填内容"),
    (re.compile(r"^String should have at least (\d+) characters?$"), r"至少 \1 个字"),
    (re.compile(r"^String should have at most (\d+) characters?$"), r"最多 \1 个字"),
    (re.compile(r"^List should have at least (\d+) items? after validation, not \d+$"), r"至少填写 \1 项"),
    (re.compile(r"^List should have at most (\d+) items? after validation, not \d+$"), r"最多填写 \1 项"),
    (re.compile(r"^Input should be greater than (\S+)$"), r"应大于 \1"),
    (re.compile(r"^Input should be less than or equal to (\S+)$"), r"应不超过 \1"),
    (re.compile(r"^Input should be a valid number.*$"), "应为数字"),
    (re.compile(r"^Input should be a valid (list|array).*$"), "应为列表（CSV 中用分号分隔）"),
    (re.compile(r"^Input should be (.+) \(got (.+)\)$"), r"取值应为 \1（实际为 \2）"),
    (re.compile(r"^Extra inputs are not permitted$"), "不认识的列，请删除或改用模板中的列名"),
    (re.compile(r"^Value error, hours must be a whole or half.*$"), "学时须为整数或半学时（如 6 或 6.5）"),
    (re.compile(r"^Value error, id must look like.*$"), "编号格式应如 SD-001 或 XK-YW-01（大写字母、数字和连字符）"),
    (re.compile(r"^duplicate id \(first defined at (.+)\)$"), r"编号重复（首次出现在 \1）"),
    (re.compile(r"^unknown competency id\(s\) (.+): use ids.*$"), r"能力点编号不存在：\1"),
    (re.compile(r"^prerequisite (\S+) does not exist$"), r"先修课程 \1 不存在"),
    (re.compile(r"^lists itself as a prerequisite$"), "把自己列为了先修课程"),
    (re.compile(r"^(?:import would create a )?prerequisite cycle: (.+)$"), r"先修课程形成循环：\1"),
    (re.compile(r"^more values than columns in this row$"), "本行的值比表头的列多（检查是否有多余的逗号）"),
    (re.compile(r"^expected a mapping of fields$"), "应为一条资源的字段集合"),
    (re.compile(r"^CSV needs a header row.*$"), "CSV 第一行须为表头，且至少包含 id 列"),
    (re.compile(r"^not UTF-8 text.*$"), "文件不是 UTF-8 编码，请另存为 UTF-8 后再上传"),
    (re.compile(r"^cannot be parsed: (.+)$"), r"文件无法解析：\1"),
    (re.compile(r"^expected a list of resources.*$"), "文件应为资源列表（或含 resources: 的映射）"),
]  # fmt: skip
_WHERE = re.compile(r" (row|item) (\d+)$")


def _zh_part(part: str) -> str:
    loc, sep, msg = part.partition(": ")
    if not sep or " " in loc:  # not "field: message"
        loc, msg = "", part
    for pattern, repl in _MESSAGES:
        if pattern.match(msg):
            msg = pattern.sub(repl, msg)
            break
    if not loc:
        return msg
    head = loc.split(".")[0]
    name = FIELD_NAMES.get(head, head)
    return f"{name}（{loc}）：{msg}"


def explain(problem: Problem) -> RowProblem:
    """A validator problem as a person fixing the file reads it: row number, id, Chinese."""
    match = _WHERE.search(problem.where)
    if match:
        number = int(match.group(2))
        row = f"第 {number} 行" if match.group(1) == "row" else f"第 {number} 条"
    else:
        number, row = None, "整个文件"
    message = "；".join(_zh_part(p) for p in problem.message.split("; "))
    return RowProblem(row, number, problem.item, message, problem.message)


def save_upload(data: bytes, filename: str, folder: Path) -> Path:
    """Keep the upload under ``folder`` with a safe version of its own name (the name shows
    in problem reports); the caller removes ``folder`` when done."""
    name = Path(filename or "catalog.csv").name
    stem = re.sub(r"[^\w\u4e00-\u9fff.-]+", "_", Path(name).stem)[:80] or "catalog"
    suffix = Path(name).suffix.lower()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}{suffix}"
    path.write_bytes(data)
    return path


def run_catalog_import(
    progress: Progress,
    *,
    factory: sessionmaker[Session],
    path: Path,
    outcome: ImportOutcome,
    actor_id: int | None,
    refresh_index: Callable[[], str] | None = None,
    cleanup: bool = True,
) -> str:
    """The job: validate and import ``path`` in one transaction, then refresh the index.

    Raises:
        ImportRejected: Some rows are bad; ``outcome.problems`` lists them, nothing changed.
    """
    progress.set_total(3 if refresh_index else 2)
    try:
        progress.advance(0, "正在逐行校验文件…")
        try:
            with session_scope(factory) as session:
                counts: SyncCounts = import_catalog_file(session, path, actor_id=actor_id)
        except InputError as err:
            outcome.problems = [explain(p) for p in err.problems]
            outcome.state = "rejected"
            with session_scope(factory) as session:
                record_audit(
                    session, actor_id=actor_id, action="catalog.import_rejected", entity="catalog",
                    entity_id=f"import:{path.name}", detail={"problems": len(err.problems)},
                )  # fmt: skip
            raise ImportRejected(
                f"文件中有 {len(err.problems)} 处问题，未导入任何数据。请按下表逐行修改后重新上传。"
            ) from err
        outcome.created, outcome.updated, outcome.unchanged = (
            counts.created, counts.updated, counts.unchanged,
        )  # fmt: skip
        outcome.state = "imported"
        progress.advance(1, f"已写入：新增 {counts.created} 条，更新 {counts.updated} 条")
        summary = (
            f"导入完成：新增 {counts.created} 条，更新 {counts.updated} 条，"
            f"未变化 {counts.unchanged} 条。"
        )
        if refresh_index is not None and (counts.created or counts.updated):
            progress.advance(1, "正在更新课程搜索索引…")
            try:
                outcome.index_note = refresh_index()
                outcome.index_refreshed = True
            except Exception as exc:  # the import stands; say how to finish the job by hand
                outcome.index_note = f"搜索索引未能自动更新（{exc}）。请在服务器上运行 `yanxiu index build` 后重启服务。"
        elif refresh_index is not None:
            outcome.index_note = "目录内容没有变化，无需更新搜索索引。"
        progress.advance(1, "完成")
        return summary + (f" {outcome.index_note}" if outcome.index_note else "")
    except ImportRejected:
        raise
    except Exception:
        outcome.state = "failed"
        raise
    finally:
        if cleanup:
            shutil.rmtree(path.parent, ignore_errors=True)


def check_upload(filename: str, data: bytes) -> None:
    """Refuse what cannot be a catalog file before anything is saved (Invalid, in Chinese)."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in ACCEPTED_SUFFIXES:
        raise Invalid("请上传 CSV、JSON 或 YAML 文件（扩展名 .csv / .json / .yaml）。")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"文件超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，请拆分后分批导入。")
    if not data.strip():
        raise Invalid("上传的文件是空的。")


def start_catalog_import(
    submit: Submit, *, data: bytes, filename: str, folder: Path, actor_id: int
) -> Any:
    """Check and save the upload, then queue its import as a background job (returns the job).

    ``submit`` is :meth:`yanxiu.services.Services.submit_job`; the "import" handler runs
    :func:`run_import_job` in whichever process takes the job (the file is under ``folder``,
    in the shared data directory).
    """
    check_upload(filename, data)
    path = save_upload(data, filename, folder)
    params = {"path": str(path), "filename": filename, "actor_id": actor_id}
    return submit("import", f"导入课程目录：{filename}", owner_id=actor_id, params=params)


def run_import_job(
    progress: JobProgress,
    params: dict[str, Any],
    *,
    factory: sessionmaker[Session],
    refresh_index: Callable[[], str] | None,
) -> str:
    """The "import" job: :func:`run_catalog_import`, its outcome kept as the job's detail (the
    rejected rows, or the counts) whether it succeeds or not."""
    outcome = ImportOutcome(filename=str(params["filename"]))
    try:
        return run_catalog_import(
            progress, factory=factory, path=Path(params["path"]), outcome=outcome,
            actor_id=params.get("actor_id"), refresh_index=refresh_index,
        )  # fmt: skip
    finally:
        progress.set_detail(outcome.as_dict())
