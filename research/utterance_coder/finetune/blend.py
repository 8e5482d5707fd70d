"""Blend the shipped stack's dev probabilities with a fine-tuned USE run's dev probabilities."""
import csv, sys
import numpy as np
from sklearn.metrics import f1_score, accuracy_score
y = np.array([int(r["label"]) for r in csv.DictReader(open("/work/shared/data/dialogid/dev.csv", encoding="utf-8"))])
S = np.load(sys.argv[1])
for path in sys.argv[2:]:
    F = np.load(path)
    res = []
    for w in np.arange(0, 1.01, 0.1):
        P = w * S + (1 - w) * F
        res.append((round(w, 1), round(f1_score(y, P.argmax(1), average="macro"), 4), round(accuracy_score(y, P.argmax(1)), 4)))
    print(path, " ".join(f"w{w}:{f}/{a}" for w, f, a in res))
