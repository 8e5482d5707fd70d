"""Training the re-ranker (:mod:`yanxiu.recommend.ranker`) on simulated learners.

Training data comes from :mod:`yanxiu.lab.simulator`: simulated teachers browse the
published catalog and every offer is logged. Each record becomes the features the platform
would have seen at that moment (:func:`yanxiu.recommend.features.feature_matrix`): the teacher
vector is built by :class:`yanxiu.recommend.profiles.TeacherVectors` exactly as for a real
teacher, from the profile text, a *diagnosis* (each latent need revealed with probability 0.7,
severity from a noisy reading of the mastery) and the items completed so far; item
popularity and completion rates are the counts logged before the offer. The label is
``completed``. Two models are compared on a validation split of the simulated teachers
(gradient boosting and a standardised logistic regression, by AUC); the better one is refit
on all training teachers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from yanxiu.content import load_content
from yanxiu.lab.search_bench import content_docs
from yanxiu.lab.simulator import (
    InteractionLog,
    LearnerSimulator,
    SimTeacher,
    generate_interactions,
    items_from_resources,
)
from yanxiu.recommend.features import (
    FEATURE_NAMES,
    ItemInfo,
    ItemStats,
    TeacherContext,
    feature_matrix,
    format_history,
)
from yanxiu.recommend.profiles import TeacherSignals, TeacherVectors, Weakness
from yanxiu.recommend.ranker import Ranker, versions
from yanxiu.search.embed import LexicalEmbedder, make_embedder
from yanxiu.search.embed_cache import EmbeddingCache

REVEAL_NEED = 0.7  # chance that a diagnosis reveals each latent need
TODAY = date(2026, 9, 1)  # fixed "today" for teacher vectors: no decay inside a simulation


@dataclass
class SimWorld:
    """The published catalog as both the simulator and the ranking features see it.

    Attributes:
        sim: The learner simulator over the published items.
        items: Ranking view of the same items, aligned with ``vectors`` and ``sim.items``.
        vectors: ``(n, dim)`` document vectors of the items.
        vectors_tv: Builds teacher vectors from profile, weaknesses and completions.
        doc_id: Item code -> catalog document id (what ``TeacherVectors`` keys on).
        backend: Embedding backend name.
    """

    sim: LearnerSimulator
    items: list[ItemInfo]
    vectors: np.ndarray
    vectors_tv: TeacherVectors
    doc_id: dict[str, int]
    backend: str

    def __post_init__(self) -> None:
        self.formats = {it.code: it.format for it in self.items}

    @property
    def graph(self) -> dict[str, tuple[str, ...]]:
        """Item code -> its (published) prerequisites."""
        return {it.code: it.prerequisites for it in self.items}


def build_world(content_dir: Path, cache: EmbeddingCache, backend: str, seed: int) -> SimWorld:
    """Embed (through ``cache``) and wrap the published catalog of ``content_dir``."""
    content = load_content(content_dir)
    docs = {d.code: d for d in content_docs(content_dir)}
    sim_items = items_from_resources(content.resources)
    sim = LearnerSimulator(sim_items, [c["id"] for c in content.competencies], seed=seed)
    embedder = make_embedder(backend)
    if isinstance(embedder, LexicalEmbedder):
        embedder.fit([d.text for d in docs.values()])
    texts = [docs[it.id].text for it in sim_items]
    vectors = cache.get_or_embed(embedder, texts, kind="document")
    comp_text = {c["id"]: f"{c['name']}：{c['description']}" for c in content.competencies}
    doc_texts = {docs[it.id].id: docs[it.id].text for it in sim_items}
    tv = TeacherVectors(embedder, cache, doc_texts, comp_text, max_cached=50_000)
    items = [
        ItemInfo(it.id, it.stages, it.subjects, it.format, it.hours, it.competencies,
                 it.prerequisites, it.category)
        for it in sim_items
    ]  # fmt: skip
    doc_id = {it.id: docs[it.id].id for it in sim_items}
    return SimWorld(sim, items, vectors, tv, doc_id, backend)


def diagnose(teacher: SimTeacher, rng: np.random.Generator) -> tuple[Weakness, ...]:
    """A reviewed diagnosis: each latent need revealed with ``REVEAL_NEED``, noisy severity."""
    out = []
    for comp in sorted(teacher.needs):
        if rng.random() < REVEAL_NEED:
            severity = float(np.clip(1.0 - teacher.mastery[comp] + rng.normal(0, 0.1), 0.1, 1.0))
            out.append(Weakness(comp, round(severity, 2)))
    return tuple(out)


def teacher_context(
    world: SimWorld, teacher: SimTeacher, diagnosis: Sequence[Weakness], completed: Sequence[str]
) -> TeacherContext:
    """What the platform knows of ``teacher``: profile, diagnosis, completions (newest last)."""
    done = tuple((world.doc_id[c], TODAY) for c in reversed(completed))
    signals = TeacherSignals(teacher.id, teacher.stage, (teacher.subject,), teacher.tier,
                             weaknesses=tuple(diagnosis), completed=done)  # fmt: skip
    comps = [w.competency for w in diagnosis if w.competency in world.vectors_tv.competency_text]
    weak_vecs = (
        world.vectors_tv.cache.get_or_embed(
            world.vectors_tv.embedder,
            [world.vectors_tv.competency_text[c] for c in comps],
            kind="query",
        )
        if comps
        else np.zeros((0, world.vectors.shape[1]), np.float32)
    )
    fmt = world.formats
    return TeacherContext(
        vector=world.vectors_tv.vector(signals, today=TODAY),
        weakness_vectors=weak_vecs,
        weaknesses=frozenset(comps),
        stage=teacher.stage,
        subjects=(teacher.subject,),
        completed=frozenset(completed),
        format_history=format_history([fmt[c] for c in completed]),
    )


def log_rows(
    world: SimWorld, log: InteractionLog, teachers: Iterable[SimTeacher], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features ``X``, labels ``y`` (completed) and teacher ids of every logged offer."""
    rng = np.random.default_rng([seed, 17])
    by_id = {t.id: t for t in teachers}
    diagnoses = {tid: diagnose(t, rng) for tid, t in sorted(by_id.items())}
    completed: dict[int, list[str]] = {tid: [] for tid in by_id}
    n = len(world.items)
    enrol, done = np.zeros(n), np.zeros(n)
    X = np.zeros((len(log.records), len(FEATURE_NAMES)), np.float32)
    y, groups = np.zeros(len(log.records), np.int8), np.zeros(len(log.records), np.int64)
    for row, rec in enumerate(log.records):
        i = world.sim.index[rec.item_id]
        ctx = teacher_context(world, by_id[rec.teacher_id], diagnoses[rec.teacher_id],
                              completed[rec.teacher_id])  # fmt: skip
        X[row] = feature_matrix(ctx, world.items, world.vectors, ItemStats(enrol, done))[i]
        y[row], groups[row] = rec.completed, rec.teacher_id
        enrol[i] += rec.enrolled
        done[i] += rec.completed
        if rec.completed:
            completed[rec.teacher_id].append(rec.item_id)
    return X, y, groups


