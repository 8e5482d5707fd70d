# Run from the repository root with the dev venv; reads var/cache/utterances (see ../README.md, round 3).
import csv
import io
import re
import sys

import numpy as np

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, "platform")
from pathlib import Path

from sklearn.metrics import f1_score

from yanxiu.practice.coder import load_coder

rows = list(csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8"))))
t = [r["text"].strip() for r in rows]
y = np.array([int(r["label"]) for r in rows])
c = load_coder(Path("models"))
S = np.load("var/cache/utterances/stack_dev_proba.npy")
F = np.load("var/cache/utterances/ft_product_dev_proba.npy")


def f(P):
    return round(f1_score(y, P.argmax(1), average="macro"), 4)


v1 = [re.sub(r"[呃嗯啊哈]", "", x) or x for x in t]
v2 = [re.sub(r"[，,。？?！!；;、\s]", "", x) or x for x in t]
v3 = [x.replace("，", "。") for x in t]
for name, v in (("nofill", v1), ("nopunct", v2), ("comma2stop", v3)):
    G = c.ft_.predict_proba(v)
    print(
        name, "alone", f(G), "tta", f((F + G) / 2), "blend", f(0.5 * S + 0.25 * (F + G)), flush=True
    )
