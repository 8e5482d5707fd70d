"""Blend the shipped stack's dev probabilities with a fine-tuned USE run's dev probabilities."""

import csv
import io
import sys

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

y = np.array(
    [
        int(r["label"])
        for r in csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8")))
    ]
)
S = np.load(sys.argv[1])
for path in sys.argv[2:]:
    F = np.load(path)
    res = []
    for w in np.arange(0, 1.01, 0.1):
        P = w * S + (1 - w) * F
        res.append(
            (
                round(w, 1),
                round(f1_score(y, P.argmax(1), average="macro"), 4),
                round(accuracy_score(y, P.argmax(1)), 4),
            )
        )
    print(path, " ".join(f"w{w}:{f}/{a}" for w, f, a in res))