def log_stats(world: SimWorld, log: InteractionLog) -> ItemStats:
    """Enrolment and completion counts per item over a whole log."""
    enrol, done = np.zeros(len(world.items)), np.zeros(len(world.items))
    for rec in log.records:
        i = world.sim.index[rec.item_id]
        enrol[i] += rec.enrolled
        done[i] += rec.completed
    return ItemStats(enrol, done)


def _candidates(seed: int) -> dict[str, Any]:
    return {
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.08, max_leaf_nodes=15, l2_regularization=1.0,
            early_stopping=False, random_state=seed,
        ),
        "logistic_regression": make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)
        ),
    }  # fmt: skip


def fit_ranker(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, *, seed: int = 0, val_share: float = 0.2
) -> tuple[Any, dict[str, Any]]:
    """Compare the candidate models on a teacher-level validation split; refit the best on all.

    Returns:
        The fitted model and ``{"selected", "validation": {name: {auc, log_loss}}, ...}``.
    """
    rng = np.random.default_rng([seed, 23])
    ids = np.unique(groups)
    val_ids = rng.choice(ids, size=max(1, round(val_share * len(ids))), replace=False)
    val = np.isin(groups, val_ids)
    scores: dict[str, dict[str, float]] = {}
    for name, model in _candidates(seed).items():
        model.fit(X[~val], y[~val])
        p = model.predict_proba(X[val])[:, 1]
        scores[name] = {
            "auc": round(float(roc_auc_score(y[val], p)), 4),
            "log_loss": round(float(log_loss(y[val], p, labels=[0, 1])), 4),
        }
    best = max(scores, key=lambda n: (scores[n]["auc"], -scores[n]["log_loss"]))
    model = _candidates(seed)[best].fit(X, y)
    info = {
        "selected": best,
        "selected_on": "AUC on validation teachers",
        "validation": scores,
        "validation_teachers": int(len(val_ids)),
        "train_rows": int(len(y)),
        "positive_rate": round(float(y.mean()), 4),
    }
    return model, info


