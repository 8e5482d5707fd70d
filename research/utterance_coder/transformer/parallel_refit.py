# Round 6: the refit half of `yanxiu train utterances` (train + dev, the default configuration),
# run as a second process beside `yanxiu train utterances --no-refit --out /tmp/to`.
import sys
import time
from pathlib import Path

import numpy as np

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project
from yanxiu.lab.coder_train import fit_coder

sys.path.insert(0, "platform")
from yanxiu.lab.coder_train import read_dialogid_csv
from yanxiu.practice.coder import CoderConfig

tr = read_dialogid_csv(DATA / "train.csv")
dv = read_dialogid_csv(DATA / "dev.csv")
t = time.perf_counter()
coder = fit_coder(
    CoderConfig(seed=0), tr.texts + dv.texts, np.concatenate([tr.labels, dv.labels]), progress=True
)
print("refit s", round(time.perf_counter() - t, 1), flush=True)
coder.save(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/refit"))  # round 7: /tmp/refit12
