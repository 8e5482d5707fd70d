"""Does the fine-tuned encoder do better *inside* the stack than beside it?

LightGBM (the product's level-2 settings) on [the stack's out-of-fold level-1 features (53) |
the fine-tuned encoder's out-of-fold probabilities (9)], the encoder cross-fitted on the same 5
folds (runs/OOF_k, D's settings). Dev features: level-1 from the averaged fold SVMs (as in the
product) and the encoder's dev probabilities, either the mean of the 5 fold models or the
full-train model (run D). Dev only.
"""

import csv
import glob

import lightgbm as lgb
import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

with (DATA / "train.csv").open(encoding="utf-8") as f:
    ytr = np.array([int(r["label"]) for r in csv.DictReader(f)])
with (DATA / "dev.csv").open(encoding="utf-8") as f:
    ydv = np.array([int(r["label"]) for r in csv.DictReader(f)])
L1 = np.load("var/cache/utterances/level1.npz")
oof = np.zeros((len(ytr), 9))
fold_dev = []
for path in sorted(glob.glob("runs/OOF_*/oof.npz")):
    z = np.load(path)
    oof[z["rows"]] = z["proba"]
    fold_dev.append(np.load(path.replace("oof.npz", "dev_proba_epoch4.npy")))
assert len(fold_dev) == 5 and (oof.sum(1) > 0).all()
print("encoder OOF macro-F1 on train", round(f1_score(ytr, oof.argmax(1), average="macro"), 4))
dev_variants = {
    "mean of fold models": np.mean(fold_dev, 0),
    "full-train model (D)": np.load("runs/D_bal_lr6_ls/dev_proba_epoch4.npy"),
}
S = L1["dev_proba"]
params = dict(
    n_estimators=200,
    learning_rate=0.03,
    num_leaves=31,
    min_child_samples=20,
    subsample=0.8,
    subsample_freq=1,
    colsample_bytree=0.5,
    random_state=0,
    n_jobs=1,
    verbose=-1,
    deterministic=True,
    force_row_wise=True,
)
for log in (False, True):
    f = (lambda P: np.log(P + 1e-6)) if log else (lambda P: P)
    m = lgb.LGBMClassifier(**params).fit(np.hstack([L1["train"], f(oof)]), ytr)
    for name, Fd in dev_variants.items():
        P = m.predict_proba(np.hstack([L1["dev"], f(Fd)]))
        line = f"stack with encoder inside ({'log ' if log else ''}probs), dev encoder = {name}: macro-F1 {f1_score(ydv, P.argmax(1), average='macro'):.4f} acc {accuracy_score(ydv, P.argmax(1)):.4f}"
        for w in (0.5, 0.7):
            B = w * P + (1 - w) * Fd
            line += f" | blended again w={w}: {f1_score(ydv, B.argmax(1), average='macro'):.4f}"
        print(line)
    print(
        "reference: stack beside encoder (D), w=0.5:",
        round(
            f1_score(
                ydv,
                (0.5 * S + 0.5 * dev_variants["full-train model (D)"]).argmax(1),
                average="macro",
            ),
            4,
        ),
    )
