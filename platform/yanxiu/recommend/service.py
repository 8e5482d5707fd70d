"""A teacher's precise training path (精准研训路径), from the database to ordered, explained steps.

1. **Retrieve** candidates with FAISS: near the teacher vector, near each reviewed weakness,
   and within each category whose policy minimum is not yet met (ethics first); only
   published resources of the teacher's stage and subjects (or cross-subject), not done yet.
2. **Re-rank** them with the learned ranker (``models/ranker``), which predicts how likely
   this teacher is to complete each one from observable features.
3. **Select under constraints**: give each reviewed weakness a resource, then close the ethics
   gap (a gate) and, for new teachers, the induction gap in full, then the other category
   minimums round-robin, then fill toward this year's hours;
   skip near-duplicates of what is already chosen; keep some offline or hybrid training in a
   long path. Gaps the catalog cannot close for this teacher are reported as ``unmet``.
4. **Order** with :func:`plan_path` over the prerequisite graph (completed items count as
   mastered), which also inserts missing prerequisites.

Every step carries its reasons in Chinese. Nothing is stored: the path is recomputed from the
current ledger, enrolments and reviewed diagnoses, so it is re-planned whenever any changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, TeacherProfile, User
from yanxiu.accounts.scope import OUT_OF_SCOPE, Scope
from yanxiu.catalog.models import Course, Enrolment, EnrolmentStatus
from yanxiu.catalog.schema import ETHICS_CATEGORY
from yanxiu.catalog.service import competency_texts
from yanxiu.credits.compliance import TeacherCompliance, compute_compliance
from yanxiu.credits.ledger import ledger_entries
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import NotAllowed, NotFound, Unavailable
from yanxiu.recommend.features import (
    ItemInfo,
    ItemStats,
    TeacherContext,
    feature_matrix,
    format_history,
)
from yanxiu.recommend.plan import plan_path
from yanxiu.recommend.profiles import TeacherVectors, load_teacher_signals
from yanxiu.search.embed_cache import EmbeddingCache
from yanxiu.search.hybrid import CatalogDoc, CatalogSearch

INDUCTION_CATEGORY = "新教师入职"
NEAR_DUPLICATE = 0.93  # cosine between two chosen items above which the second is skipped
MAX_STEPS = 20  # enough to close a year's gaps; the UI shows the first steps prominently
TEACHER_CANDIDATES, WEAKNESS_CANDIDATES, GAP_CANDIDATES = 150, 40, 40


class Scorer(Protocol):
    def score(self, features: np.ndarray) -> np.ndarray: ...


@dataclass
class Step:
    code: str
    title: str
    category: str
    hours: float
    format: str
    score: float
    reasons: list[str] = field(default_factory=list)
    prerequisite_for: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class TrainingPath:
    teacher_id: int
    generated_on: date
    steps: list[Step]
    in_progress: list[str]
    total_hours: float
    gaps: dict[str, float]  # what the path set out to close: ethics, categories, this year
    cold_start: str  # "", "induction" or "profile"
    ranker: str
    # gaps this path cannot close with resources that fit the teacher (said, not hidden)
    unmet: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "teacher_id": self.teacher_id, "generated_on": self.generated_on.isoformat(),
            "steps": [s.as_dict() for s in self.steps], "in_progress": self.in_progress,
            "total_hours": self.total_hours, "gaps": self.gaps, "cold_start": self.cold_start,
            "ranker": self.ranker, "unmet": self.unmet,
        }  # fmt: skip


def _item(doc: CatalogDoc) -> ItemInfo:
    return ItemInfo(
        doc.code,
        doc.stages,
        doc.subjects,
        doc.format,
        doc.hours,
        doc.competencies,
        doc.prerequisites,
        doc.category,
    )


class PathRecommender:
    """Plans paths for teachers over one catalog (build once per process, reuse per request).

    Args:
        search: The catalog search service (index, documents and their vectors).
        cache: Embedding cache for profile and weakness texts.
        competencies: Competency id -> "name：description".
        ranker: The learned re-ranker; None falls back to teacher similarity plus need
            (a documented fallback for a deployment that has not trained one).
        item_stats: Enrolment and completion counts per catalog document (same order).
    """

    def __init__(
        self,
        search: CatalogSearch,
        *,
        cache: EmbeddingCache,
        competencies: dict[str, str],
        ranker: Scorer | None,
        item_stats: ItemStats | None = None,
        ranker_name: str = "",
    ) -> None:
        if search.doc_vectors is None:
            raise ValueError("the search service was built without document vectors")
        self.search, self.ranker, self.ranker_name = (
            search,
            ranker,
            ranker_name or ("learned" if ranker else "similarity"),
        )
        self.vectors = TeacherVectors(
            search.embedder, cache, {d.id: d.text for d in search.docs}, competencies
        )
        self.competencies = competencies
        self.stats = item_stats or ItemStats.empty(len(search.docs))
        self.graph = {d.code: list(d.prerequisites) for d in search.docs}
        self.by_code = {d.code: d for d in search.docs}

    # -- retrieval ---------------------------------------------------------------------------
    def _retrieve(self, vec: np.ndarray, k: int, filters: dict[str, Any]) -> list[int]:
        ids, _ = self.search.index.search(vec, k, filters=filters)
        return [int(i) for i in ids[0] if i >= 0]

    def recommend(
        self,
        session: Session,
        *,
        teacher_id: int,
        policy: CreditPolicy,
        today: date,
        max_steps: int = MAX_STEPS,
    ) -> TrainingPath:
        profile = session.get(TeacherProfile, teacher_id)
        if profile is None:
            raise ValueError(f"user {teacher_id} has no teacher profile")
        signals = load_teacher_signals(session, teacher_id)
        report = compute_compliance(
            ledger_entries(session, [teacher_id]), policy=policy, teacher_id=teacher_id,
            cycle_start=profile.cycle_start, today=today, tier=profile.tier,
        )  # fmt: skip
        enrolments = session.execute(
            select(Course.code, Enrolment.status)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Enrolment.teacher_id == teacher_id)
        ).all()
        completed = {code for code, status in enrolments if status == EnrolmentStatus.COMPLETED}
        in_progress = sorted(
            code for code, status in enrolments if status == EnrolmentStatus.ENROLLED
        )
        return self.plan(
            signals=signals, report=report, completed=completed, in_progress=in_progress,
            today=today, policy=policy, max_steps=max_steps,
        )  # fmt: skip

    def plan(
        self, *, signals: Any, report: TeacherCompliance, completed: set[str], in_progress: Sequence[str],
        today: date, policy: CreditPolicy, max_steps: int = MAX_STEPS,
    ) -> TrainingPath:  # fmt: skip
        """Plan from already-loaded inputs (used by :meth:`recommend` and by benchmarks)."""
        teacher_vec = self.vectors.vector(signals, today=today)
        weak_ids = [w.competency for w in signals.weaknesses if w.competency in self.competencies]
        weak_vecs = (
            self.vectors.cache.get_or_embed(self.search.embedder, [self.competencies[c] for c in weak_ids], kind="query")
            if weak_ids else np.zeros((0, len(teacher_vec)), np.float32)
        )  # fmt: skip
        base = {
            "status": ["published"],
            "stage": [signals.stage],
            "subject": [*signals.subjects, "通用"],
        }
        gaps = self._gaps(report, policy)
        cold = (
            "induction"
            if gaps.get(INDUCTION_CATEGORY)
            else ("profile" if not completed and not weak_ids else "")
        )

        pool: dict[int, set[str]] = {}  # doc id -> why it was retrieved
        for doc_id in self._retrieve(teacher_vec, TEACHER_CANDIDATES, base):
            pool.setdefault(doc_id, set())
        for cid, vec in zip(weak_ids, weak_vecs, strict=True):
            for doc_id in self._retrieve(vec, WEAKNESS_CANDIDATES, base):
                pool.setdefault(doc_id, set()).add(f"weak:{cid}")
        for category in gaps:
            if category in ("yearly", "total"):
                continue
            for doc_id in self._retrieve(
                teacher_vec, GAP_CANDIDATES, base | {"category": [category]}
            ):
                pool.setdefault(doc_id, set()).add(f"gap:{category}")
        skip = completed | set(in_progress)
        candidates = [
            d for d in (self.search.by_id[i] for i in pool)
            if d.code not in skip
            and (not d.levels or signals.tier in d.levels)  # e.g. courses for 骨干教师 only
            and (not d.posts or set(d.posts) & set(signals.posts))  # e.g. for 班主任 only
        ]  # fmt: skip
        if not candidates:
            return TrainingPath(
                signals.teacher_id, today, [], list(in_progress), 0.0, gaps, cold, self.ranker_name
            )

        positions = [self.search.position[d.id] for d in candidates]
        vectors = self.search.doc_vectors[positions]  # type: ignore[index]
        done_formats = [self.by_code[c].format for c in completed if c in self.by_code]
        ctx = TeacherContext(
            teacher_vec, weak_vecs, frozenset(weak_ids), signals.stage, tuple(signals.subjects),
            frozenset(completed), format_history(done_formats),
        )  # fmt: skip
        stats = ItemStats(self.stats.enrolments[positions], self.stats.completions[positions])
        features = feature_matrix(ctx, [_item(d) for d in candidates], vectors, stats)
        scores = (
            self.ranker.score(features)
            if self.ranker is not None
            else features[:, 0] + features[:, 1]
        )
        chosen = self._select(candidates, vectors, scores, pool, gaps, weak_ids, max_steps)
        return self._order(
            signals.teacher_id, today, chosen, completed, in_progress, gaps, cold, max_steps
        )

    # -- constraints -------------------------------------------------------------------------
    @staticmethod
    def _gaps(report: TeacherCompliance, policy: CreditPolicy) -> dict[str, float]:
        gaps: dict[str, float] = {}
        if report.is_induction and report.induction_hours < report.induction_required:
            gaps[INDUCTION_CATEGORY] = round(report.induction_required - report.induction_hours, 1)
        if not report.ethics_ok:
            gaps[ETHICS_CATEGORY] = round(report.ethics_required - report.ethics_hours, 1)
        for category, gap in report.category_gaps.items():
            if gap > 0 and category != ETHICS_CATEGORY:
                gaps[category] = gap
        year = report.current_year
        if year and not year.met:
            gaps["yearly"] = year.short_by
        if report.hour_gap:
            gaps["total"] = report.hour_gap
        return gaps

    def _select(
        self, docs: list[CatalogDoc], vectors: np.ndarray, scores: np.ndarray, pool: dict[int, set[str]],
        gaps: dict[str, float], weak_ids: list[str], max_steps: int,
    ) -> list[tuple[CatalogDoc, float, list[str]]]:  # fmt: skip
        order = np.argsort(-scores, kind="stable")
        chosen: list[tuple[CatalogDoc, float, list[str]]] = []
        chosen_vecs: list[np.ndarray] = []
        remaining = dict(gaps)

        def take(i: int, reason: str) -> bool:
            doc = docs[i]
            if any(d.code == doc.code for d, _, _ in chosen) or len(chosen) >= max_steps:
                return False
            if any(float(vectors[i] @ v) > NEAR_DUPLICATE for v in chosen_vecs):
                return False  # a near-duplicate of a chosen resource teaches nothing new
            chosen.append((doc, float(scores[i]), [reason]))
            chosen_vecs.append(vectors[i])
            for key in (doc.category, "yearly", "total"):
                if key in remaining:
                    remaining[key] = max(0.0, remaining[key] - doc.hours)
            return True

        # 1. one resource per reviewed weakness (the point of a precise path): tagged with that competency if any was found
        for cid in weak_ids:
            name = self.competencies[cid].split("：")[0]
            found = [i for i in order if f"weak:{cid}" in pool[docs[i].id]]
            tagged = [i for i in found if cid in docs[i].competencies]
            for i in tagged + found:
                if take(i, f"针对诊断薄弱项「{name}」（经培训者审核）"):
                    break
        # 2. categories the policy requires. Ethics (a gate for the whole cycle) and, for new
        #    teachers, induction are closed first and fully; the other category minimums then
        #    share the remaining steps round-robin so one large gap does not crowd out the rest.
        gates = [c for c in (INDUCTION_CATEGORY, ETHICS_CATEGORY) if c in gaps]
        others = [
            c for c in gaps if c not in (INDUCTION_CATEGORY, ETHICS_CATEGORY, "yearly", "total")
        ]
        queues = {c: [i for i in order if docs[i].category == c] for c in gates + others}

        def reason(category: str) -> str:
            return f"补足「{category}」学时缺口（本周期还差 {gaps[category]:g} 学时）"

        for category in gates:
            while remaining.get(category, 0) > 0 and queues[category] and len(chosen) < max_steps:
                take(queues[category].pop(0), reason(category))
        while len(chosen) < max_steps and any(
            remaining.get(c, 0) > 0 and queues[c] for c in others
        ):
            for category in others:
                while remaining.get(category, 0) > 0 and queues[category]:
                    if take(queues[category].pop(0), reason(category)):
                        break
        # 3. fill toward this year's hours (or a sensible length when no gap is open)
        target_hours = max(remaining.get("yearly", 0.0), 0.0 if gaps else 24.0)
        have = sum(d.hours for d, _, _ in chosen)
        for i in order:
            if have >= target_hours and len(chosen) >= 3:
                break
            if take(i, "与您的学段、学科和研修记录相匹配"):
                have += docs[i].hours
        # 4. a long path keeps some face-to-face training when the pool has any
        if have >= 20 and all(d.format == "online" for d, _, _ in chosen):
            for i in order:
                if docs[i].format != "online" and len(chosen) < max_steps + 1:
                    chosen.append(
                        (docs[i], float(scores[i]), ["线上线下结合：安排一次面授或混合式研修"])
                    )
                    break
        # reasons common to all steps: what each one also contributes
        for _doc, _, reasons in chosen:
            if "yearly" in gaps and not any("年度" in r for r in reasons):
                reasons.append(
                    f"计入本学年学时（本学年还差 {gaps['yearly']:g} 学时达到年度最低要求）"
                )
        return chosen

    def _order(
        self, teacher_id: int, today: date, chosen: list[tuple[CatalogDoc, float, list[str]]], completed: set[str],
        in_progress: Sequence[str], gaps: dict[str, float], cold: str, max_steps: int,
    ) -> TrainingPath:  # fmt: skip
        """Chosen items in priority order, each preceded by its missing prerequisites.

        ``plan_path`` is called once per chosen item with everything already planned counted
        as mastered, so the priority of the selection (required categories first) survives
        and every prerequisite still comes before the item that needs it.
        """
        # in-progress items are already on the teacher's desk: never re-planned as prerequisites
        mastery = {code: 1.0 for code in (*completed, *in_progress)}
        steps: list[Step] = []
        for doc, score, reasons in chosen:
            if mastery.get(doc.code):
                continue  # already inserted as another item's prerequisite
            for ps in plan_path(self.graph, mastery, [doc.code], budget=max_steps):
                mastery[ps.item] = 1.0
                if ps.item == doc.code:
                    steps.append(
                        Step(
                            doc.code,
                            doc.title,
                            doc.category,
                            doc.hours,
                            doc.format,
                            round(score, 4),
                            reasons,
                        )
                    )
                else:
                    pre = self.by_code[ps.item]
                    why = [f"先修内容：学习「{doc.title}」前需要先完成"]
                    steps.append(
                        Step(
                            pre.code,
                            pre.title,
                            pre.category,
                            pre.hours,
                            pre.format,
                            0.0,
                            why,
                            [doc.code],
                        )
                    )
        remaining = dict(gaps)
        for st in steps:
            for key in (st.category, "yearly", "total"):
                if key in remaining:
                    remaining[key] = max(0.0, remaining[key] - st.hours)
        unmet = {k: round(v, 1) for k, v in remaining.items() if v > 0 and k != "total"}
        total = round(sum(s.hours for s in steps), 1)
        return TrainingPath(
            teacher_id, today, steps, list(in_progress), total, gaps, cold, self.ranker_name, unmet
        )


def item_stats(session: Session, docs: Sequence[CatalogDoc]) -> ItemStats:
    """Enrolment and completion counts per document, from the enrolments table."""
    from sqlalchemy import func

    counts = {
        (cid, status): n
        for cid, status, n in session.execute(
            select(Enrolment.course_id, Enrolment.status, func.count()).group_by(
                Enrolment.course_id, Enrolment.status
            )
        )
    }
    enrol = np.array(
        [sum(counts.get((d.id, s), 0) for s in EnrolmentStatus) for d in docs], dtype=np.float64
    )
    done = np.array(
        [counts.get((d.id, EnrolmentStatus.COMPLETED), 0) for d in docs], dtype=np.float64
    )
    return ItemStats(enrol, done)


def build_recommender(
    session: Session,
    search: CatalogSearch,
    *,
    cache: EmbeddingCache,
    ranker: Scorer | None,
    ranker_name: str = "",
) -> PathRecommender:
    return PathRecommender(
        search, cache=cache, competencies=competency_texts(session), ranker=ranker,
        item_stats=item_stats(session, search.docs), ranker_name=ranker_name,
    )  # fmt: skip


def load_ranker(models_dir: Path, backend: str | None = None) -> tuple[Scorer | None, str]:
    """The trained re-ranker in ``models/ranker`` if it fits this deployment, and a label.

    Its similarity features only mean what they meant in training with the same embedding
    backend, so a ranker trained for another backend is not used (the label says so).
    """
    path = models_dir / "ranker"
    if not (path / "manifest.json").exists():
        return None, "similarity (no trained ranker in models/ranker: run `yanxiu train ranker`)"
    from yanxiu.recommend.ranker import Ranker

    ranker = Ranker.load(path)
    trained_for = ranker.manifest.get("trained_on", {}).get("backend")
    if backend and trained_for and trained_for != backend:
        return (
            None,
            f"similarity (models/ranker was trained for {trained_for}, not {backend}: run `yanxiu train ranker`)",
        )
    auc = ranker.manifest.get("metrics", {}).get("validation", {})
    return (
        ranker,
        f"learned ranker ({ranker.manifest.get('model', '')}, {trained_for}; validation {auc and max(v['auc'] for v in auc.values())} AUC)",
    )


def resolve_teacher(session: Session, teacher: str) -> int:
    """A teacher's user id from an id or a username."""
    user = session.get(User, int(teacher)) if teacher.isdigit() else None
    if user is None:
        user = session.scalar(select(User).where(User.username == teacher))
    if user is None or session.get(TeacherProfile, user.id) is None:
        raise ValueError(f"no teacher {teacher!r} (give a user id or username of a teacher)")
    return user.id


