"""The learned ranker, the offline evaluation against baselines and the recommend bench."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from yanxiu.config import PROJECT_ROOT
from yanxiu.lab.ranker_train import build_world, log_rows, train_on_world, train_ranker
from yanxiu.lab.recommend_bench import bench_recommend, format_bench
from yanxiu.lab.recommend_eval import (
    METHODS,
    evaluate_recommenders,
    format_table,
    planned_order,
    violations,
)
from yanxiu.lab.simulator import generate_interactions
from yanxiu.recommend.features import FEATURE_NAMES
from yanxiu.recommend.ranker import Ranker, RankerManifestError
from yanxiu.search.embed_cache import EmbeddingCache

CONTENT = PROJECT_ROOT / "content"
BACKEND = "lexical"  # no model to load: fast and available everywhere


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="module")
def trained(cache_dir: Path):  # type: ignore[no-untyped-def]
    with EmbeddingCache(cache_dir) as cache:
        world = build_world(CONTENT, cache, BACKEND, seed=3)
        ranker, report, _ = train_on_world(world, teachers=80, steps=15, seed=3)
        test = world.sim.sample_teachers(30)
        log = generate_interactions(world.sim, test, 15, seed=4)
        X, y, _ = log_rows(world, log, test, seed=4)
    return ranker, report, X, y


def test_ranker_round_trip_and_manifest(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ranker, report, X, _ = trained
    assert report["selected"] in report["validation"]
    assert set(report["validation"]) == {"hist_gradient_boosting", "logistic_regression"}
    ranker.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["feature_names"] == list(FEATURE_NAMES)
    assert {"sklearn", "numpy", "yanxiu"} <= set(manifest["versions"])
    assert manifest["trained_on"]["teachers"] == 80 and manifest["seed"] == 3
    loaded = Ranker.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.score(X), ranker.score(X))
    assert ranker.score(np.zeros((0, len(FEATURE_NAMES)))).shape == (0,)
    with pytest.raises(ValueError):
        ranker.score(np.zeros((3, 4)))


def test_load_refuses_other_feature_names_or_altered_model(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ranker = trained[0]
    ranker.save(tmp_path / "m")
    path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(manifest | {"feature_names": ["a", "b"]}), encoding="utf-8")
    with pytest.raises(RankerManifestError, match="trained on features"):
        Ranker.load(tmp_path / "m")
    path.write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "m" / "model.joblib").write_bytes(b"not a model")
    with pytest.raises(RankerManifestError, match="altered"):
        Ranker.load(tmp_path / "m")
    with pytest.raises(RankerManifestError, match="no readable"):
        Ranker.load(tmp_path / "missing")


def test_ranker_beats_random_on_held_out_auc(trained) -> None:  # type: ignore[no-untyped-def]
    ranker, _, X, y = trained
    rng = np.random.default_rng(0)
    assert roc_auc_score(y, ranker.score(X)) > roc_auc_score(y, rng.random(len(y))) + 0.05


def test_planned_order_puts_prerequisites_first() -> None:
    graph = {"a": (), "b": ("a",), "c": ("b",), "d": ()}
    order = planned_order(graph, set(), ["c", "d", "a"], budget=4)
    assert order == ["a", "b", "c", "d"]
    assert violations(graph, set(), order) == 0 and violations(graph, set(), ["c", "b"]) == 2
    assert planned_order(graph, {"a", "b"}, ["c", "d"], budget=1) == ["c"]
    assert planned_order(graph, set(), ["c", "d"], budget=2) == ["d"]  # c needs 3 steps


@pytest.mark.slow
def test_evaluation_against_baselines(cache_dir: Path) -> None:
    report = evaluate_recommenders(
        content_dir=CONTENT, cache_dir=cache_dir, backend=BACKEND, train_teachers=150,
        steps=20, test_teachers=60, seed=1, gain_k=2, gain_runs=2,
    )  # fmt: skip
    methods = report["methods"]
    assert set(methods) == set(METHODS)
    for row in methods.values():
        assert row["violations"] == 0
        assert 0.0 <= row["recall@10"] <= 1.0 and 0.0 < row["coverage"] <= 1.0
        assert len(row["gain_curve"]) == 2
    assert methods["planned"]["violations_raw"] == 0
    assert methods["ranker"]["recall@10"] >= methods["random"]["recall@10"]
    json.dumps(report)
    assert "| ranker |" in format_table(report)


def test_train_ranker_entry_point(cache_dir: Path, tmp_path: Path) -> None:
    ranker, report = train_ranker(
        content_dir=CONTENT, cache_dir=cache_dir, backend=BACKEND, teachers=20, steps=5, seed=2
    )
    assert report["data"]["teachers"] == 20 and report["train_rows"] > 0
    assert Ranker.load(ranker.save(tmp_path / "r")).manifest["model"] == report["selected"]


def test_bench_recommend_tiny() -> None:
    result = bench_recommend(n_items=600, teachers=20, latency_teachers=10)
    assert result["batch"]["teachers"] == 20 and result["latency"]["faiss"]["n"] == 10
    assert result["batch"]["non_empty_plans"] > 0
    assert "teachers/s" in format_bench(result)
