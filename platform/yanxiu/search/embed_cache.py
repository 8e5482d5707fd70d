"""Persistent embedding cache: a text is embedded once per model, across restarts.

Vectors live in one SQLite file (``embeddings.sqlite3``) under a directory, keyed by
(backend name, model version, query|document, sha256 of the text). SQLite in WAL mode gives a
cache what it needs without a server: any number of readers alongside one writer, in one
process or many, and atomic transactions, so a crash leaves each batch either whole or absent,
never a half-written vector. Keys hold a hash rather than the text, so the file carries no
teacher writing in clear.

Typical use::

    cache = EmbeddingCache(settings.data_dir / "embeddings")
    vectors = cache.get_or_embed(embedder, texts, kind="document")  # embeds only new texts
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from yanxiu.search.embed import Embedder

log = logging.getLogger(__name__)
Kind = Literal["document", "query"]
SCHEMA_VERSION = 1
_LOOKUP_CHUNK = 500  # keys per SELECT, well under SQLite's bound-parameter limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    backend       TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    text_sha256   TEXT    NOT NULL,
    dim           INTEGER NOT NULL,
    vector        BLOB    NOT NULL,
    created_at    REAL    NOT NULL,
    PRIMARY KEY (backend, model_version, kind, text_sha256)
) WITHOUT ROWID
"""


def text_key(text: str) -> str:
    """The cache key of a text: hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings stored on disk so unchanged content is never embedded again.

    Args:
        directory: Folder for ``embeddings.sqlite3``; created if missing.
        write_batch: Texts embedded and committed together. Each batch is committed before
            the next is embedded, so an interrupted run keeps the work already done.
        busy_timeout_s: How long to wait for another process's write to finish.

    Attributes:
        last_hits: Distinct texts of the last ``get_or_embed`` call found in the cache.
        last_misses: Distinct texts of that call that had to be embedded.
    """

    FILENAME = "embeddings.sqlite3"

    def __init__(
        self, directory: str | Path, *, write_batch: int = 256, busy_timeout_s: float = 30.0
    ) -> None:
        if write_batch < 1:
            raise ValueError("write_batch must be at least 1")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / self.FILENAME
        self.write_batch = write_batch
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self.last_hits = 0
        self.last_misses = 0
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError:
            # Only a cache: a file damaged beyond SQLite's own recovery is set aside (kept for
            # inspection) and rebuilt by re-embedding, rather than stopping the platform.
            self.path.rename(self.path.with_name(f"{self.FILENAME}.corrupt-{int(time.time())}"))
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,  # explicit BEGIN/COMMIT below
            check_same_thread=False,  # guarded by self._lock
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode never corrupts the file; a power cut may only lose the last
            # commits, which for a cache means embedding those texts again.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _stored_kind(embedder: Embedder, kind: Kind) -> str:
        # A symmetric model encodes queries and documents alike: store one vector for both.
        if embedder.symmetric:
            return "text"
        return (
            f"{kind}:{embedder.query_engine}" if kind == "query" and embedder.query_engine else kind
        )

    def get_or_embed(
        self, embedder: Embedder, texts: Sequence[str], kind: Kind = "document"
    ) -> np.ndarray:
        """Vectors for ``texts`` in input order, embedding only those not cached yet.

        Args:
            embedder: The model; its ``name`` and ``model_version`` are part of the key.
            texts: Texts to embed; repeats are embedded once.
            kind: "document" or "query" (they differ for asymmetric models such as e5).

        Returns:
            float32 array of shape ``(len(texts), embedder.dim)``.
        """
        if kind not in ("document", "query"):
            raise ValueError(f"kind must be 'document' or 'query', not {kind!r}")
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not a single string")
        items = list(texts)
        keys = [text_key(text) for text in items]
        stored_kind = self._stored_kind(embedder, kind)
        found = self._lookup(embedder, stored_kind, list(dict.fromkeys(keys)))
        missing = {key: text for key, text in zip(keys, items, strict=True) if key not in found}
        encode = embedder.embed_queries if kind == "query" else embedder.embed_documents
        pending = list(missing.items())
        for start in range(0, len(pending), self.write_batch):
            chunk = pending[start : start + self.write_batch]
            vectors = encode([text for _, text in chunk])
            rows = [(key, vector) for (key, _), vector in zip(chunk, vectors, strict=True)]
            self._store(embedder, stored_kind, rows)
            found.update(rows)
        self.last_hits = len(set(keys)) - len(missing)
        self.last_misses = len(missing)
        out = np.empty((len(items), embedder.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out

    def _lookup(self, embedder: Embedder, kind: str, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for chunk in _chunks(keys, _LOOKUP_CHUNK):
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    "SELECT text_sha256, dim, vector FROM embeddings WHERE backend=? AND "
                    f"model_version=? AND kind=? AND text_sha256 IN ({marks})",
                    (embedder.name, embedder.model_version, kind, *chunk),
                ).fetchall()
                for key, dim, blob in rows:
                    vector = _decode(blob, dim, embedder.dim)
                    if vector is not None:  # anything malformed is embedded again
                        found[key] = vector
        return found

    def _store(self, embedder: Embedder, kind: str, rows: list[tuple[str, np.ndarray]]) -> None:
        now = time.time()
        values = [
            (
                embedder.name,
                embedder.model_version,
                kind,
                key,
                embedder.dim,
                np.asarray(vector, dtype="<f4").tobytes(),
                now,
            )
            for key, vector in rows
        ]
        with self._lock:
            try:
                # IMMEDIATE takes the write lock up front, so two writers queue on the busy
                # timeout instead of failing on a lock upgrade halfway through.
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?, ?, ?)", values
                )
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                # Still busy after the timeout, or the disk is full: the caller has its
                # vectors anyway, and these texts are simply embedded again next time.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                log.warning(
                    "embedding cache %s: %d vectors not stored (%s)", self.path, len(values), exc
                )

    def count(self, embedder: Embedder | None = None) -> int:
        """Vectors stored, for one embedder's model version or in total."""
        with self._lock:
            if embedder is None:
                return int(self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
            return int(
                self._conn.execute(
                    "SELECT COUNT(*) FROM embeddings WHERE backend=? AND model_version=?",
                    (embedder.name, embedder.model_version),
                ).fetchone()[0]
            )

    def prune(self, embedder: Embedder) -> int:
        """Delete this backend's vectors of every other model version; returns rows deleted."""
        with self._lock:
            cursor = self._conn.execute(
                "DELETE FROM embeddings WHERE backend=? AND model_version<>?",
                (embedder.name, embedder.model_version),
            )
            return int(cursor.rowcount)


def _decode(blob: bytes, stored_dim: int, expected_dim: int) -> np.ndarray | None:
    if stored_dim != expected_dim or len(blob) != expected_dim * 4:
        return None
    vector = np.frombuffer(blob, dtype="<f4").astype(np.float32)
    return vector if np.isfinite(vector).all() else None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
