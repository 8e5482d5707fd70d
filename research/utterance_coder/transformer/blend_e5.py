"""Round 6: what the fine-tuned e5 layers add to the product coder on dev.

Reads var/cache/utterances/{trainonly_stack,trainonly_ft}_dev.npy (the train-only product
coder's two halves, written by product_halves.py) and e5ft_{TAG}_dev_ep{N}.npy.
Usage: .venv/bin/python research/utterance_coder/transformer/blend_e5.py TAG EPOCH
"""

import csv
import io
import sys

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

y = np.array(
    [
        int(r["label"])
        for r in csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8")))
    ]
)
d = "var/cache/utterances/"
S = np.load(d + "trainonly_stack_dev.npy")
F = np.load(d + "trainonly_ft_dev.npy")
E = np.load(d + f"e5ft_{sys.argv[1]}_dev_ep{sys.argv[2]}.npy")


def f1(P, idx=slice(None)):
    return f1_score(y[idx], P[idx].argmax(1), average="macro")


def paired(P, Q, n=1000):
    """Bootstrap 95 % interval of f1(P) - f1(Q) over resampled dev rows."""
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        diffs.append(f1(P, i) - f1(Q, i))
    return np.percentile(diffs, [2.5, 97.5])


base = 0.5 * S + 0.5 * F
print(f"stack {f1(S):.4f}  USE-ft {f1(F):.4f}  e5-ft {f1(E):.4f}  product blend {f1(base):.4f}")
for ws, wf, we in [
    (1 / 3, 1 / 3, 1 / 3),
    (0.4, 0.3, 0.3),
    (0.5, 0.25, 0.25),
    (0.5, 0, 0.5),
    (0.25, 0.25, 0.5),
]:
    P = ws * S + wf * F + we * E
    lo, hi = paired(P, base)
    print(
        f"blend S {ws:.2f} F {wf:.2f} E {we:.2f}: {f1(P):.4f}  (vs product {lo:+.4f} to {hi:+.4f})"
    )
# cascade: consult e5 only where the product blend is unsure
conf = base.max(1)
for name, full in (
    ("S F E thirds", (S + F + E) / 3),
    ("S .5 F .25 E .25", 0.5 * S + 0.25 * F + 0.25 * E),
):
    for tau in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0):
        use = conf <= tau
        P = base.copy()
        P[use] = full[use]
        lo, hi = paired(P, base, 300)
        print(
            f"{name}, e5 consulted where the product's max p <= {tau:.2f} ({use.mean():.0%} of rows): "
            f"{f1(P):.4f} ({lo:+.4f} to {hi:+.4f})"
        )
