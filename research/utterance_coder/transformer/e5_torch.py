"""multilingual-e5-small as a plain torch module (post-LN BERT), weights from e5_weights.

Kept minimal so that the same forward can be written in numpy for inference. `layers`
keeps only the first k transformer layers (a cheaper encoder for fine-tuning).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


class Layer(nn.Module):
    def __init__(self, h: int, ff: int, heads: int, eps: float):
        super().__init__()
        self.q, self.k, self.v, self.ao = (nn.Linear(h, h) for _ in range(4))
        self.aln = nn.LayerNorm(h, eps=eps)
        self.fi, self.fo = nn.Linear(h, ff), nn.Linear(ff, h)
        self.oln = nn.LayerNorm(h, eps=eps)
        self.heads = heads

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        hd = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + bias
        ctx = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, h)
        x = self.aln(x + self.ao(ctx))
        return self.oln(x + self.fo(nn.functional.gelu(self.fi(x))))


class E5Encoder(nn.Module):
    def __init__(self, cfg: dict, layers: int | None = None, vocab: int | None = None):
        super().__init__()
        h, eps = cfg["hidden"], cfg["eps"]
        self.word = nn.Embedding(vocab or cfg["vocab"], h)
        self.pos = nn.Embedding(cfg["max_positions"], h)
        self.type0 = nn.Parameter(torch.zeros(h))
        self.eln = nn.LayerNorm(h, eps=eps)
        n = layers or cfg["layers"]
        self.layers = nn.ModuleList(Layer(h, cfg["ffn"], cfg["heads"], eps) for _ in range(n))

    def load_e5(self, tensors: dict[str, np.ndarray], keep_rows: np.ndarray | None = None) -> None:
        """Copy e5's weights in; keep_rows maps this model's vocabulary onto e5's rows."""
        t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
        with torch.no_grad():
            word = (
                t["emb.word"] if keep_rows is None else t["emb.word"][torch.from_numpy(keep_rows)]
            )
            self.word.weight.copy_(word)
            self.pos.weight.copy_(t["emb.pos"])
            self.type0.copy_(t["emb.type"][: self.type0.numel()])
            self.eln.weight.copy_(t["emb.ln.w"]), self.eln.bias.copy_(t["emb.ln.b"])
            for i, layer in enumerate(self.layers):
                for name in ("q", "k", "v", "ao", "fi", "fo"):
                    mod = getattr(layer, name)
                    mod.weight.copy_(t[f"l{i}.{name}.w"]), mod.bias.copy_(t[f"l{i}.{name}.b"])
                for name in ("aln", "oln"):
                    mod = getattr(layer, name)
                    mod.weight.copy_(t[f"l{i}.{name}.w"]), mod.bias.copy_(t[f"l{i}.{name}.b"])

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled last hidden state over real tokens (e5's pooling), not normalised."""
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.eln(self.word(ids) + self.pos(pos) + self.type0)
        bias = (1.0 - mask[:, None, None, :].float()) * -1e4
        for layer in self.layers:
            x = layer(x, bias)
        m = mask.unsqueeze(-1).float()
        return (x * m).sum(1) / m.sum(1)


def batch(token_lists: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = max(len(x) for x in token_lists)
    ids = torch.full((len(token_lists), t), pad, dtype=torch.long)
    mask = torch.zeros((len(token_lists), t), dtype=torch.long)
    for i, x in enumerate(token_lists):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, mask
