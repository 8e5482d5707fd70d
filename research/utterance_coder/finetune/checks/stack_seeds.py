# Run from the repository root with the dev venv; reads var/cache/utterances (see ../README.md, round 3).
import csv
import io
import sys
import time

import numpy as np

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project
from yanxiu.lab.coder_train import fit_coder

sys.path.insert(0, "platform")
from sklearn.metrics import f1_score

from yanxiu.practice.coder import CoderConfig


def read(n):
    rows = list(csv.DictReader(io.StringIO((DATA / f"{n}.csv").read_text(encoding="utf-8"))))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


tr, ytr = read("train")
dv, ydv = read("dev")
F = np.load("var/cache/utterances/ft_product_dev_proba.npy")
for s in (1, 2):
    t0 = time.time()
    c = fit_coder(CoderConfig(finetune=False, seed=s), tr, ytr)
    P = c.predict_proba(dv)
    np.save(f"var/cache/utterances/stack_seed{s}_dev_proba.npy", P)
    print(
        s,
        round(time.time() - t0),
        "alone",
        round(f1_score(ydv, P.argmax(1), average="macro"), 4),
        "blend",
        round(f1_score(ydv, (0.5 * P + 0.5 * F).argmax(1), average="macro"), 4),
        flush=True,
    )
