# Round 5: the train-only stack (no encoder) on dev for one seed (fold split and LightGBM seed).
# Seed 0 writes var/cache/utterances/trainonly_here_stack.npy, which augment.py, augment_compare.py
# and seed_soup.py blend with; other seeds write trainonly_here_stack_s{seed}.npy (seed_ensembles.py).
# Usage (from the repository root, about 25 s each): .venv/bin/python .../checks/stack_dev_proba.py SEED
import csv
import io
import sys

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project
from yanxiu.lab.coder_train import fit_coder

sys.path.insert(0, "platform")
from yanxiu.practice.coder import CoderConfig  # noqa: E402


def read(n):
    rows = list(csv.DictReader(io.StringIO((DATA / f"{n}.csv").read_text(encoding="utf-8"))))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


tr, y = read("train")
dv, ydv = read("dev")
seed = int(sys.argv[1])
P = fit_coder(CoderConfig(finetune=False, seed=seed), tr, y).predict_proba(dv)
np.save("var/cache/utterances/trainonly_here_stack" + (f"_s{seed}" if seed else "") + ".npy", P)
print(seed, round(f1_score(ydv, P.argmax(1), average="macro"), 4))
