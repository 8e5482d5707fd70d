# Run from /work/main with the dev venv; reads var/cache/utterances (see ../README.md, round 3).
import csv, numpy as np
from sklearn.metrics import f1_score
y = np.array([int(r["label"]) for r in csv.DictReader(open("/work/shared/data/dialogid/dev.csv", encoding="utf-8"))])
d = "var/cache/utterances/"; R = "research/utterance_coder/finetune/runs/"
S = np.load(d+"stack_dev_proba.npy"); F = np.load(d+"ft_product_dev_proba.npy"); G = np.load(R+"G_fgm2/dev_proba_epoch4.npy")
f = lambda P, idx=slice(None): f1_score(y[idx], P[idx].argmax(1), average="macro")
print("stack .5 + two encoders .25 each", round(f(0.5*S+0.25*F+0.25*G), 4))
P = 0.5*S + 0.5*F
rng = np.random.default_rng(0); bs = []
for _ in range(1000):
    i = rng.integers(0, len(y), len(y)); bs.append(f(P, i))
print("shipped 0.5/0.5 dev %.4f, bootstrap 95%% CI %.4f-%.4f, P(>=0.88) %.2f" % (f(P), *np.percentile(bs, [2.5, 97.5]), np.mean(np.array(bs) >= 0.88)))
