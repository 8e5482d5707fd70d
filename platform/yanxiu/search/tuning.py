"""Fusion weights and the no-match model, per embedding backend.

Chosen on the dev half of content/eval/search_queries.yaml with ``yanxiu eval search --tune``
(a grid over these fields maximising dev nDCG@10, then the no-match model fitted on dev with
its cut maximising dev no-answer F1); the test half is only reported. ``--save`` writes them
to ``tuned.json`` beside this module: plain numbers, reviewed in a diff, never a pickle.
Cosines differ in scale between backends (e5's are compressed into 0.7–0.9, the lexical
backend's are sparse), so each backend has its own row; a backend without one uses the
neutral defaults and shows every hit.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yanxiu.search.relevance import MatchModel


@dataclass(frozen=True)
class Weights:
    dense: float = 1.0
    lexical: float = 0.3
    sound: float = 0.0  # the pinyin channel (yanxiu.search.sound): homophone typos
    problem_offset: float = 0.0  # added to a 典型困惑's cosine before it competes with the text's
    doc_mix: float = 0.0  # share of the resource's own cosine kept when a 典型困惑 beats it
    stage: float = 0.02  # the query names a stage the resource serves
    subject: float = 0.03
    general_share: float = 0.3  # a 通用 resource gets this share of the subject boost
    mismatch_penalty: float = 1.0  # a resource for another stage/subject loses the boost
    prior_stage: float = 0.005  # the teacher's profile, when the query names none
    prior_subject: float = 0.008
    tail: float = float("inf")  # with matches_only, hits this far below the best are dropped
    match: MatchModel | None = None  # is anything a match? (yanxiu.search.relevance)


DEFAULT = Weights()
TUNED_FILE = Path(__file__).with_name("tuned.json")


def weights_from_dict(data: Mapping[str, Any]) -> Weights:
    fields = {k: float(v) for k, v in data.items() if k != "match" and not k.startswith("_")}
    match = MatchModel.from_dict(data["match"]) if data.get("match") else None
    return Weights(**fields, match=match)


def weights_as_dict(weights: Weights) -> dict[str, Any]:
    out: dict[str, Any] = {
        f.name: getattr(weights, f.name) for f in dataclasses.fields(weights) if f.name != "match"
    }
    if out["tail"] == float("inf"):
        del out["tail"]
    if weights.match is not None:
        out["match"] = weights.match.as_dict()
    return out


def load_tuned(path: Path = TUNED_FILE) -> dict[str, Weights]:
    """Weights per backend from the JSON file ``yanxiu eval search --tune --save`` writes."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {backend: weights_from_dict(row) for backend, row in data["backends"].items()}


def save_tuned(backend: str, weights: Weights, note: str, path: Path = TUNED_FILE) -> None:
    """Replace ``backend``'s row in the JSON file (plain numbers, no pickle)."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"backends": {}}
    row = weights_as_dict(weights)
    row["_note"] = note
    data["backends"][backend] = row
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


TUNED: dict[str, Weights] = load_tuned()


def weights_for(backend: str) -> Weights:
    return TUNED.get(backend, DEFAULT)
