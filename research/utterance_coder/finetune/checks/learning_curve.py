# How much would more labelled data move the coder? Fit the product coder (stack + fine-tuned
# encoder, shipped settings) on a stratified share of train and score dev.
# Run from the repository root with the dev venv, one thread:
#   OMP_NUM_THREADS=1 .venv/bin/python research/utterance_coder/finetune/checks/learning_curve.py 0.5 0
# (share of train, subsample seed); writes var/cache/utterances/lc_<share>_<seed>_{stack,ft}.npy
import csv
import io
import sys
import time

import numpy as np

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project
from yanxiu.lab.coder_train import fit_coder

sys.path.insert(0, "platform")
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from yanxiu.practice.coder import CoderConfig


def read(n):
    rows = list(csv.DictReader(io.StringIO((DATA / f"{n}.csv").read_text(encoding="utf-8"))))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


share, sub_seed = float(sys.argv[1]), int(sys.argv[2])
tr, ytr = read("train")
dv, ydv = read("dev")
idx = np.arange(len(tr))
if share < 1:
    idx, _ = train_test_split(idx, train_size=share, stratify=ytr, random_state=sub_seed)
t0 = time.time()
c = fit_coder(CoderConfig(), [tr[i] for i in idx], ytr[idx])
S = c.stack_proba(c.build_features(dv))
F = c.ft_.predict_proba(dv)
tag = f"var/cache/utterances/lc_{share}_{sub_seed}"
np.save(f"{tag}_stack.npy", S)
np.save(f"{tag}_ft.npy", F)


def m(P):
    return round(f1_score(ydv, P.argmax(1), average="macro"), 4)


print(
    f"share {share} seed {sub_seed} rows {len(idx)} fit {time.time() - t0:.0f}s "
    f"stack {m(S)} encoder {m(F)} blend {m(0.5 * S + 0.5 * F)}",
    flush=True,
)
