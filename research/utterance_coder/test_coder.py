"""Smoke tests for coder.py on tiny synthetic data (no USE, fake embedder)."""

import numpy as np
from coder import CoderConfig, UtteranceCoder, clauses, surface_features

CUES = [
    "很好，非常棒",
    "你想想为什么",
    "我们总结一下",
    "同学们好",
    "记一下笔记",
    "再说一遍",
    "复习上节课",
    "比如说",
    "然后这个",
]


def _data(n_per=12, seed=0):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for c, cue in enumerate(CUES):
        for i in range(n_per):
            filler = "".join(rng.choice(list("那这个呢我们看一下题目"), size=rng.integers(1, 6)))
            texts.append(f"{filler}，{cue}{i}。")
            labels.append(c)
    return texts, np.array(labels)


def fake_embedder(texts):
    rng = np.random.default_rng(len(texts))
    return rng.normal(size=(len(texts), 16)).astype(np.float32)


def test_fit_predict_roundtrip(tmp_path):
    X, y = _data()
    cfg = CoderConfig(
        n_folds=3,
        pca_dims=4,
        lgbm=dict(n_estimators=30, learning_rate=0.1, num_leaves=7, min_child_samples=2),
    )
    coder = UtteranceCoder(cfg, embedder=fake_embedder).fit(X, y)
    F = coder.build_features(X[:5])
    assert F.shape == (5, 9 + 9 + 28 + 4 + 7)
    P = coder.predict_proba(X)
    assert P.shape == (len(X), 9) and np.allclose(P.sum(1), 1)
    assert (coder.predict(X) == y).mean() > 0.8
    path = tmp_path / "c.pkl"
    coder.save(str(path))
    again = UtteranceCoder.load(str(path))
    again._embedder = fake_embedder
    assert np.array_equal(again.predict(X), coder.predict(X))


def test_helpers():
    assert clauses("好，那你说一下？对") == ["好", "那你说一下", "对"]
    assert clauses("，。") == ["，。"]
    f = surface_features(["你好吗？", "嗯，好的"])
    assert f.shape == (2, 7) and f[0, 3] == 1 and f[1, 1] == 1
