# Run from the repository root with the dev venv; reads/writes var/cache/utterances (see ../README.md, round 3).
import csv
import io
import sys

import numpy as np

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, "platform")
from pathlib import Path

from sklearn.metrics import f1_score

from yanxiu.practice.coder import load_coder

rows = list(csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8"))))
t = [r["text"].strip() for r in rows]
y = np.array([int(r["label"]) for r in rows])
c = load_coder(Path("models"))
S = c.stack_proba(c.build_features(t))
F = c.ft_.predict_proba(t)
np.save("var/cache/utterances/stack_dev_proba.npy", S)
np.save("var/cache/utterances/ft_product_dev_proba.npy", F)
for w in (0, 0.4, 0.5, 0.6, 1):
    print(w, round(f1_score(y, (w * S + (1 - w) * F).argmax(1), average="macro"), 4))
