# Run from the repository root with the dev venv; reads var/cache/utterances (see ../README.md, round 3).
import csv
import io

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

y = np.array(
    [
        int(r["label"])
        for r in csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8")))
    ]
)
d = "var/cache/utterances/"
R = "research/utterance_coder/finetune/runs/"
S = np.load(d + "stack_dev_proba.npy")
F = np.load(d + "ft_product_dev_proba.npy")
G = np.load(R + "G_fgm2/dev_proba_epoch4.npy")


def f(P, idx=slice(None)):
    return f1_score(y[idx], P[idx].argmax(1), average="macro")


print("stack .5 + two encoders .25 each", round(f(0.5 * S + 0.25 * F + 0.25 * G), 4))
P = 0.5 * S + 0.5 * F
rng = np.random.default_rng(0)
bs = []
for _ in range(1000):
    i = rng.integers(0, len(y), len(y))
    bs.append(f(P, i))
print(
    "shipped 0.5/0.5 dev {:.4f}, bootstrap 95% CI {:.4f}-{:.4f}, P(>=0.88) {:.2f}".format(
        f(P), *np.percentile(bs, [2.5, 97.5]), np.mean(np.array(bs) >= 0.88)
    )
)
