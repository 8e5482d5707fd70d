"""Run like exp.py. E: clause max per fold model then averaged (the research variant) vs fold-averaged weights, same fit."""

import json
from pathlib import Path

import numpy as np

from yanxiu.lab.coder_train import (
    DEFAULT_DEV,
    DEFAULT_TRAIN,
    cached_embeddings,
    fit_coder,
    metrics,
    read_dialogid_csv,
)
from yanxiu.practice.coder import CoderConfig

CACHE = Path("var/cache/utterances")
tr, dv = read_dialogid_csv(DEFAULT_TRAIN), read_dialogid_csv(DEFAULT_DEV)
Etr, Edv = cached_embeddings(tr.texts, CACHE), cached_embeddings(dv.texts, CACHE)
c = fit_coder(CoderConfig(min_df=3), tr.texts, tr.labels, Etr)
Z = c.build_features(dv.texts, Edv)
m = metrics(dv.labels, c.stack_proba(Z).argmax(1))
print(
    json.dumps(
        {
            "name": "C again (averaged, min_df=3): reproducibility check",
            "acc": m["accuracy"],
            "macro_f1": m["macro_f1"],
        }
    ),
    flush=True,
)
# per-fold clause features averaged
per = np.mean([c._clause_features(dv.texts, W, b) for W, b in c._fold_char], axis=0)
Z2 = Z.copy()
Z2[:, 18:46] = per
m2 = metrics(dv.labels, c.stack_proba(Z2).argmax(1))
print(
    json.dumps(
        {
            "name": "E per-fold clause pooling, min_df=3",
            "acc": m2["accuracy"],
            "macro_f1": m2["macro_f1"],
            "per": list(m2["per_class_f1"].values()),
        }
    ),
    flush=True,
)
