"""Dev macro-F1 of a three-way blend: a·stack + b·fine-tuned USE + (1 − a − b)·third model.

python blend3.py STACK.npy FT.npy THIRD.npy
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
S, F, T = (np.load(p) for p in sys.argv[1:4])
f = lambda P: f1_score(y, P.argmax(1), average="macro")  # noqa: E731
print(f"alone: stack {f(S):.4f}  ft {f(F):.4f}  third {f(T):.4f}")
rows = []
for a in np.arange(0, 1.01, 0.1):
    for b in np.arange(0, 1.01 - a, 0.1):
        rows.append((f(a * S + b * F + (1 - a - b) * T), round(a, 1), round(b, 1)))
rows.sort(reverse=True)
print("best:", " ".join(f"{a}/{b}:{s:.4f}" for s, a, b in rows[:6]))
print(
    f"thirds 1/3 each: {f((S + F + T) / 3):.4f}",
    f" 0.4/0.4/0.2: {f(0.4 * S + 0.4 * F + 0.2 * T):.4f}",
)
