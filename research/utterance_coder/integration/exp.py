"""Time-boxed dev-only experiments on the integrated coder (yanxiu.practice.coder), Nov 2026.

Run from the repository root with one BLAS thread:
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python research/utterance_coder/integration/exp.py [A B C D]
Output: exp.log (one JSON row per configuration; "bytes" = joblib compress=3 size).
A, B and D use min_df=2 (the research default at the time); C is the shipped min_df=3.
"""

import json
import sys
import time
from pathlib import Path

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
configs = {
    "A default (fold-averaged weights)": CoderConfig(min_df=2),
    "B L2 class_weight=balanced": CoderConfig(min_df=2, l2_class_weight="balanced"),
    "C min_df=3": CoderConfig(min_df=3),
    "D L2 800 trees lr 0.03 leaves 15": CoderConfig(
        min_df=2,
        lgbm=dict(
            n_estimators=800,
            learning_rate=0.03,
            num_leaves=15,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.5,
        ),
    ),
}
only = sys.argv[1:]
for name, cfg in configs.items():
    if only and name[0] not in only:
        continue
    t = time.time()
    c = fit_coder(cfg, tr.texts, tr.labels, Etr)
    fit = time.time() - t
    P = c.predict_proba(dv.texts, Edv)
    m = metrics(dv.labels, P.argmax(1))
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(c, buf, compress=3)
    print(
        json.dumps(
            {
                "name": name,
                "acc": m["accuracy"],
                "macro_f1": m["macro_f1"],
                "per": list(m["per_class_f1"].values()),
                "fit_s": round(fit, 1),
                "bytes": buf.tell(),
            }
        ),
        flush=True,
    )
