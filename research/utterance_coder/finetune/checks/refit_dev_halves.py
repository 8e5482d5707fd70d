# Would refitting on train + dev help on data the model never saw? Split dev into two stratified
# halves; fit the product coder (shipped settings) on train + one half and score the other half.
# Run from the repository root with the dev venv, one thread per half (the two halves can run at once):
#   OMP_NUM_THREADS=1 .venv/bin/python research/utterance_coder/finetune/checks/refit_dev_halves.py 0
# writes var/cache/utterances/refit_half<h>_{rows,stack,ft}.npy (rows = dev row numbers scored)
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


half = int(sys.argv[1])
tr, ytr = read("train")
dv, ydv = read("dev")
a, b = train_test_split(np.arange(len(dv)), train_size=0.5, stratify=ydv, random_state=0)
fit_rows, score_rows = (a, b) if half == 0 else (b, a)
t0 = time.time()
c = fit_coder(CoderConfig(), tr + [dv[i] for i in fit_rows], np.concatenate([ytr, ydv[fit_rows]]))
texts = [dv[i] for i in score_rows]
S = c.stack_proba(c.build_features(texts))
F = c.ft_.predict_proba(texts)
tag = f"var/cache/utterances/refit_half{half}"
np.save(f"{tag}_rows.npy", score_rows)
np.save(f"{tag}_stack.npy", S)
np.save(f"{tag}_ft.npy", F)


def m(P):
    return round(f1_score(ydv[score_rows], P.argmax(1), average="macro"), 4)


print(
    f"half {half}: fit on train + {len(fit_rows)} dev rows in {time.time() - t0:.0f}s; on the other "
    f"{len(score_rows)}: stack {m(S)} encoder {m(F)} blend {m(0.5 * S + 0.5 * F)}",
    flush=True,
)
