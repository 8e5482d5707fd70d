# Run from /work/main with the dev venv; reads var/cache/utterances (see ../README.md, round 3).
import csv, numpy as np
from sklearn.metrics import confusion_matrix
rows = list(csv.DictReader(open("/work/shared/data/dialogid/dev.csv", encoding="utf-8")))
t = [r["text"] for r in rows]; y = np.array([int(r["label"]) for r in rows])
d = "var/cache/utterances/"
P = 0.5*np.load(d+"stack_dev_proba.npy") + 0.5*np.load(d+"ft_product_dev_proba.npy")
p = P.argmax(1)
print(confusion_matrix(y, p))
rng = np.random.default_rng(0)
for a, b in ((1, 8), (8, 1), (3, 8), (8, 3)):
    idx = np.where((y == a) & (p == b))[0]
    print(f"--- true {a} pred {b}: {len(idx)}")
    for i in rng.choice(idx, min(8, len(idx)), replace=False):
        print("  ", t[i][:60], round(P[i, a], 2), round(P[i, b], 2))
