# Run from the repository root with the dev venv; reads var/cache/utterances (see ../README.md, round 3).
import csv
import io

import numpy as np
from sklearn.metrics import confusion_matrix

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

rows = list(csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8"))))
t = [r["text"] for r in rows]
y = np.array([int(r["label"]) for r in rows])
d = "var/cache/utterances/"
P = 0.5 * np.load(d + "stack_dev_proba.npy") + 0.5 * np.load(d + "ft_product_dev_proba.npy")
p = P.argmax(1)
print(confusion_matrix(y, p))
rng = np.random.default_rng(0)
for a, b in ((1, 8), (8, 1), (3, 8), (8, 3)):
    idx = np.where((y == a) & (p == b))[0]
    print(f"--- true {a} pred {b}: {len(idx)}")
    for i in rng.choice(idx, min(8, len(idx)), replace=False):
        print("  ", t[i][:60], round(P[i, a], 2), round(P[i, b], 2))
