"""Dev probabilities of a train-only product coder's two halves (stack, fine-tuned USE).

Usage: .venv/bin/python research/utterance_coder/transformer/product_halves.py MODEL_DIR
(MODEL_DIR from `yanxiu train utterances --no-refit --out MODEL_DIR`).
"""

import csv
import io
import sys
from pathlib import Path

import numpy as np

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, "platform")
from yanxiu.practice.coder import UtteranceCoder  # noqa: E402

rows = list(csv.DictReader(io.StringIO((DATA / "dev.csv").read_text(encoding="utf-8"))))
texts = [r["text"].strip() for r in rows]
coder = UtteranceCoder.load(Path(sys.argv[1]))
np.save(
    "var/cache/utterances/trainonly_stack_dev.npy", coder.stack_proba(coder.build_features(texts))
)
np.save("var/cache/utterances/trainonly_ft_dev.npy", coder.ft_.predict_proba(texts))
