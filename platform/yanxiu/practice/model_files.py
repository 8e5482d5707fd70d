"""A saved model as plain files, each listed with its sha256 in the manifest, checked on load.

Arrays are safetensors (a JSON header and raw little-endian data: nothing in the format can run
code), everything else is JSON or a library's documented text format. Nothing here unpickles,
so a refactored class can still read a model saved before it, and a changed or damaged file is
refused by name instead of being half-read.

Matrices that tolerate it are stored as int8 with one float32 scale per output unit
(symmetric, scale = max |w| / 127), the layout the e5 runner multiplies in ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from yanxiu.search.e5_model import quantize_columns  # noqa: F401 (re-exported)

SCALE_SUFFIX = ".scale"  # the per-output-unit scales of an int8 matrix "name" are "name.scale"


class ModelFileError(ValueError):
    """A model file is missing, changed since its manifest was written, or unreadable."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_files(directory: Path, files: Mapping[str, bytes]) -> dict[str, dict[str, Any]]:
    """Write ``files`` (name → content) into ``directory``; returns the manifest's file table.

    Each file is written beside and renamed into place, so a reader sees whole files only; a
    reader that catches some files old and some new is stopped by the sha256 check.
    """
    directory.mkdir(parents=True, exist_ok=True)
    table = {}
    for name, data in files.items():
        partial = directory / (name + ".partial")
        partial.write_bytes(data)
        partial.replace(directory / name)
        table[name] = {"sha256": sha256_hex(data), "bytes": len(data)}
    return table


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented UTF-8 JSON, beside and renamed into place."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)


def read_verified(directory: Path, table: Mapping[str, Mapping[str, Any]]) -> dict[str, bytes]:
    """The content of every file in the manifest's ``table``, each checked against its sha256.

    Raises:
        ModelFileError: A listed file is absent or its sha256 differs from the manifest's.
    """
    out = {}
    for name, entry in table.items():
        if Path(name).name != name:
            raise ModelFileError(f"{directory}: the manifest lists {name!r}, not a plain file name")
        path = directory / name
        if not path.is_file():
            raise ModelFileError(f"{path}: listed in the manifest but missing")
        data = path.read_bytes()
        actual = sha256_hex(data)
        if actual != entry["sha256"]:
            raise ModelFileError(
                f"{path}: sha256 {actual} does not match the manifest's {entry['sha256']}; the "
                "file was changed or damaged since the model was saved: restore it (git checkout) "
                "or save the model again"
            )
        out[name] = data
    return out


def fingerprint(table: Mapping[str, Mapping[str, Any]]) -> str:
    """Eight hex digits naming the whole set of files (any changed file changes it)."""
    lines = "".join(f"{name} {table[name]['sha256']}\n" for name in sorted(table))
    return sha256_hex(lines.encode("utf-8"))[:8]


def arrays_to_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """safetensors bytes of ``arrays`` (contiguous copies; names sorted, so the bytes repeat)."""
    return safetensors.numpy.save({k: np.ascontiguousarray(arrays[k]) for k in sorted(arrays)})


def arrays_from_bytes(data: bytes, what: str) -> dict[str, np.ndarray]:
    try:
        return dict(safetensors.numpy.load(data))
    except Exception as err:  # safetensors raises its own error type for a malformed header
        raise ModelFileError(f"{what}: not a readable safetensors file ({err})") from err


def int8_matrices(
    arrays: Mapping[str, np.ndarray], names: Iterable[str], *, out_axis: int
) -> dict[str, np.ndarray]:
    """The named matrices as int8 plus ``name.scale``, one scale per output unit: per column
    for ``(in, out)`` matrices (``out_axis=1``), per row for ``(out, in)`` ones (``out_axis=0``)."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        w = np.asarray(arrays[name], dtype=np.float32)
        q, scale = quantize_columns(w if out_axis == 1 else w.T)
        out[name] = q if out_axis == 1 else np.ascontiguousarray(q.T)
        out[name + SCALE_SUFFIX] = scale
    return out


def dequantized(q: np.ndarray, scale: np.ndarray, *, out_axis: int) -> np.ndarray:
    """float32 values of an int8 matrix stored by :func:`int8_matrices`."""
    s = scale[None, :] if out_axis == 1 else scale[:, None]
    return np.ascontiguousarray(q.astype(np.float32) * s)
