"""A seeded learner simulator and interaction-log generator for evaluating recommendations.

Generative story (all randomness comes from numpy ``Generator`` s seeded by the caller, so the
same seed gives the same teachers, outcomes and logs; nothing touches a database):

1. **Items** are the published catalog resources; each teaches its competencies and lists
   prerequisite items. An item is *mastered* by a teacher when the mean mastery of its
   competencies is at least ``MASTERED_AT`` (0.6). Each item has a hidden quality ~ Beta(4, 2).
2. **Teachers** get a stage, a subject (demo roster weights) and a tier; mastery of every
   competency is drawn from a tier-dependent Beta, then 2-4 competencies are made weak (scaled
   by 0.15-0.5). ``needs`` are competencies below ``NEED_BELOW`` (0.5). Each teacher prefers
   online or offline training and has a monthly time budget (Gamma, mean about 10 h).
3. **Fit** (in [0, 1]) = 0.25 stage match + 0.2 subject match (通用 matches all) + 0.4 need
   (half the share of the item's competencies that are needs, half the mean mastery deficit)
   + 0.15 format match (hybrid counts half).
4. **Taking an item**: a browsing teacher enrols with probability 0.2 + 0.75 fit (one following
   a plan always enrols), then completes with probability 0.9 times a factor per mismatch:
   wrong stage x0.35, wrong subject x0.6, content already mastered (down to x0.4), unmastered
   prerequisites (down to x0.45), hours above the budget x sqrt(budget / hours), format not
   preferred x0.85, quality x(0.8-1.0); otherwise the teacher drops out and learns nothing.
   Completing raises the mastery ``m`` of each of the item's competencies by ``rate * (1 - m)``
   (diminishing near 1, never above it), where ``rate`` is 0.3 scaled by the item's length, its
   stage relevance and ``0.4 + 0.6 * share of its prerequisites mastered``, times U(0.8, 1.2).
   A completed item is rated 1-5 from fit, quality, gain and noise.
5. **Behavioural logs**: at each step every teacher looks at one item not seen before, chosen
   70 % by fit (softmax, temperature 0.08), 20 % by popularity (quality x (1 + enrolments so
   far)) and 10 % at random, and ``take`` decides the outcome. Each record's ``features`` hold
   ``OBSERVED`` features and ``LATENT`` ones; a ranker for the platform should learn from the
   observed ones (plus diagnosed weaknesses), the latent ones are there for analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, replace
from typing import Any, NamedTuple

import numpy as np
from numpy.random import Generator
from scipy import sparse

from yanxiu.seed.demo import SUBJECT_WEIGHTS, TIER_WEIGHTS

MASTERED_AT = 0.6
NEED_BELOW = 0.5
STAGE_WEIGHTS = {"幼儿园": 0.1, "小学": 0.4, "初中": 0.3, "高中": 0.2}  # the catalog's STAGES
TIER_BETA = {"新任教师": (2.0, 5.0), "合格教师": (3.0, 4.0), "骨干教师": (4.0, 3.0),  # mastery ~ Beta
             "学科带头人": (5.0, 2.5), "名师": (6.0, 2.0)}  # fmt: skip
POLICIES = ("behavioural", "fit", "popularity", "random")
SOURCES, BEHAVIOUR_MIX = ("fit", "popularity", "random"), (0.7, 0.2, 0.1)
OBSERVED = ("stage_match", "subject_match", "format_match", "hours", "hours_ratio")
LATENT = ("fit", "need", "item_mastery", "prereqs_mastered")  # hidden on a real platform


@dataclass(frozen=True)
class SimItem:
    """One published catalog item as the simulator sees it."""

    id: str
    competencies: tuple[str, ...]
    prerequisites: tuple[str, ...]
    hours: float
    format: str
    category: str
    stages: tuple[str, ...]
    subjects: tuple[str, ...]


def items_from_resources(resources: Iterable[Any]) -> list[SimItem]:
    """Build :class:`SimItem` s from ``ResourceIn`` objects or dicts of the content schema.

    Only published resources are kept, and prerequisites are restricted to those kept (a
    retired or draft prerequisite cannot be taken, so it does not hold a teacher back).
    """

    def get(r: Any, key: str) -> Any:
        return r[key] if isinstance(r, Mapping) else getattr(r, key)

    kept = [r for r in resources if get(r, "status") == "published"]
    ids = {str(get(r, "id")) for r in kept}
    out = []
    for r in kept:
        pre = tuple(p for p in get(r, "prerequisites") if p in ids)
        comps, hours, fmt = tuple(get(r, "competencies")), float(get(r, "hours")), get(r, "format")
        where = tuple(get(r, "stages")), tuple(get(r, "subjects"))
        out.append(SimItem(str(get(r, "id")), comps, pre, hours, fmt, get(r, "category"), *where))
    return out


@dataclass
class SimTeacher:
    """A simulated teacher; ``mastery`` is latent and changes as items are completed."""

    id: int
    stage: str
    subject: str
    tier: str
    mastery: dict[str, float]
    format_preference: str  # "online" or "offline"
    hours_per_month: float

    @property
    def needs(self) -> frozenset[str]:
        """Competencies whose mastery is below ``NEED_BELOW``."""
        return frozenset(c for c, m in self.mastery.items() if m < NEED_BELOW)

    def copy(self) -> SimTeacher:
        """An independent copy (mastery included)."""
        return replace(self, mastery=dict(self.mastery))


@dataclass(frozen=True)
class Outcome:
    """What happened when a teacher was offered an item."""

    enrolled: bool
    completed: bool
    dropped: bool
    rating: int | None
    gain: float  # total mastery gained over the item's competencies


class LearnerSimulator:
    """Teachers with latent mastery taking catalog items (see the module docstring).

    Args:
        items: the items (see :func:`items_from_resources`), each with a competency.
        competency_ids: all competency ids; ids used by items but missing here are added.
        seed: seeds teacher sampling and the hidden item qualities.
    """

    def __init__(self, items: Sequence[SimItem], competency_ids: Iterable[str], seed: int = 0):
        self.items = list(items)
        self.seed = seed
        self.index = {it.id: i for i, it in enumerate(self.items)}
        comps = list(dict.fromkeys(competency_ids))
        comps += sorted({c for it in self.items for c in it.competencies} - set(comps))
        self.competency_ids = tuple(comps)
        col = {c: j for j, c in enumerate(comps)}
        n, k = len(self.items), len(comps)
        self._cols = [np.array(sorted({col[c] for c in it.competencies})) for it in self.items]
        lens = np.array([len(c) for c in self._cols], dtype=int)
        vals, cols = np.repeat(1.0 / lens, lens), np.concatenate([np.zeros(0, int), *self._cols])
        # row i of _comp averages item i's competencies; row i of _pre marks its prerequisites
        self._comp = sparse.csr_matrix((vals, cols, np.r_[0, lens.cumsum()]), shape=(n, k))
        self._pres = [[self.index[p] for p in it.prerequisites] for it in self.items]
        prow = [i for i, pres in enumerate(self._pres) for _ in pres]
        pcol = [p for pres in self._pres for p in pres]
        self._n_pre = np.bincount(prow, minlength=n).astype(float)
        self._pre = sparse.csr_matrix((np.ones(len(prow)), (prow, pcol)), shape=(n, n))
        self.hours = np.array([it.hours for it in self.items], dtype=float)
        self.formats = np.array([it.format for it in self.items])
        self._rng = np.random.default_rng(seed)
        self.quality = self._rng.beta(4.0, 2.0, size=n)
        self._next_id = 1
        self._match: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def sample_teachers(self, n: int) -> list[SimTeacher]:
        """Draw ``n`` new teachers (ids continue across calls; same seed, same teachers)."""
        rng, out = self._rng, []
        tier_w = np.array([w for _, w in TIER_WEIGHTS], dtype=float)
        stages, stage_w = zip(*STAGE_WEIGHTS.items(), strict=True)
        for _ in range(n):
            stage = stages[rng.choice(len(stages), p=np.array(stage_w) / sum(stage_w))]
            subjects, sw = zip(*SUBJECT_WEIGHTS[stage].items(), strict=True)
            subject = subjects[rng.choice(len(subjects), p=np.array(sw) / sum(sw))]
            tier = TIER_WEIGHTS[rng.choice(len(tier_w), p=tier_w / tier_w.sum())][0]
            m = rng.beta(*TIER_BETA.get(tier, (3.0, 3.0)), size=len(self.competency_ids))
            weak = rng.choice(len(m), size=min(len(m), int(rng.integers(2, 5))), replace=False)
            m[weak] *= rng.uniform(0.15, 0.5, size=len(weak))
            mastery = {c: float(v) for c, v in zip(self.competency_ids, m, strict=True)}
            pref = "online" if rng.random() < 0.6 else "offline"
            hours = float(np.clip(rng.gamma(3.0, 3.5), 2.0, 40.0))
            out.append(SimTeacher(self._next_id, stage, subject, tier, mastery, pref, hours))
            self._next_id += 1
        return out

    def _stage_subject(self, teacher: SimTeacher) -> tuple[np.ndarray, np.ndarray]:
        key = (teacher.stage, teacher.subject)
        if key not in self._match:
            stage = [teacher.stage in it.stages for it in self.items]
            subject = [teacher.subject in it.subjects or "通用" in it.subjects for it in self.items]
            self._match[key] = (np.array(stage, dtype=float), np.array(subject, dtype=float))
        return self._match[key]

    def features(self, teacher: SimTeacher, idx: int | None = None) -> dict[str, np.ndarray]:
        """Per-item feature arrays for ``teacher``: all items, or item number ``idx`` only."""
        m = np.array([teacher.mastery.get(c, 0.0) for c in self.competency_ids])
        if idx is None:
            rows: Any = slice(None)
            item_mastery = self._comp @ m
            weak = self._comp @ (m < NEED_BELOW)
            n_ok = self._pre @ (item_mastery >= MASTERED_AT)
        else:  # one item: read its competencies and prerequisites directly
            rows, mc = [idx], m[self._cols[idx]]
            item_mastery, weak = np.array([mc.mean()]), np.array([(mc < NEED_BELOW).mean()])
            n_ok = np.array([sum(m[self._cols[p]].mean() >= MASTERED_AT for p in self._pres[idx])])
        n_pre = self._n_pre[rows]
        pre_ok = np.divide(n_ok, n_pre, out=np.ones(len(n_pre)), where=n_pre > 0)
        stage, subject = self._stage_subject(teacher)
        formats, pref = self.formats[rows], teacher.format_preference
        return {
            "stage_match": stage[rows],
            "subject_match": subject[rows],
            "format_match": np.where(formats == pref, 1.0, 0.5 * (formats == "hybrid")),
            "hours_ratio": self.hours[rows] / teacher.hours_per_month,
            "need": 0.5 * weak + 0.5 * (1.0 - item_mastery),
            "item_mastery": item_mastery,
            "prereqs_mastered": pre_ok,
            "quality": self.quality[rows],
            "hours": self.hours[rows],
        }

    @staticmethod
    def fit_from(f: Mapping[str, np.ndarray]) -> np.ndarray:
        """Fit in [0, 1] from :meth:`features` (module docstring, 3)."""
        need, fmt = f["need"], f["format_match"]
        return 0.25 * f["stage_match"] + 0.2 * f["subject_match"] + 0.4 * need + 0.15 * fmt

    @staticmethod
    def completion_from(f: Mapping[str, np.ndarray]) -> np.ndarray:
        """Completion probability from :meth:`features` (module docstring, 4)."""
        p = 0.9 * np.where(f["stage_match"] > 0, 1.0, 0.35)
        p = p * np.where(f["subject_match"] > 0, 1.0, 0.6)
        p = p * (1.0 - 0.6 * np.clip((f["item_mastery"] - 0.5) / 0.5, 0.0, 1.0))
        p = p * (0.45 + 0.55 * f["prereqs_mastered"])
        p = p * np.sqrt(np.minimum(1.0, 1.0 / f["hours_ratio"]))
        p = p * np.where(f["format_match"] >= 1.0, 1.0, 0.85) * (0.8 + 0.2 * f["quality"])
        return np.clip(p, 0.01, 0.99)

    @staticmethod
    def rate_from(f: Mapping[str, np.ndarray]) -> np.ndarray:
        """Mean share of the gap to 1 closed per competency on completion (before noise)."""
        length = 0.6 + 0.4 * np.minimum(1.0, f["hours"] / 16.0)
        relevance = np.where(f["stage_match"] > 0, 1.0, 0.7)
        return 0.3 * length * relevance * (0.4 + 0.6 * f["prereqs_mastered"])

    def fit_all(self, teacher: SimTeacher) -> np.ndarray:
        """:meth:`fit` for every item at once."""
        return self.fit_from(self.features(teacher))

    def completion_all(self, teacher: SimTeacher) -> np.ndarray:
        """:meth:`completion_probability` for every item at once."""
        return self.completion_from(self.features(teacher))

    def fit(self, teacher: SimTeacher, item: SimItem | str) -> float:
        """How well ``item`` matches ``teacher``, in [0, 1]."""
        return float(self.fit_from(self.features(teacher, self._idx(item)))[0])

    def completion_probability(self, teacher: SimTeacher, item: SimItem | str) -> float:
        """Probability that ``teacher``, once enrolled, completes ``item``."""
        return float(self.completion_from(self.features(teacher, self._idx(item)))[0])

    def enrol_probability(self, teacher: SimTeacher, item: SimItem | str) -> float:
        """Probability that a browsing ``teacher`` enrols in ``item`` (0.2 + 0.75 fit)."""
        return 0.2 + 0.75 * self.fit(teacher, item)

    def _idx(self, item: SimItem | str) -> int:
        return self.index[item if isinstance(item, str) else item.id]

    def take(
        self, teacher: SimTeacher, item: SimItem | str, rng: Generator, *, assigned: bool = False
    ) -> Outcome:
        """Offer ``item`` to ``teacher``; on completion, raise the teacher's mastery in place.

        Args:
            teacher: updated in place when the item is completed.
            item: the item or its id.
            rng: the source of randomness (the caller's, for reproducibility).
            assigned: the teacher follows a plan and enrols for sure; otherwise the teacher
                is browsing and enrols with :meth:`enrol_probability`.
        """
        i = self._idx(item)
        f = self.features(teacher, i)
        fit = float(self.fit_from(f)[0])
        if not assigned and rng.random() >= 0.2 + 0.75 * fit:
            return Outcome(False, False, False, None, 0.0)
        if rng.random() >= float(self.completion_from(f)[0]):
            return Outcome(True, False, True, None, 0.0)
        rate = float(self.rate_from(f)[0]) * rng.uniform(0.8, 1.2)
        old = {c: teacher.mastery.get(c, 0.0) for c in self.items[i].competencies}
        teacher.mastery.update({c: min(1.0, m + rate * (1.0 - m)) for c, m in old.items()})
        gain = sum(teacher.mastery[c] - m for c, m in old.items())
        score = 0.5 * fit + 0.3 * self.quality[i] + 0.2 * min(1.0, gain / 0.3)
        rating = int(np.clip(round(1 + 4 * (score + rng.normal(0.0, 0.1))), 1, 5))
        return Outcome(True, True, False, rating, gain)


@dataclass(frozen=True)
class Interaction:
    """One logged offer: who saw which item when, its features and what happened."""

    teacher_id: int
    item_id: str
    t: int  # step index
    source: str  # how the item was chosen: fit, popularity or random
    category: str
    features: dict[str, float]  # OBSERVED + LATENT + popularity
    enrolled: bool
    completed: bool
    dropped: bool
    rating: int | None
    gain: float  # latent


class InteractionLog(NamedTuple):
    """What :func:`generate_interactions` returns."""

    records: list[Interaction]
    histories: dict[int, list[str]]  # teacher id -> enrolled item ids, in order
    before_last: dict[int, SimTeacher]  # teacher id -> state just before the last enrolment
    final: dict[int, SimTeacher]  # teacher id -> state after all steps


def generate_interactions(
    sim: LearnerSimulator,
    teachers: Sequence[SimTeacher],
    steps_per_teacher: int,
    policy: str = "behavioural",
    *,
    seed: int = 0,
) -> InteractionLog:
    """Simulate ``steps_per_teacher`` offers per teacher and log them (module docstring, 5).

    Steps are interleaved (step ``t`` for every teacher, then ``t + 1``) so popularity grows
    over time. The teachers passed in are not changed: copies are simulated, and returned as
    they were just before their last enrolment (to hold it out) and at the end.

    Args:
        sim: the simulator.
        teachers: the teachers to simulate.
        steps_per_teacher: offers per teacher (fewer when a teacher runs out of items).
        policy: ``behavioural`` (the 70/20/10 mix), or only ``fit``, ``popularity`` or
            ``random`` choices.
        seed: seeds this log, together with the simulator's seed.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    rng = np.random.default_rng([sim.seed, seed])
    state = {t.id: t.copy() for t in teachers}
    seen = {t.id: np.zeros(len(sim.items), dtype=bool) for t in teachers}
    log = InteractionLog([], {t.id: [] for t in teachers}, {}, {})
    enrolments = np.zeros(len(sim.items))
    mix = BEHAVIOUR_MIX if policy == "behavioural" else [float(policy == s) for s in SOURCES]
    for t in range(steps_per_teacher):
        for teacher in state.values():
            open_ = ~seen[teacher.id]
            if not open_.any():
                continue
            f = sim.features(teacher)
            fit = f["fit"] = sim.fit_from(f)
            source = SOURCES[rng.choice(3, p=mix)]
            if source == "fit":
                score = fit / 0.08 + rng.gumbel(size=len(fit))
            elif source == "popularity":
                score = np.log(sim.quality * (1.0 + enrolments)) + rng.gumbel(size=len(fit))
            else:
                score = rng.random(len(fit))
            i = int(np.argmax(np.where(open_, score, -np.inf)))
            seen[teacher.id][i] = True
            before = teacher.copy()
            item, feats = sim.items[i], {k: float(f[k][i]) for k in OBSERVED + LATENT}
            feats["popularity"] = float(enrolments[i])  # enrolments before this offer
            out = sim.take(teacher, item, rng)
            head = (teacher.id, item.id, t, source, item.category, feats)
            log.records.append(Interaction(*head, *astuple(out)))
            if out.enrolled:
                enrolments[i] += 1
                log.histories[teacher.id].append(sim.items[i].id)
                log.before_last[teacher.id] = before
    log.final.update({k: v.copy() for k, v in state.items()})
    return log


def mastery_gain_after(
    sim: LearnerSimulator,
    teacher: SimTeacher,
    plan_items: Sequence[SimItem | str],
    k: int,
    *,
    runs: int = 16,
    seed: int = 0,
) -> float:
    """Expected total mastery gain after following the first ``k`` items of a plan.

    The expectation is the mean over ``runs`` simulations on copies of ``teacher`` (who is not
    changed), each enrolling in the items in order (``assigned=True``) and completing or
    dropping as :meth:`LearnerSimulator.take` decides. Run ``r`` is seeded from
    ``(sim.seed, seed, teacher.id, r)`` only, so two plans for the same teacher are compared
    with common random numbers, and the result is deterministic.

    Raises:
        KeyError: when a plan item is not one of the simulator's items.
    """
    steps = [sim.items[sim._idx(item)] for item in list(plan_items)[: max(0, k)]]
    total = 0.0
    for r in range(runs):
        rng, learner = np.random.default_rng([sim.seed, seed, teacher.id, r]), teacher.copy()
        total += sum(sim.take(learner, item, rng, assigned=True).gain for item in steps)
    return total / runs if runs else 0.0
