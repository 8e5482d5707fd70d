"""Round 6: the product coder's cascade threshold on dev, from a train-only fit.

Usage: .venv/bin/python research/utterance_coder/transformer/cascade_dev.py /tmp/to [W ...]
(the model of `yanxiu train utterances --no-refit --out /tmp/to`). Scores dev with the stack, the
fine-tuned USE and the fine-tuned e5 once (kept in DIR/dev_proba.npz for another run), then
applies the coder's rule for several thresholds, with e5's weight W (default: the model's own;
round 7 added the W arguments, the stack keeps its weight and USE gets the rest).
"""

import csv
import io
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, "platform")
from yanxiu.practice.coder import UtteranceCoder  # noqa: E402

rows = list(csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8"))))
texts = [r["text"].strip() for r in rows]
y = np.array([int(r["label"]) for r in rows])
coder = UtteranceCoder.load(Path(sys.argv[1]))
cfg = coder.config
cache = Path(sys.argv[1]) / "dev_proba.npz"
if cache.is_file():
    S, F, E = (np.load(cache)[k] for k in "SFE")
else:
    S = coder.stack_proba(coder.build_features(texts))
    F = coder.ft_.predict_proba(texts)
    E = coder.e5_.predict_proba(texts)
    np.savez(cache, S=S, F=F, E=E)
base = cfg.blend * S + (1 - cfg.blend) * F


def f1(P, idx=slice(None)):
    return f1_score(y[idx], P[idx].argmax(1), average="macro")


def paired(P, Q, n=1000):
    rng = np.random.default_rng(0)
    d = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        d.append(f1(P, i) - f1(Q, i))
    return np.percentile(d, [2.5, 97.5])


print(f"stack {f1(S):.4f}  USE {f1(F):.4f}  e5 {f1(E):.4f}  stack+USE {f1(base):.4f}")
for w in [float(a) for a in sys.argv[2:]] or [cfg.e5_weight]:
    full = cfg.blend * S + (1 - cfg.blend - w) * F + w * E
    print(f"e5 weight {w}")
    for tau in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 1.0):
        unsure = base.max(1) <= tau
        P = base.copy()
        P[unsure] = full[unsure]
        lo, hi = paired(P, base)
        print(
            f"e5 where max p <= {tau:.2f} ({unsure.mean():.1%} of rows): macro-F1 {f1(P):.4f}, "
            f"accuracy {(P.argmax(1) == y).mean():.4f}; vs stack+USE {lo:+.4f} to {hi:+.4f}"
        )
