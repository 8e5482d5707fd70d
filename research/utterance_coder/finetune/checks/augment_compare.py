# Round 5: dev macro-F1 of every augment.py run, blended with the train-only stack (w 0.5), and the
# paired bootstrap difference of each against the control of the same seed; then seed ensembles
# (mean of the encoders' probabilities). Usage (from the repository root, after augment.py runs):
#   .venv/bin/python research/utterance_coder/finetune/checks/augment_compare.py
import csv
import glob
import io
import re

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

rows = list(csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8"))))
y = np.array([int(r["label"]) for r in rows])
S = np.load("var/cache/utterances/trainonly_here_stack.npy")


def f1(P, i=slice(None)):
    return f1_score(y[i], P[i].argmax(1), average="macro")


runs = {
    re.sub(r".*augment_(.*)_ft\.npy", r"\1", p): np.load(p)
    for p in sorted(glob.glob("var/cache/utterances/augment_*_ft.npy"))
}
draws = np.random.default_rng(0).integers(0, len(y), (1000, len(y)))
for name, F in runs.items():
    seed = re.search(r"_s(\d+)", name).group(1)
    ctrl = runs.get(f"0.0_s{seed}")
    line = f"{name:22s} encoder {f1(F):.4f}  blend {f1(0.5 * S + 0.5 * F):.4f}"
    if ctrl is not None and ctrl is not F:
        B, C = 0.5 * S + 0.5 * F, 0.5 * S + 0.5 * ctrl
        d = [f1(B, i) - f1(C, i) for i in draws]
        line += f"  vs control {f1(B) - f1(C):+.4f} (95 % {np.percentile(d, 2.5):+.4f} to {np.percentile(d, 97.5):+.4f})"
    print(line)
for group in (
    ["0.0_s0", "0.0_s1"],
    ["0.5_s0_nohomo", "0.5_s1_nohomo"],
    ["0.0_s0", "0.0_s1", "0.5_s0_nohomo", "0.5_s1_nohomo"],
):
    if all(g in runs for g in group):
        F = np.mean([runs[g] for g in group], 0)
        print(f"ensemble {'+'.join(group)}: encoder {f1(F):.4f} blend {f1(0.5 * S + 0.5 * F):.4f}")
