"""The catalog index follows the database; teacher vectors follow profile, weaknesses, history."""

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from tests.factories import make_teacher
from yanxiu.catalog.models import Course, CourseStatus
from yanxiu.catalog.service import competency_texts, sync_competencies, sync_courses
from yanxiu.learning.enrolments import complete_course
from yanxiu.practice.models import Diagnosis, DiagnosisStatus, PracticeRecord, RecordKind
from yanxiu.recommend.profiles import (
    TeacherSignals,
    TeacherVectors,
    Weakness,
    load_teacher_signals,
    reviewed_weaknesses,
)
from yanxiu.search.catalog_index import index_dir, open_catalog_search
from yanxiu.search.embed import make_embedder


@pytest.fixture
def catalog_session(session, content):
    sync_competencies(session, content.competencies)
    sync_courses(session, content.resources, origin="content:catalog")
    session.commit()
    return session


def test_index_is_built_once_then_synced_by_content_hash(catalog_session, tmp_path):
    embedder = make_embedder("use")
    search, first = open_catalog_search(catalog_session, embedder=embedder, data_dir=tmp_path)
    assert first.rebuilt and first.added == len(search.docs) and first.embedded == len(search.docs)

    _, again = open_catalog_search(catalog_session, embedder=embedder, data_dir=tmp_path)
    assert (again.rebuilt, again.added, again.updated, again.removed, again.embedded) == (
        False,
        0,
        0,
        0,
        0,
    )

    course = catalog_session.scalar(select(Course).where(Course.code == "TW-001"))
    course.title = "课堂提问入门：从封闭问题走向开放问题（修订版）"
    retired = catalog_session.scalar(select(Course).where(Course.code == "TW-002"))
    retired.status = CourseStatus.RETIRED
    catalog_session.commit()
    search, sync = open_catalog_search(catalog_session, embedder=embedder, data_dir=tmp_path)
    assert (sync.rebuilt, sync.updated, sync.embedded) == (
        False,
        2,
        1,
    )  # a status change needs no embedding
    assert "TW-002" not in {h.doc.code for h in search.search("课堂提问入门", k=20)}
    # the renamed course is found by its new title (TW-015's 典型困惑 想分析自己的课堂提问和回应
    # and TW-003 on open questions compete for these words: first two, not first)
    assert "TW-001" in {h.doc.code for h in search.search("课堂提问入门 修订版", k=2)}
    assert "TW-001" in {h.doc.code for h in search.search(course.title, k=2)}


def test_a_corrupt_or_foreign_index_is_rebuilt(catalog_session, tmp_path):
    use = make_embedder("use")
    open_catalog_search(catalog_session, embedder=use, data_dir=tmp_path)
    manifest = index_dir(tmp_path, use) / "manifest.json"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace('"dim": 512', '"dim": 384'), encoding="utf-8"
    )
    _, sync = open_catalog_search(catalog_session, embedder=use, data_dir=tmp_path)
    assert sync.rebuilt and "dim" in sync.reason
    assert sync.embedded == 0  # the embedding cache still had every vector


def _top_categories(search, vec, k=20):
    ids, _ = search.index.search(vec, k, filters={"status": ["published"]})
    return [search.by_id[int(i)].category for i in ids[0]]


def test_reviewed_weakness_pulls_the_teacher_vector_towards_matching_resources(
    use_search, embed_cache, content
):
    texts = {c["id"]: f"{c['name']}：{c['description']}" for c in content.competencies}
    vectors = TeacherVectors(
        use_search.embedder, embed_cache, {d.id: d.text for d in use_search.docs}, texts
    )
    plain = TeacherSignals(1, "初中", ("数学",), "合格教师")
    weak = TeacherSignals(
        1,
        "初中",
        ("数学",),
        "合格教师",
        weaknesses=(Weakness("PRC-QUES", 1.0), Weakness("PRC-DIALOG", 0.8)),
    )
    today = date(2026, 11, 20)
    v_plain, v_weak = vectors.vector(plain, today=today), vectors.vector(weak, today=today)
    assert v_weak.dtype == np.float32 and np.linalg.norm(v_weak) == pytest.approx(1.0, abs=1e-5)
    asking = "课堂提问与对话"
    assert _top_categories(use_search, v_weak).count(asking) > _top_categories(
        use_search, v_plain
    ).count(asking)
    assert vectors.vector(weak, today=today) is v_weak  # unchanged inputs: the same vector


def test_recent_completions_weigh_more_than_old_ones(use_search, embed_cache):
    vectors = TeacherVectors(
        use_search.embedder, embed_cache, {d.id: d.text for d in use_search.docs}, {}
    )
    ethics = next(d for d in use_search.docs if d.code == "SD-001")
    it = next(d for d in use_search.docs if d.code == "XX-001")
    today = date(2026, 11, 20)
    recent_ethics = TeacherSignals(
        1,
        "小学",
        ("语文",),
        "合格教师",
        completed=((ethics.id, date(2026, 11, 1)), (it.id, date(2023, 1, 1))),
    )
    recent_it = TeacherSignals(
        1,
        "小学",
        ("语文",),
        "合格教师",
        completed=((it.id, date(2026, 11, 1)), (ethics.id, date(2023, 1, 1))),
    )
    ethics_doc = embed_cache.get_or_embed(use_search.embedder, [ethics.text])[0]
    assert float(vectors.vector(recent_ethics, today=today) @ ethics_doc) > float(
        vectors.vector(recent_it, today=today) @ ethics_doc
    )


def test_signals_come_from_the_database_and_only_reviewed_diagnoses_count(catalog_session, policy):
    teacher = make_teacher(catalog_session, subjects=["数学"])
    course = catalog_session.scalar(select(Course).where(Course.code == "TW-001"))
    complete_course(
        catalog_session, policy=policy, teacher_id=teacher.id, course=course, decision=None
    )
    record = PracticeRecord(
        teacher_id=teacher.id,
        kind=RecordKind.TRANSCRIPT,
        title="课堂实录",
        text="师：好",
        sha256="1" * 64,
    )
    catalog_session.add(record)
    catalog_session.flush()
    for status, comp in (
        (DiagnosisStatus.PENDING_REVIEW, "PRC-THINK"),
        (DiagnosisStatus.ACCEPTED, "PRC-QUES"),
        (DiagnosisStatus.REJECTED, "PRC-ENGAGE"),
    ):
        catalog_session.add(Diagnosis(record_id=record.id, model_version="t", status=status,
                                      report={"weaknesses": [{"competency": comp, "severity": 0.7}]}))  # fmt: skip
    catalog_session.commit()
    assert reviewed_weaknesses(catalog_session, teacher.id) == [Weakness("PRC-QUES", 0.7)]
    signals = load_teacher_signals(catalog_session, teacher.id)
    assert signals.stage == "初中" and signals.subjects == ("数学",)
    assert [cid for cid, _ in signals.completed] == [course.id]
    assert signals.weaknesses == (Weakness("PRC-QUES", 0.7),)
    assert "PRC-QUES" in competency_texts(catalog_session)
