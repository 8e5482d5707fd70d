# Paired comparison on the dev halves of refit_dev_halves.py: a model fitted on train only
# against one fitted on train + the other half. Usage (from the repository root):
#   .venv/bin/python research/utterance_coder/finetune/checks/refit_compare.py STACK.npy FT.npy
# where STACK/FT are dev probabilities (all 5,191 rows) of the train-only model's two halves.
import csv
import io
import sys

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

rows = list(csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8"))))
y = np.array([int(r["label"]) for r in rows])
only = 0.5 * np.load(sys.argv[1]) + 0.5 * np.load(sys.argv[2])
refit = np.zeros_like(only)


def f1(idx, P):
    return f1_score(y[idx], P[idx].argmax(1), average="macro")


for h in (0, 1):
    r = np.load(f"var/cache/utterances/refit_half{h}_rows.npy")
    refit[r] = 0.5 * np.load(f"var/cache/utterances/refit_half{h}_stack.npy") + 0.5 * np.load(
        f"var/cache/utterances/refit_half{h}_ft.npy"
    )
    print(
        f"half scored by refit {h}: train-only {f1(r, only):.4f}  train + other half {f1(r, refit):.4f}"
    )
allr = np.arange(len(y))
print(
    f"all dev, each row scored by a model that never saw it: train-only {f1(allr, only):.4f}  "
    f"train + the other half of dev {f1(allr, refit):.4f}"
)
# paired bootstrap of the difference
rng = np.random.default_rng(0)
d = []
for _ in range(1000):
    i = rng.integers(0, len(y), len(y))
    d.append(f1(i, refit) - f1(i, only))
print(
    f"difference {f1(allr, refit) - f1(allr, only):+.4f}, 95 % interval {np.percentile(d, 2.5):+.4f} to {np.percentile(d, 97.5):+.4f}"
)
