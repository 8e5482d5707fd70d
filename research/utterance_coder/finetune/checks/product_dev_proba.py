# Run from /work/main with the dev venv; reads/writes var/cache/utterances (see ../README.md, round 3).
import csv, numpy as np, sys
sys.path.insert(0, "platform")
from pathlib import Path
from yanxiu.practice.coder import load_coder
from sklearn.metrics import f1_score
rows = list(csv.DictReader(open("/work/shared/data/dialogid/dev.csv", encoding="utf-8")))
t = [r["text"].strip() for r in rows]; y = np.array([int(r["label"]) for r in rows])
c = load_coder(Path("models"))
S = c.l2_.predict_proba(c.build_features(t))
F = c.ft_.predict_proba(t)
np.save("var/cache/utterances/stack_dev_proba.npy", S); np.save("var/cache/utterances/ft_product_dev_proba.npy", F)
for w in (0, 0.4, 0.5, 0.6, 1):
    print(w, round(f1_score(y, (w*S+(1-w)*F).argmax(1), average="macro"), 4))
