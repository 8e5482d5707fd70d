"""Fusion weights and the no-match model, per embedding backend.

Chosen on the dev half of content/eval/search_queries.yaml with ``yanxiu eval search --tune``
(a grid over these fields maximising dev nDCG@10, then the no-match model fitted on dev with
its cut maximising dev no-answer F1); the test half is only reported. Cosines differ in scale between backends (e5's are
compressed into 0.7–0.9, the lexical backend's are sparse), so each backend has its own row;
a backend without one uses the neutral defaults and shows every hit.
"""

from __future__ import annotations

from dataclasses import dataclass

from yanxiu.search.relevance import MatchModel


@dataclass(frozen=True)
class Weights:
    dense: float = 1.0
    lexical: float = 0.3
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
TUNED: dict[str, Weights] = {
    # yanxiu eval search --tune (dev half: 123 queries, 12 without an answer):
    # dev nDCG@10 0.884 before the no-match gate, 0.867 after; dev no-answer F1 0.833
    "e5": Weights(
        lexical=0.2,
        problem_offset=0.04,
        doc_mix=0.5,
        stage=0.02,
        subject=0.02,
        match=MatchModel(
            coef=(
                1.979199473334673,
                -0.28594927974668705,
                0.8624567168091597,
                -1.0684237838084651,
                1.5764885894664138,
            ),
            intercept=2.268208598151365,
            mean=(
                0.9278725224440215,
                4.600198523861953,
                0.21853242988591312,
                0.22101547667341945,
                0.04918032786885246,
            ),
            scale=(
                0.03275751756881551,
                1.3144140646336178,
                0.10654559949522809,
                0.2468285446174357,
                0.2162443599716872,
            ),
            cut=0.2,  # halfway between the dev probabilities either side of it
        ),
    ),  # fmt: skip
    # the no-model fallback (and the fast test backend): only nonsense falls below it
    "lexical": Weights(
        tail=0.25,
        match=MatchModel((1.0, 0, 0, 0, 0), 0.0, (0.1, 0, 0, 0, 0), (0.01, 1, 1, 1, 1), 0.5),
    ),
}


def weights_for(backend: str) -> Weights:
    return TUNED.get(backend, DEFAULT)