def train_ranker(
    *,
    content_dir: Path,
    cache_dir: Path,
    backend: str = "e5",
    teachers: int = 400,
    steps: int = 30,
    seed: int = 0,
    world: SimWorld | None = None,
) -> tuple[Ranker, dict[str, Any]]:
    """Simulate ``teachers`` x ``steps`` offers on the published catalog and fit the ranker.

    Args:
        content_dir: The ``content/`` folder (catalog and competencies).
        cache_dir: Embedding cache directory (catalog documents are embedded once).
        backend: Embedding backend for items and teachers ("e5", "use", "lexical", ...).
        teachers: Simulated training teachers (a fifth of them validate model choice).
        steps: Offers per teacher.
        seed: Seeds the simulator (items' quality, teachers), the log and the models.
        world: A world already built by :func:`build_world` (its simulator must be fresh:
            training teachers are the first ones it samples).

    Returns:
        The ranker and a report (timings, data sizes, validation metrics).
    """
    with EmbeddingCache(cache_dir) as cache:
        world = world or build_world(Path(content_dir), cache, backend, seed)
        ranker, report, _ = train_on_world(world, teachers=teachers, steps=steps, seed=seed)
    return ranker, report


def train_on_world(
    world: SimWorld, *, teachers: int, steps: int, seed: int
) -> tuple[Ranker, dict[str, Any], InteractionLog]:
    """:func:`train_ranker` on a built world; also returns the training log."""
    started = time.perf_counter()
    pool = world.sim.sample_teachers(teachers)
    log = generate_interactions(world.sim, pool, steps, seed=seed)
    simulated = time.perf_counter()
    X, y, groups = log_rows(world, log, pool, seed)
    featured = time.perf_counter()
    model, info = fit_ranker(X, y, groups, seed=seed)
    report = info | {
        "data": {"simulator": "yanxiu.lab.simulator (behavioural policy)",
                 "teachers": teachers, "steps": steps, "seed": seed, "backend": world.backend,
                 "items": len(world.items), "label": "completed",
                 "reveal_need": REVEAL_NEED},
        "seconds": {"simulate": round(simulated - started, 2),
                    "features": round(featured - simulated, 2),
                    "fit": round(time.perf_counter() - featured, 2)},
    }  # fmt: skip
    manifest = {
        "what": "yanxiu recommend ranker: P(completed | offered) from feature_matrix rows",
        "model": info["selected"],
        "feature_names": list(FEATURE_NAMES),
        "trained_on": report["data"],
        "seed": seed,
        "metrics": {"validation": info["validation"], "train_rows": info["train_rows"]},
        "versions": versions(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return Ranker(model, manifest), report, log
