"""Dev macro-F1 of a three-way blend: a·stack + b·fine-tuned USE + (1 − a − b)·third model.

python blend3.py STACK.npy FT.npy THIRD.npy
"""
import csv
import sys

import numpy as np
from sklearn.metrics import f1_score

y = np.array([int(r["label"]) for r in csv.DictReader(open("/work/shared/data/dialogid/dev.csv", encoding="utf-8"))])
S, F, T = (np.load(p) for p in sys.argv[1:4])
f = lambda P: f1_score(y, P.argmax(1), average="macro")  # noqa: E731
print("alone: stack %.4f  ft %.4f  third %.4f" % (f(S), f(F), f(T)))
rows = []
for a in np.arange(0, 1.01, 0.1):
    for b in np.arange(0, 1.01 - a, 0.1):
        rows.append((f(a * S + b * F + (1 - a - b) * T), round(a, 1), round(b, 1)))
rows.sort(reverse=True)
print("best:", " ".join(f"{a}/{b}:{s:.4f}" for s, a, b in rows[:6]))
print("thirds 1/3 each: %.4f" % f((S + F + T) / 3), " 0.4/0.4/0.2: %.4f" % f(0.4 * S + 0.4 * F + 0.2 * T))
