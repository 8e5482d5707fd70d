"""The e5 encoder (pretrained or fine-tuned layers) run by ONNX Runtime with int8 weights.

:func:`yanxiu.search.e5_model.forward` (numpy, float32) is the reference; this module
builds the same post-LN BERT layers as an ONNX graph in memory, nothing written to disk, with
each weight matrix quantised to int8 per output column (symmetric, scale = max |w| / 127) and
multiplied by ONNX Runtime's ``DynamicQuantizeMatMul``, which quantises the activations per
call. Integer products use the CPU's VNNI/AVX2 kernels: the four matrix products per layer,
about nine tenths of e5's cost, run about four times faster than float32 BLAS on one core.
Attention products, softmax, GELU (tanh form, as in fine-tuning) and the layer norms stay
float32. The embedding lookup and mean pooling stay in numpy.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any, Literal

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from yanxiu.search.e5_model import quantize_columns

Int8Weights = Mapping[str, tuple[np.ndarray, np.ndarray]]  # "l0.qkv" → (int8 (in, out), scales)

OPSET = 20  # Gelu with approximate="tanh"


class _Graph:
    """Accumulates nodes and initialisers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], domain=domain, **attrs))
        return out

    def dense(
        self,
        x: str,
        w: np.ndarray,
        b: np.ndarray,
        name: str,
        int8: bool,
        quantized: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> str:
        if not int8:
            product = self.op("MatMul", [x, self.const(name + ".w", w.astype(np.float32))])
            return self.op("Add", [product, self.const(name + ".b", b.astype(np.float32))])
        q, scale = quantized if quantized is not None else quantize_columns(w)
        return self.op(
            "DynamicQuantizeMatMul",
            [x, self.const(name + ".q", q), self.const(name + ".s", scale),
             self.const(name + ".z", np.zeros(q.shape[1], np.int8)),
             self.const(name + ".b", b.astype(np.float32))],
            domain="com.microsoft",
        )  # fmt: skip

    def layer_norm(self, x: str, w: np.ndarray, b: np.ndarray, eps: float, name: str) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.const(name + ".w", w), self.const(name + ".b", b)],
            axis=-1, epsilon=eps,
        )  # fmt: skip


def build_model(
    weights: dict[str, np.ndarray],
    fused: dict[str, np.ndarray],
    n_layers: int,
    heads: int,
    eps: float,
    *,
    int8: bool = True,
    int8_weights: Int8Weights | None = None,
    float_parts: Collection[str] = (),
    gelu: Literal["tanh", "none"] = "tanh",
) -> onnx.ModelProto:
    """The encoder layers as ONNX: inputs ``x`` (n, t, hidden), the embedding layer norm's
    output, and ``bias`` (n, 1, 1, t), 0 for tokens and −10⁴ for padding; output ``h``, the
    last hidden states (n, t, hidden). ``weights`` and ``fused`` as for ``forward``;
    ``int8_weights`` the int8 matrices as saved (else ``fused`` is quantised here);
    ``int8=False`` keeps the matrix products in float32 (to check the graph against numpy);
    ``float_parts`` keeps only those ("qkv", "ao", "fi", "fo") in float32. ``gelu`` "tanh" is
    the approximation fine-tuning used; the pretrained e5 itself uses the exact form ("none")."""
    hidden = fused["l0.ao.w"].shape[0]
    hd = hidden // heads
    g = _Graph()
    split_heads = g.const("split_heads", np.array([0, 0, 3, heads, hd], np.int64))
    merge_heads = g.const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = g.const("scale", np.array(1 / math.sqrt(hd), np.float32))

    def dense(inp: str, p: str, part: str) -> str:
        bias = fused[p + "qkv.b"] if part == "qkv" else weights[p + part + ".b"]
        quantize = int8 and part not in float_parts
        saved = None if int8_weights is None or not quantize else int8_weights[p + part]
        return g.dense(inp, fused[p + part + ".w"], bias, p + part, quantize, saved)

    def add_norm(y: str, residual: str, p: str, ln: str) -> str:
        w, b = weights[p + ln + ".w"], weights[p + ln + ".b"]
        return g.layer_norm(g.op("Add", [y, residual]), w, b, eps, p + ln)

    x = "x"
    for i in range(n_layers):
        p = f"l{i}."
        qkv = g.op("Reshape", [dense(x, p, "qkv"), split_heads])
        qkv = g.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # (3, n, heads, t, hd)
        q, k, v = (g.op("Gather", [qkv, g.const(f"{p}pick{j}", np.array(j, np.int64))], axis=0)
                   for j in range(3))  # fmt: skip
        att = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        att = g.op("Softmax", [g.op("Add", [g.op("Mul", [att, scale]), "bias"])], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [att, v])], perm=[0, 2, 1, 3])
        x = add_norm(dense(g.op("Reshape", [ctx, merge_heads]), p, "ao"), x, p, "aln")
        h = g.op("Gelu", [dense(x, p, "fi")], approximate=gelu)
        x = add_norm(dense(h, p, "fo"), x, p, "oln")
    g.nodes.append(helper.make_node("Identity", [x], ["h"]))
    graph = helper.make_graph(
        g.nodes, "e5_int8",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "t", hidden]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["n", 1, 1, "t"])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["n", "t", hidden])],
        g.inits,
    )  # fmt: skip
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
        ir_version=10,
    )


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    """One intra-op thread, run on the calling thread: a request scores on one core, and the
    benchmark's thread CPU time sees all of it."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
