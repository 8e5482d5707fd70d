# Round 5: seed ensembles. Every k-subset of the encoder seeds 0-3 (augment.py P=0), mean of
# probabilities, blended with the seed-0 stack (w 0.5); then the stack seeds 0-4 (stack_dev_proba.py).
# Usage (from the repository root): .venv/bin/python .../checks/seed_ensembles.py
import csv
import io
import itertools

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

y = np.array(
    [
        int(r["label"])
        for r in csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8")))
    ]
)


def f1(P):
    return f1_score(y, P.argmax(1), average="macro")


S = np.load("var/cache/utterances/trainonly_here_stack.npy")
P = [np.load(f"var/cache/utterances/augment_0.0_s{s}_ft.npy") for s in range(4)]
for k in (1, 2, 3, 4):
    v = [
        f1(0.5 * S + 0.5 * np.mean([P[i] for i in c], 0))
        for c in itertools.combinations(range(4), k)
    ]
    print(
        k,
        "encoders: blend mean",
        round(np.mean(v), 4),
        "min",
        round(min(v), 4),
        "max",
        round(max(v), 4),
    )


def f1(P):
    return round(f1_score(y, P.argmax(1), average="macro"), 4)


S = [np.load("var/cache/utterances/trainonly_here_stack.npy")] + [
    np.load(f"var/cache/utterances/trainonly_here_stack_s{s}.npy") for s in range(1, 5)
]
E = P[:2]
print("stacks", [f1(s) for s in S], "mean of 5", f1(np.mean(S, 0)))
for i, s in enumerate(S):
    print("stack", i, [f1(0.5 * s + 0.5 * e) for e in E])
Sm = np.mean(S, 0)
for e in E:
    print("stack mean5 + enc", f1(0.5 * Sm + 0.5 * e))
print("stack mean5 + enc mean2", f1(0.5 * Sm + 0.5 * np.mean(E, 0)))
for w in (0.3, 0.4, 0.5, 0.6):
    print(w, f1(w * Sm + (1 - w) * np.mean(E, 0)))
