"""Several server processes, one catalog: after an import (a job) in one process, the others
notice the catalog's change counter moved and reload their in-memory search index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from yanxiu.catalog.import_job import ImportOutcome, run_catalog_import
from yanxiu.catalog.models import Competency, Course, CourseStatus
from yanxiu.db import session_scope
from yanxiu.services import Services

HEADER = "id,title,summary,outline,category,stages,subjects,hours,format,competencies,provider\n"
FIRST = "XK-W-01,课堂提问的设计与追问,围绕核心问题设计课堂提问链并在学生回答后有效追问的方法,提问;追问,学科教学,初中,通用,4,online,RES-OBSERVE,县教研室\n"
NEW = "XK-W-02,课堂观察量表的使用,学习用观察量表采集课堂证据并据此开展议课的方法与要点,量表;议课,教研能力,初中,通用,4,online,RES-OBSERVE,县教研室\n"


class Steps:
    def set_total(self, total: int) -> None: ...

    def advance(self, steps: int = 1, message: str | None = None) -> None: ...


def import_rows(services: Services, folder: Path, rows: str) -> None:
    """A catalog import job in the process of ``services`` (it rebuilds its own index)."""
    folder.mkdir()
    path = folder / "目录.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    run_catalog_import(Steps(), factory=services.session_factory, path=path,
                       outcome=ImportOutcome(path.name), actor_id=None,
                       refresh_index=services.rebuild_search)  # fmt: skip


def codes(services: Services, query: str) -> set[str]:
    assert services.search is not None
    return {hit.doc.code for hit in services.search.search(query, k=5, matches_only=True)}


@pytest.fixture
def two_workers(db, settings_for) -> Iterator[tuple[Services, Services]]:  # type: ignore[no-untyped-def]
    with db.factory() as s:
        s.add(Competency(id="RES-OBSERVE", name="观课议课", group="research", description=""))
        s.commit()
    settings = settings_for(db.url, embed_backend="lexical")
    workers = (Services.create(settings), Services.create(settings))  # two processes' services
    for services in workers:
        services.load_search()
    yield workers
    for services in workers:
        services.close()


def test_an_import_in_one_worker_reaches_the_other_workers_index(two_workers, tmp_path):
    importer, other = two_workers
    import_rows(importer, tmp_path / "one", FIRST)
    assert other.refresh_search_if_changed()  # the first import: the other reloads
    assert "XK-W-01" in codes(other, "课堂提问")

    import_rows(importer, tmp_path / "two", NEW)
    assert "XK-W-02" in codes(importer, "观察量表")  # the importing process rebuilt its own
    assert "XK-W-02" not in codes(other, "观察量表")  # the other still has the old index

    assert other.refresh_search_if_changed()
    assert "XK-W-02" in codes(other, "观察量表")
    assert not other.refresh_search_if_changed()  # nothing changed since: one cheap read
    assert not importer.refresh_search_if_changed()  # it rebuilt after its own import


def test_any_write_to_the_catalog_moves_the_counter(two_workers, tmp_path):
    """Not only imports: an edit by hand (or by authoring) unpublishes a course everywhere."""
    importer, other = two_workers
    import_rows(importer, tmp_path / "one", FIRST)
    other.refresh_search_if_changed()
    assert "XK-W-01" in codes(other, "课堂提问")
    with session_scope(importer.session_factory) as s:
        s.execute(
            update(Course).where(Course.code == "XK-W-01").values(status=CourseStatus.RETIRED)
        )
    assert other.refresh_search_if_changed()
    assert "XK-W-01" not in codes(other, "课堂提问")
