"""Save the stack's level-1 features: out-of-fold on train (as LightGBM sees them) and on dev.

Level 1 = char / word / clause SVM scores + surface features (no USE), from
yanxiu.practice.coder.UtteranceCoder fitted on train with seed 0.
"""
import csv, sys
import numpy as np
import lightgbm
from yanxiu.practice.coder import CoderConfig, UtteranceCoder

captured = {}
orig = lightgbm.LGBMClassifier.fit


def capture(self, X, y, **kw):
    captured["train"] = np.asarray(X)
    return orig(self, X, y, **kw)


lightgbm.LGBMClassifier.fit = capture


def read(n):
    rows = list(csv.DictReader(open(f"/work/shared/data/dialogid/{n}.csv", encoding="utf-8")))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


tt, ty = read("train"); dt, dy = read("dev")
c = UtteranceCoder(CoderConfig(use_embedding=False)).fit(tt, ty)
np.savez(sys.argv[1], train=captured["train"], dev=c.build_features(dt), dev_proba=c.predict_proba(dt))
print(captured["train"].shape)
