"""Teacher path recommendation over the real catalog and a real database."""

import json
from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import make_teacher
from yanxiu.catalog.models import Course
from yanxiu.catalog.service import sync_competencies, sync_courses
from yanxiu.cli import app as cli
from yanxiu.config import get_settings
from yanxiu.learning.enrolments import complete_course, enrol
from yanxiu.practice.models import Diagnosis, DiagnosisStatus, PracticeRecord, RecordKind
from yanxiu.recommend.service import build_recommender
from yanxiu.search.catalog_index import open_catalog_search
from yanxiu.search.embed import make_embedder
from yanxiu.search.embed_cache import EmbeddingCache

TODAY = date(2026, 11, 20)


@pytest.fixture
def planner(session, content, tmp_path):
    sync_competencies(session, content.competencies)
    sync_courses(session, content.resources, origin="content:catalog")
    session.commit()
    search, _ = open_catalog_search(session, embedder=make_embedder("use"), data_dir=tmp_path)
    cache = EmbeddingCache(tmp_path / "embeddings")
    yield build_recommender(session, search, cache=cache, ranker=None)
    cache.close()


def course(session, code):
    return session.scalar(select(Course).where(Course.code == code))


def assert_prerequisites_respected(planner, path, done):
    seen = set(done)
    for step in path.steps:
        for pre in planner.graph[step.code]:
            assert pre in seen, f"{step.code} needs {pre} first"
        seen.add(step.code)


def test_new_teacher_gets_the_induction_path_first(session, planner, policy):
    teacher = make_teacher(
        session, tier="新任教师", cycle_start=date(2026, 8, 25), stage="初中", subjects=["数学"]
    )
    session.commit()
    path = planner.recommend(session, teacher_id=teacher.id, policy=policy, today=TODAY)
    assert path.cold_start == "induction"
    assert path.steps and path.steps[0].category in ("新教师入职", "师德师风")
    assert any(s.category == "新教师入职" for s in path.steps)
    assert any("师德师风" in r for s in path.steps for r in s.reasons)
    assert all(
        s.reasons and all("\u4e00" <= r[0] <= "\u9fff" for r in s.reasons) for s in path.steps
    )
    assert_prerequisites_respected(planner, path, set())


def test_path_closes_the_ethics_gap_and_respects_tier_and_post(session, planner, policy):
    teacher = make_teacher(session, tier="合格教师", stage="初中", subjects=["语文"])
    session.commit()
    path = planner.recommend(session, teacher_id=teacher.id, policy=policy, today=TODAY)
    ethics = sum(s.hours for s in path.steps if s.category == "师德师风")
    assert ethics >= policy.ethics_minimum or "师德师风" in path.unmet
    docs = planner.by_code
    for step in path.steps:
        d = docs[step.code]
        assert not d.posts, f"{step.code} is for {d.posts}; this teacher holds no post"
        assert not d.levels or "合格教师" in d.levels
        assert "初中" in d.stages and ("语文" in d.subjects or "通用" in d.subjects)


def test_done_and_in_progress_items_are_not_recommended_and_progress_replans(
    session, planner, policy
):
    teacher = make_teacher(session, stage="小学", subjects=["数学"])
    enrol(session, teacher_id=teacher.id, course=course(session, "XK-SX-03"))
    session.commit()
    first = planner.recommend(session, teacher_id=teacher.id, policy=policy, today=TODAY)
    codes = [s.code for s in first.steps]
    assert "XK-SX-03" not in codes and first.in_progress == ["XK-SX-03"]
    complete_course(
        session,
        policy=policy,
        teacher_id=teacher.id,
        course=course(session, codes[0]),
        decision=None,
    )
    session.commit()
    second = planner.recommend(session, teacher_id=teacher.id, policy=policy, today=TODAY)
    assert codes[0] not in [s.code for s in second.steps]
    assert_prerequisites_respected(planner, second, {codes[0], "XK-SX-03"})


