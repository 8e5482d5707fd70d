"""Save the stack's level-1 features: out-of-fold on train (as LightGBM sees them) and on dev.

Level 1 = char / word / clause SVM scores + surface features (no USE), from
yanxiu.practice.coder.UtteranceCoder fitted on train with seed 0.
"""

import csv
import io
import sys

import lightgbm
import numpy as np

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project
from yanxiu.lab.coder_train import fit_coder
from yanxiu.practice.coder import CoderConfig

captured = {}
orig = lightgbm.LGBMClassifier.fit


def capture(self, X, y, **kw):
    captured["train"] = np.asarray(X)
    return orig(self, X, y, **kw)


lightgbm.LGBMClassifier.fit = capture


def read(n):
    rows = list(csv.DictReader(io.StringIO((DATA / f"{n}.csv").read_text(encoding="utf-8"))))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


tt, ty = read("train")
dt, dy = read("dev")
c = fit_coder(CoderConfig(use_embedding=False), tt, ty)
np.savez(
    sys.argv[1], train=captured["train"], dev=c.build_features(dt), dev_proba=c.predict_proba(dt)
)
print(captured["train"].shape)
