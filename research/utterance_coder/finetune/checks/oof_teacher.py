# Assemble the five cross-fitted encoders' out-of-fold train probabilities (runs/OOF_k/oof.npz,
# from run_oof.sh) into var/cache/utterances/oof_teacher.npy for distill.py. Run from the repository root.
import csv
import io

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

y = np.array(
    [
        int(r["label"])
        for r in csv.DictReader(io.StringIO((DATA / "train.csv").read_text(encoding="utf-8")))
    ]
)
P = np.full((len(y), 9), np.nan, dtype=np.float32)
for k in range(5):
    z = np.load(f"research/utterance_coder/finetune/runs/OOF_{k}/oof.npz")
    P[z["rows"]] = z["proba"]
assert not np.isnan(P).any()
np.save("var/cache/utterances/oof_teacher.npy", P)
print(
    "teacher OOF on train: macro-F1",
    round(f1_score(y, P.argmax(1), average="macro"), 4),
    "mean probability of the gold label",
    round(float(P[np.arange(len(y)), y].mean()), 3),
)
