"""Round 8: e5 through ONNX Runtime with int8 weights against the float32 numpy reference.

Usage: python int8_dev.py MODEL_DIR [DEV_CSV]
MODEL_DIR holds coder.joblib of a fit that never saw DEV_CSV (``yanxiu train utterances
--no-refit --out DIR``). e5 is run on every dev row with each runner (timed, one thread), then
the cascade is recombined at several thresholds τ (e5 joins where the stack + USE blend's top
probability ≤ τ): held-out accuracy and macro-F1 of the whole coder per runner and τ, and the
labels that differ between runners. The row at the model's own τ is checked against
``UtteranceCoder.predict_proba``, so the recombination is the product's.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project
from yanxiu.lab.coder_train import read_dialogid_csv
from yanxiu.practice.coder import UtteranceCoder

THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 1.0)


def main() -> None:
    model_dir = Path(sys.argv[1])
    dev_csv = sys.argv[2] if len(sys.argv) > 2 else str(DATA / "dev.csv")
    dev = read_dialogid_csv(Path(dev_csv))
    coder = UtteranceCoder.load(model_dir)
    cfg, e5 = coder.config, coder.e5_
    assert e5 is not None and coder.ft_ is not None, "needs the stack + USE + e5 coder"
    S = np.asarray(coder.stack_proba(coder.build_features(dev.texts)))
    F = coder.ft_.predict_proba(dev.texts)
    blend = cfg.blend * S + (1 - cfg.blend) * F
    w_stack, w_use, w_e5 = cfg.e5_mix()
    rest = w_stack * S + w_use * F
    print(f"{len(dev.texts)} dev rows; model τ {cfg.e5_below}, e5 weight {w_e5}")
    labels: dict[tuple[str, float], np.ndarray] = {}
    for runner, int8 in (("float32", False), ("int8", True)):
        e5.int8 = int8
        e5.predict_proba(["好。"])  # build the session outside the timing
        t0 = time.thread_time()
        E = e5.predict_proba(dev.texts)
        seconds = time.thread_time() - t0
        print(
            f"\n{runner}: e5 on all rows {seconds:.1f} s CPU ({seconds / len(dev.texts) * 1e3:.1f} ms/row)"
        )
        for tau in THRESHOLDS:
            unsure = blend.max(1) <= tau
            P = blend.copy()
            P[unsure] = rest[unsure] + w_e5 * E[unsure]
            y = labels[runner, tau] = P.argmax(1)
            if tau == cfg.e5_below:
                assert np.array_equal(y, coder.predict_proba(dev.texts).argmax(1))
            print(
                f"  τ {tau:.2f}: e5 on {unsure.mean():5.1%}  accuracy "
                f"{accuracy_score(dev.labels, y):.4f}  macro-F1 {f1_score(dev.labels, y, average='macro'):.4f}"
            )
    print(
        "\nlabels that differ, float32 vs int8:",
        ", ".join(
            f"τ {t:.2f}: {int((labels['float32', t] != labels['int8', t]).sum())}"
            for t in THRESHOLDS
        ),
    )


if __name__ == "__main__":
    main()
