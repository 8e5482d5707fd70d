# Round 8: held-out dev macro-F1/accuracy of the train-only fit for e5 runner × weight × τ.
# Usage (from the repository root): python int8_grid.py   (reads /tmp/trainonly, the train-only fit)
import dataclasses
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project
from yanxiu.lab.coder_train import read_dialogid_csv
from yanxiu.practice.coder import UtteranceCoder

dev = read_dialogid_csv(DATA / "dev.csv")
coder = UtteranceCoder.load(Path("/tmp/trainonly"))
cfg = coder.config
S = np.asarray(coder.stack_proba(coder.build_features(dev.texts)))
F = coder.ft_.predict_proba(dev.texts)
blend = cfg.blend * S + (1 - cfg.blend) * F
for int8 in (True, False):
    coder.e5_.int8 = int8
    E = coder.e5_.predict_proba(dev.texts)
    for w in (0.25, 0.35, 0.5):
        ws, wu, we = dataclasses.replace(cfg, e5_weight=w).e5_mix()
        row = []
        for tau in (0.6, 0.65, 0.7, 1.0):
            u = blend.max(1) <= tau
            P = blend.copy()
            P[u] = ws * S[u] + wu * F[u] + we * E[u]
            y = P.argmax(1)
            row.append(
                f"τ{tau}: {f1_score(dev.labels, y, average='macro'):.5f}/{accuracy_score(dev.labels, y):.4f}"
            )
        print("int8" if int8 else "fp32", "w", w, "  ".join(row))
