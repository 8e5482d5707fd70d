"""Self-distillation against label noise: fine-tune the product encoder (D's settings, the
product's training code) on a mix of the gold label and the out-of-fold probabilities of five
encoders cross-fitted on train (run_oof.sh), then blend with the train-only stack.

Run from the repository root, one thread:
  .venv/bin/python research/utterance_coder/finetune/distill.py ALPHA
ALPHA = weight of the teacher's probabilities in the target (0 = the product's own training).
Needs var/cache/utterances/oof_teacher.npy (train rows, 9 probabilities) and
var/cache/utterances/trainonly_here_stack.npy (the train-only stack on dev); dev only.
"""

import csv
import io
import sys
import time

import numpy as np
import torch

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, "platform")
from sklearn.metrics import f1_score  # noqa: E402

from yanxiu.lab.use_train import (  # noqa: E402
    FinetuneConfig,
    _epoch_batches,
    _module,
    _padded,
    token_ids,
)
from yanxiu.practice.use_finetune import FineTunedUse  # noqa: E402


def read(n):
    rows = list(csv.DictReader(io.StringIO((DATA / f"{n}.csv").read_text(encoding="utf-8"))))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


alpha = float(sys.argv[1])
tr, y = read("train")
dv, ydv = read("dev")
teacher = np.load("var/cache/utterances/oof_teacher.npy") if alpha > 0 else 0.0
cfg = FinetuneConfig()
torch.set_num_threads(1)
torch.manual_seed(cfg.seed)
rng = np.random.default_rng(cfg.seed)
# target: gold label with the product's smoothing, mixed with the teacher's OOF probabilities
gold = np.full((len(y), 9), cfg.label_smoothing / 9)
gold[np.arange(len(y)), y] += 1 - cfg.label_smoothing
target = torch.from_numpy(((1 - alpha) * gold + alpha * teacher).astype(np.float32))
counts = np.bincount(y, minlength=9)
w = torch.tensor((len(y) / (9 * counts)) ** cfg.class_weight_power, dtype=torch.float32)[
    torch.from_numpy(y)
]
ids = token_ids(tr)
lengths = np.array([len(s) for s in ids])
model = _module(9, cfg.dropout)
opt = torch.optim.AdamW(
    [
        {"params": list(model.p.parameters()), "lr": cfg.lr},
        {"params": [*model.head.parameters(), model.scale], "lr": cfg.head_lr},
    ],
    weight_decay=cfg.weight_decay,
)
per_epoch = int(np.ceil(len(ids) / cfg.batch_size))
steps = cfg.epochs * per_epoch
warm = max(1, steps // 20)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps)
)
t0 = time.time()
model.train()
for _ in range(cfg.epochs):
    for rows in _epoch_batches(lengths, cfg.batch_size, rng):
        batch, lens = _padded(ids, rows)
        logp = torch.log_softmax(model(batch, lens), -1)
        # class-weighted soft cross-entropy, weights normalised as CrossEntropyLoss does
        loss = (-(target[rows] * logp).sum(-1) * w[rows]).sum() / w[rows].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
F = FineTunedUse(model.export()).predict_proba(dv)
np.save(f"var/cache/utterances/distill_{alpha}_ft.npy", F)
S = np.load("var/cache/utterances/trainonly_here_stack.npy")


def m(P):
    return round(f1_score(ydv, P.argmax(1), average="macro"), 4)


print(
    f"alpha {alpha}: {time.time() - t0:.0f}s encoder {m(F)} blend {m(0.5 * S + 0.5 * F)}",
    flush=True,
)
