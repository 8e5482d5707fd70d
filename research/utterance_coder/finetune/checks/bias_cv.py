# Run from the repository root with the dev venv; reads var/cache/utterances (see ../README.md, round 3).
import csv
import io

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

y = np.array(
    [
        int(r["label"])
        for r in csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8")))
    ]
)
d = "var/cache/utterances/"
P = 0.5 * np.load(d + "stack_dev_proba.npy") + 0.5 * np.load(d + "ft_product_dev_proba.npy")
L = np.log(P + 1e-9)


def f(yy, LL, b):
    return f1_score(yy, (LL + b).argmax(1), average="macro")


def fit(yy, LL):
    b = np.zeros(9)
    grid = np.linspace(-1, 1, 21)
    for _ in range(3):
        for c in range(9):
            best = (f(yy, LL, b), b[c])
            for g in grid:
                bb = b.copy()
                bb[c] = g
                s = f(yy, LL, bb)
                if s > best[0] + 1e-9:
                    best = (s, g)
            b[c] = best[1]
    return b


base, tuned = [], []
for seed in range(3):
    for a, t in StratifiedKFold(2, shuffle=True, random_state=seed).split(L, y):
        b = fit(y[a], L[a])
        base.append(f(y[t], L[t], 0))
        tuned.append(f(y[t], L[t], b))
        print(seed, np.round(b, 2), round(base[-1], 4), round(tuned[-1], 4), flush=True)
print("mean base", np.mean(base), "tuned", np.mean(tuned))
