"""Average the exported weights of several fine-tuned runs (a "model soup") and score dev."""

import csv
import io
import os
import pickle
import sys

import numpy as np
import torch
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, os.path.dirname(__file__))
from finetune import CACHE, predict
from use_torch import TRAINABLE, UseTorch

torch.set_num_threads(1)
out, paths = sys.argv[1], sys.argv[2:]
arrs = [np.load(p) for p in paths]
avg = {k: np.mean([a[k] for a in arrs], axis=0) for k in arrs[0].files}
m = UseTorch()
with torch.no_grad():
    for k in TRAINABLE:
        m.p[k].copy_(torch.from_numpy(avg[k]))
    m.head.weight.copy_(torch.from_numpy(avg["head_W"].T.copy()))
    m.head.bias.copy_(torch.from_numpy(avg["head_b"]))
    m.scale.fill_(1.0)
with open(CACHE, "rb") as f:
    dv = pickle.load(f)["dev"]  # the token ids finetune.py cached
P = predict(m, dv)
y = np.array(
    [
        int(r["label"])
        for r in csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8")))
    ]
)
print("soup", f1_score(y, P.argmax(1), average="macro"))
np.save(out, P)
