"""One-off: convert a coder pickled by an older yanxiu (``coder.joblib``) to plain files.

    python -m yanxiu.lab.coder_convert models/utterances/coder.joblib models/utterances

Until November 2026 the utterance coder was saved as a pickled ``UtteranceCoder``; it is now
arrays (safetensors), the LightGBM text model and JSON, each listed with its sha256 in the
manifest (:mod:`yanxiu.practice.coder`). This reads the pickle once (it trusts the file: run it
only on the repository's own model), takes the fitted parts out of it, and saves them in the
new form beside the old manifest, whose training record it keeps. Nothing is retrained: the
only changes are the stored precisions (linear weights float16, the encoders' matrices int8;
e5 already ran with exactly those int8 weights), measured on dev by ``yanxiu eval utterances``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from yanxiu.lab.coder_train import RESAVE_RULE, versions
from yanxiu.practice.coder import MANIFEST_FILE, CoderConfig, UtteranceCoder, save_files
from yanxiu.practice.e5_finetune import FineTunedE5
from yanxiu.practice.use_finetune import FineTunedUse


def coder_from_pickle(path: Path) -> UtteranceCoder:
    """The coder in a legacy ``coder.joblib``, rebuilt from the attributes the pickle holds."""
    import joblib

    legacy = vars(joblib.load(path))  # the instance's saved attributes, whatever the class is now
    config = legacy["config"]
    cfg = config if isinstance(config, CoderConfig) else CoderConfig.from_dict(vars(config))
    coder = UtteranceCoder(cfg)
    coder.char_vec_ = legacy["char_vec_"]
    coder.W_char_, coder.b_char_ = legacy["W_char_"], legacy["b_char_"]
    if legacy.get("W_word_") is not None:
        coder.word_vec_ = legacy["word_vec_"]
        coder.W_word_, coder.b_word_ = legacy["W_word_"], legacy["b_word_"]
    if cfg.use_embedding:
        pca = legacy["pca_"]
        coder.pca_ = (pca.components_, pca.mean_)
    coder.l2_ = legacy["l2_"].booster_
    if legacy.get("ft_") is not None:
        coder.ft_ = FineTunedUse(vars(legacy["ft_"])["arrays"])
    if legacy.get("e5_") is not None:
        e5 = vars(legacy["e5_"])
        arrays = {k: np.asarray(v, dtype=np.float32) for k, v in e5["arrays"].items()}
        coder.e5_ = FineTunedE5(arrays, e5["n_layers"], e5["heads"], e5["eps"])
    return coder


def _relative(data: dict[str, Any]) -> dict[str, Any]:
    """A data description with its machine path reduced to the file name (the sha256 names it)."""
    return data | {"path": Path(data["path"]).name}


def converted_manifest(old: dict[str, Any], pickle_path: Path) -> dict[str, Any]:
    """The old manifest's training record, without the pickle's entries or machine paths."""
    manifest = {
        k: v for k, v in old.items() if k not in ("model_file", "model_sha256", "model_bytes")
    }
    manifest["rule"] = RESAVE_RULE
    data = dict(old["data"])
    data["train"], data["dev"] = _relative(data["train"]), _relative(data["dev"])
    data["fitted_on"] = [_relative(d) for d in data.get("fitted_on", [])]
    manifest["data"] = data
    manifest["versions"] = old["versions"] | {
        "safetensors (model arrays)": versions()["safetensors (model arrays)"]
    }
    digest = hashlib.sha256(pickle_path.read_bytes()).hexdigest()
    manifest["converted"] = {
        "from": f"{pickle_path.name}, sha256 {digest}",
        "how": "python -m yanxiu.lab.coder_convert (no retraining)",
        "stored": "linear weights float16; fine-tuned USE and e5 matrices int8 with one float32 "
        "scale per output unit (e5 ran with exactly these int8 weights before); everything "
        "else as trained",
        "held_out_figures": "metrics.dev.model is the train-only fit's, measured before the "
        "refit and before this conversion",
    }
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pickle", type=Path, help="the legacy coder.joblib")
    parser.add_argument("out", type=Path, help="directory to write the files and manifest into")
    args = parser.parse_args(argv)
    old_manifest_path = args.pickle.parent / MANIFEST_FILE
    old = json.loads(old_manifest_path.read_text(encoding="utf-8"))
    coder = coder_from_pickle(args.pickle)
    written = save_files(args.out, coder.to_files(), converted_manifest(old, args.pickle))
    for name, entry in written["files"].items():
        print(f"{entry['bytes']:>11,}  {name}")
    print(f"{written['model_bytes']:>11,}  in all ({args.out})")


if __name__ == "__main__":
    main()
