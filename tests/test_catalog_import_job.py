"""Catalog import as a job: bad rows explained with row numbers, all or nothing, counts."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from yanxiu.catalog.import_job import ImportOutcome, ImportRejected, explain, run_catalog_import
from yanxiu.catalog.models import Competency, Course
from yanxiu.errors import Problem

HEADER = "id,title,summary,outline,category,stages,subjects,hours,format,competencies,provider\n"
GOOD = "XK-T-01,课堂观察量表的使用,学习用观察量表采集课堂证据并据此开展议课的方法与要点,量表;议课,教研能力,初中,通用,4,online,RES-OBSERVE,县教研室\n"
BAD = "XK-T-02,短,太短,x,不存在的类别,初中,通用,abc,online,RES-OBSERVE,县教研室\n"


class Steps:
    def __init__(self) -> None:
        self.total, self.messages = 0, []

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, steps: int = 1, message: str | None = None) -> None:
        self.messages.append(message)


@pytest.fixture
def factory(db):
    f = db.factory
    with f() as s:
        s.add(Competency(id="RES-OBSERVE", name="观课议课", group="research", description=""))
        s.commit()
    return f


def write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "upload"
    folder.mkdir()
    path = folder / "目录.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_row_is_reported_by_row_number_and_nothing_is_imported(factory, tmp_path):
    outcome = ImportOutcome("目录.csv")
    with pytest.raises(ImportRejected, match="未导入任何数据"):
        run_catalog_import(Steps(), factory=factory, path=write(tmp_path, HEADER + GOOD + BAD),
                           outcome=outcome, actor_id=None)  # fmt: skip
    assert outcome.state == "rejected"
    (problem,) = outcome.problems
    assert problem.row == "第 3 行" and problem.row_number == 3 and problem.item == "XK-T-02"
    assert "标题" in problem.message and "学时" in problem.message and "类别" in problem.message
    with factory() as s:
        assert s.scalar(select(func.count(Course.id))) == 0
    assert not (tmp_path / "upload").exists()  # the upload is cleaned up


def test_a_good_file_imports_and_refreshes_the_index(factory, tmp_path):
    outcome, steps = ImportOutcome("目录.csv"), Steps()
    summary = run_catalog_import(steps, factory=factory, path=write(tmp_path, HEADER + GOOD),
                                 outcome=outcome, actor_id=None, refresh_index=lambda: "索引已更新")  # fmt: skip
    assert outcome.state == "imported" and outcome.created == 1 and outcome.index_refreshed
    assert "新增 1 条" in summary and "索引已更新" in summary and steps.total == 3
    with factory() as s:
        assert (
            s.scalar(select(Course.title).where(Course.code == "XK-T-01")) == "课堂观察量表的使用"
        )


def test_index_failure_keeps_the_import_and_says_what_to_run(factory, tmp_path):
    def broken() -> str:
        raise RuntimeError("模型不可用")

    outcome = ImportOutcome("目录.csv")
    run_catalog_import(Steps(), factory=factory, path=write(tmp_path, HEADER + GOOD), outcome=outcome,
                       actor_id=None, refresh_index=broken)  # fmt: skip
    assert outcome.state == "imported" and not outcome.index_refreshed
    assert "yanxiu index build" in outcome.index_note


def test_explain_translates_known_problems_and_keeps_the_original():
    p = explain(Problem("a.json item 4", "SD-9", "prerequisite SD-8 does not exist"))
    assert (p.row, p.row_number, p.message) == ("第 4 条", 4, "先修课程 SD-8 不存在")
    whole = explain(Problem("a.csv", "", "CSV needs a header row with at least an 'id' column"))
    assert whole.row == "整个文件" and whole.row_number is None and "表头" in whole.message
    odd = explain(Problem("a.csv row 2", "X", "something new"))
    assert odd.message == odd.original == "something new"
