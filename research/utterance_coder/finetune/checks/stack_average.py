# Run from /work/main with the dev venv; reads/writes var/cache/utterances (see ../README.md, round 3).
import csv, numpy as np
from sklearn.metrics import f1_score
y = np.array([int(r["label"]) for r in csv.DictReader(open("/work/shared/data/dialogid/dev.csv", encoding="utf-8"))])
d = "var/cache/utterances/"
S0 = np.load(d+"stack_dev_proba.npy"); S1 = np.load(d+"stack_seed1_dev_proba.npy"); S2 = np.load(d+"stack_seed2_dev_proba.npy")
F = np.load(d+"ft_product_dev_proba.npy")
S = (S0+S1+S2)/3
f = lambda P: round(f1_score(y, P.argmax(1), average="macro"), 4)
print("avg3 stack alone", f(S), "blend", [f(w*S+(1-w)*F) for w in (0.4,0.5,0.6)])
S = (S0+S1)/2
print("avg2 stack alone", f(S), "blend", [f(w*S+(1-w)*F) for w in (0.4,0.5,0.6)])
