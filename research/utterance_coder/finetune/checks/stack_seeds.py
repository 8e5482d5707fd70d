# Run from /work/main with the dev venv; reads var/cache/utterances (see ../README.md, round 3).
import csv, numpy as np, sys, time
sys.path.insert(0, "platform")
from yanxiu.practice.coder import UtteranceCoder, CoderConfig
from sklearn.metrics import f1_score
def read(n):
    rows = list(csv.DictReader(open(f"/work/shared/data/dialogid/{n}.csv", encoding="utf-8")))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])
tr, ytr = read("train"); dv, ydv = read("dev")
F = np.load("var/cache/utterances/ft_product_dev_proba.npy")
for s in (1, 2):
    t0 = time.time()
    c = UtteranceCoder(CoderConfig(finetune=False, seed=s)).fit(tr, ytr)
    P = c.predict_proba(dv); np.save(f"var/cache/utterances/stack_seed{s}_dev_proba.npy", P)
    print(s, round(time.time()-t0), "alone", round(f1_score(ydv, P.argmax(1), average="macro"), 4),
          "blend", round(f1_score(ydv, (0.5*P+0.5*F).argmax(1), average="macro"), 4), flush=True)