def path_for(
    session: Session,
    planner: PathRecommender | None,
    *,
    scope: Scope,
    teacher: str,
    policy: CreditPolicy,
    today: date,
    unavailable: str = "",
) -> TrainingPath:
    """The training path of ``teacher`` (id or username) for a user whose ``scope`` covers them.

    A teacher asking about anyone else is refused without learning whether they exist.

    Raises:
        NotAllowed, NotFound, Unavailable (no recommender on this server).
    """
    if planner is None:
        raise Unavailable(f"研修路径推荐暂不可用：{unavailable or '服务尚未就绪'}")
    try:
        teacher_id = resolve_teacher(session, teacher)
    except ValueError as exc:
        if scope.role == Role.TEACHER:
            raise NotAllowed(OUT_OF_SCOPE) from exc
        raise NotFound(f"没有教师“{teacher}”（请提供教师的用户 id 或用户名）") from exc
    scope.require(session, session.get(User, teacher_id))
    return planner.recommend(session, teacher_id=teacher_id, policy=policy, today=today)


def gap_closure(
    session: Session,
    planner: PathRecommender,
    *,
    policy: CreditPolicy,
    today: date,
    limit: int | None = None,
) -> dict[str, Any]:
    """Over the database's teachers: how often a path closes the gaps it set out to close.

    For each teacher with an open ethics, yearly or induction gap, the path "closes" it when
    that gap is not left in ``unmet``. Also the share of paths that violate a prerequisite
    (must be 0) and the share of the catalog that appears in any path (coverage).
    """
    ids = list(session.scalars(select(TeacherProfile.user_id).order_by(TeacherProfile.user_id)))[
        :limit
    ]
    counts = {"ethics": [0, 0], "yearly": [0, 0], "新教师入职": [0, 0]}
    violations, covered = 0, set()
    for teacher_id in ids:
        path = planner.recommend(session, teacher_id=teacher_id, policy=policy, today=today)
        done = {code for code, in session.execute(
            select(Course.code).join(Enrolment, Enrolment.course_id == Course.id)
            .where(Enrolment.teacher_id == teacher_id, Enrolment.status.in_([EnrolmentStatus.COMPLETED, EnrolmentStatus.ENROLLED]))
        )}  # fmt: skip
        for step in path.steps:
            if any(p not in done for p in planner.graph[step.code]):
                violations += 1
            done.add(step.code)
            covered.add(step.code)
        for key, gap_key in (
            ("ethics", ETHICS_CATEGORY),
            ("yearly", "yearly"),
            ("新教师入职", INDUCTION_CATEGORY),
        ):
            if gap_key in path.gaps:
                counts[key][1] += 1
                counts[key][0] += gap_key not in path.unmet
    published = sum(d.status == "published" for d in planner.search.docs)
    return {
        "teachers": len(ids),
        "closes": {
            k: {"closed": c, "with_gap": n, "share": round(c / n, 4) if n else None}
            for k, (c, n) in counts.items()
        },
        "prerequisite_violations": violations,
        "catalog_coverage": round(len(covered) / published, 4) if published else 0.0,
    }