def test_a_reviewed_diagnosis_brings_its_weakness_into_the_path(session, planner, policy):
    teacher = make_teacher(session, stage="初中", subjects=["数学"])
    session.commit()
    before = planner.recommend(session, teacher_id=teacher.id, policy=policy, today=TODAY)
    record = PracticeRecord(
        teacher_id=teacher.id,
        kind=RecordKind.TRANSCRIPT,
        title="实录",
        text="师：好",
        sha256="2" * 64,
    )
    session.add(record)
    session.flush()
    pending = Diagnosis(record_id=record.id, model_version="t", status=DiagnosisStatus.PENDING_REVIEW,
                        report={"weaknesses": [{"competency": "PRC-QUES", "severity": 0.9}]})  # fmt: skip
    session.add(pending)
    session.commit()
    unreviewed = planner.recommend(session, teacher_id=teacher.id, policy=policy, today=TODAY)
    assert not any(
        "课堂提问设计" in r for s in unreviewed.steps for r in s.reasons
    )  # not yet reviewed
    session.add(Diagnosis(record_id=record.id, model_version="t", status=DiagnosisStatus.ACCEPTED,
                          report={"weaknesses": [{"competency": "PRC-QUES", "severity": 0.9}]}))  # fmt: skip
    session.commit()
    after = planner.recommend(session, teacher_id=teacher.id, policy=policy, today=TODAY)
    weak_steps = [s for s in after.steps if any("课堂提问设计" in r for r in s.reasons)]
    assert weak_steps and "PRC-QUES" in planner.by_code[weak_steps[0].code].competencies
    assert [s.code for s in after.steps] != [s.code for s in before.steps]


def test_recommend_command(db, content, tmp_path):
    with db.factory() as s:
        sync_competencies(s, content.competencies)
        sync_courses(s, content.resources, origin="content:catalog")
        teacher = make_teacher(s, stage="高中", subjects=["英语"])
        s.commit()
        username = teacher.username
    env = {"YANXIU_DATABASE_URL": db.url, "YANXIU_ENV": "test", "YANXIU_EMBED_BACKEND": "use",
           "YANXIU_DATA_DIR": str(tmp_path), "YANXIU_MODELS_DIR": str(tmp_path / "no-models")}  # fmt: skip
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["recommend", username, "--today", "2026-11-20", "--json"], env=env
        )
        missing = CliRunner().invoke(cli, ["recommend", "nobody"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["steps"] and body["ranker"].startswith("similarity")
    assert missing.exit_code == 2 and "no teacher 'nobody'" in missing.output


def test_path_api(db, content, settings_for):
    from fastapi.testclient import TestClient

    from tests.web.helpers import login
    from yanxiu.app import create_app

    with db.factory() as s:
        sync_competencies(s, content.competencies)
        sync_courses(s, content.resources, origin="content:catalog")
        teacher = make_teacher(s, stage="初中", subjects=["物理"])
        s.commit()
        username, teacher_id = teacher.username, teacher.id
    with TestClient(create_app(settings_for(db.url, embed_backend="use"))) as client:
        assert client.get(f"/api/v1/teachers/{username}/path").status_code == 401  # log in first
        assert login(client, username).status_code == 303
        body = client.get(
            f"/api/v1/teachers/{username}/path", params={"today": "2026-11-20"}
        ).json()
        assert body["teacher_id"] == teacher_id and body["steps"]
        assert all(step["reasons"] for step in body["steps"])
        # a teacher cannot probe which other usernames exist
        assert client.get("/api/v1/teachers/nobody/path").status_code == 403


def test_gap_closure_reports_no_prerequisite_violations(session, planner, policy):
    make_teacher(session, tier="新任教师", cycle_start=date(2026, 8, 25))
    make_teacher(session, stage="小学", subjects=["语文"])
    session.commit()
    from yanxiu.recommend.service import gap_closure

    report = gap_closure(session, planner, policy=policy, today=TODAY)
    assert report["teachers"] == 2 and report["prerequisite_violations"] == 0
    assert (
        report["closes"]["yearly"]["with_gap"] == 2
        and report["closes"]["新教师入职"]["with_gap"] == 1
    )
    assert 0 < report["catalog_coverage"] <= 1


def test_shipped_ranker_loads_only_for_its_backend():
    from yanxiu.config import PROJECT_ROOT
    from yanxiu.recommend.service import load_ranker

    ranker, label = load_ranker(PROJECT_ROOT / "models", "e5")
    assert ranker is not None and "learned ranker" in label
    other, why = load_ranker(PROJECT_ROOT / "models", "use")
    assert other is None and "trained for e5" in why
