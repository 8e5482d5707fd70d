"""The learned re-ranker: P(completed | offered) from the ranking features, with its manifest.

The model is trained on simulated learners by :mod:`yanxiu.lab.ranker_train`
(``yanxiu train ranker``); here it is only loaded, checked against its manifest and applied.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from yanxiu.recommend.features import FEATURE_NAMES

MODEL_FILE, MANIFEST_FILE = "model.joblib", "manifest.json"


class RankerManifestError(ValueError):
    """A saved ranker does not match this code (feature names, files): retrain it."""


class Ranker:
    """A fitted scikit-learn classifier over ``FEATURE_NAMES`` rows, with its manifest.

    Args:
        model: Fitted estimator with ``predict_proba``.
        manifest: What it is and how it was trained (see :meth:`save`).
    """

    def __init__(self, model: Any, manifest: Mapping[str, Any]) -> None:
        self.model = model
        self.manifest = dict(manifest)

    def score(self, X: np.ndarray) -> np.ndarray:
        """P(completed | offered) per row of a ``feature_matrix``."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
            raise ValueError(f"expected (n, {len(FEATURE_NAMES)}) features, got {X.shape}")
        if len(X) == 0:
            return np.zeros(0)
        return self.model.predict_proba(X)[:, 1]

    def save(self, directory: str | Path) -> Path:
        """Write ``model.joblib`` and ``manifest.json`` (with the model's SHA-256) to ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.model, out / MODEL_FILE)
        manifest = self.manifest | {
            "model_file": MODEL_FILE,
            "model_sha256": _sha256(out / MODEL_FILE),
        }
        tmp = out / (MANIFEST_FILE + ".tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(out / MANIFEST_FILE)
        self.manifest = manifest
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Ranker:
        """Load a saved ranker.

        Raises:
            RankerManifestError: Missing files, a model file that does not match its
                manifest, or feature names that differ from ``FEATURE_NAMES``.
        """
        path = Path(directory)
        try:
            manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RankerManifestError(f"no readable ranker manifest in {path}: {exc}") from exc
        names = tuple(manifest.get("feature_names") or ())
        if names != FEATURE_NAMES:
            raise RankerManifestError(
                f"ranker in {path} was trained on features {list(names)}, but this code computes "
                f"{list(FEATURE_NAMES)}: retrain it (yanxiu train ranker)"
            )
        model_path = path / manifest.get("model_file", MODEL_FILE)
        if not model_path.is_file() or _sha256(model_path) != manifest.get("model_sha256"):
            raise RankerManifestError(f"ranker model file in {path} is missing or altered")
        return cls(joblib.load(model_path), manifest)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def versions() -> dict[str, str]:
    """Library versions recorded in manifests and reports."""
    return {
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "yanxiu": importlib.metadata.version("yanxiu"),
    }
