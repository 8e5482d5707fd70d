# Round 5: is the encoder's seed-to-seed spread worth averaging away? For the product encoder
# fine-tuned with seeds 0..k (augment.py P=0, which is the product's own training), compare on dev:
# each seed alone, the ensemble (mean of probabilities: N encoder passes at inference) and the
# uniform weight soup (mean of the exported arrays: one pass), each blended with the train-only
# stack (seed 0, w 0.5). All fine-tunes start from the same pretrained USE, which is what makes a
# soup possible. Usage (from the repository root): .venv/bin/python .../checks/seed_soup.py 0 1 2 3
import csv
import io
import sys

import numpy as np
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, "platform")
from yanxiu.practice.use_finetune import FineTunedUse  # noqa: E402

rows = list(csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8"))))
texts = [r["text"].strip() for r in rows]
y = np.array([int(r["label"]) for r in rows])
S = np.load("var/cache/utterances/trainonly_here_stack.npy")


def f1(P):
    return round(f1_score(y, P.argmax(1), average="macro"), 4)


seeds = [int(s) for s in sys.argv[1:]]
W = {s: dict(np.load(f"var/cache/utterances/augment_0.0_s{s}_weights.npz")) for s in seeds}
P = {s: np.load(f"var/cache/utterances/augment_0.0_s{s}_ft.npy") for s in seeds}
for s in seeds:
    print(f"seed {s}: encoder {f1(P[s])} blend {f1(0.5 * S + 0.5 * P[s])}")
single = [f1(0.5 * S + 0.5 * P[s]) for s in seeds]
print(f"single seeds: blend mean {np.mean(single):.4f}, sd {np.std(single, ddof=1):.4f}")
for k in range(2, len(seeds) + 1):
    group = seeds[:k]
    E = np.mean([P[s] for s in group], 0)
    soup = FineTunedUse({n: np.mean([W[s][n] for s in group], 0) for n in W[group[0]]})
    Q = soup.predict_proba(texts)
    np.save(f"var/cache/utterances/soup_{'_'.join(map(str, group))}_ft.npy", Q)
    print(
        f"seeds {group}: ensemble encoder {f1(E)} blend {f1(0.5 * S + 0.5 * E)} | "
        f"soup encoder {f1(Q)} blend {f1(0.5 * S + 0.5 * Q)}"
    )
