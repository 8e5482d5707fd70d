"""Precise pushes (精准推送): who needs a case most, sending it, and what happened next.

Ranking the audience by need
----------------------------
A teacher's need for a case is read from their *reviewed* weaknesses (diagnoses a trainer
accepted or edited; AI drafts never count) and their profile, compared with the case in the
embedding space of the platform's embedder (e5 in production, the lexical backend in tests):

1. The case is embedded as a document: title, summary and the names and descriptions of the
   competencies (能力点) it addresses.
2. Every competency text is embedded as a query, and its relevance to the case is its cosine
   to the case rescaled against all competencies, so that the rescaled value means the same
   for every backend (e5's cosines are compressed, lexical ones sparse)::

       rel(k) = clip((cos(k, case) - mean_k cos) / (max_k cos - mean_k cos), 0, 1)

   The best-matching competency scores 1 and any competency no closer than average scores 0.
3. A teacher's weakness need combines their reviewed weaknesses (severity ``s`` in 0..1)
   like independent chances, so one strong match counts most and more matches add less::

       need = 1 - prod_i (1 - s_i * rel(k_i))          (0 when there is no reviewed weakness)

4. Profile fit: the cosine of the teacher's profile text (stage, subjects, tier, posts) to
   the case, min-max scaled over the candidates to 0..1.
5. Priority for rural and weak schools (乡村/薄弱校优先), additive and bounded::

       boost = min(BOOST_CAP, RURAL_BOOST * rural + WEAK_BOOST * weak_school)
       score = NEED_WEIGHT * need + FIT_WEIGHT * fit + boost

   With the defaults (0.85, 0.15, rural 0.10, weak 0.08, cap 0.15) the boost reorders
   teachers of similar need, but a teacher with no matching weakness (score at most
   0.15 + 0.15 = 0.30) never passes one whose weakness of severity >= 0.4 is the case's
   best-matching competency (0.85 * 0.4 = 0.34).

Candidates are teachers in the studio's members or in the host's region (the city above the
host's county, so a city studio reaches its rural counties), filtered by stage, subject,
county, school location and weak schools; teachers who already received this case are left
out. Functions take an :class:`~yanxiu.search.embed.Embedder` (and optionally an
:class:`~yanxiu.search.embed_cache.EmbeddingCache`), never the web app.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import (
    Region,
    RegionLevel,
    Role,
    School,
    SchoolLocation,
    TeacherProfile,
    User,
)
from yanxiu.accounts.scope import Scope
from yanxiu.audit.service import record_audit
from yanxiu.catalog.models import Competency
from yanxiu.db.locks import lock_row
from yanxiu.errors import Invalid
from yanxiu.notifications.models import NotificationKind
from yanxiu.notifications.service import notify
from yanxiu.search.embed import Embedder
from yanxiu.search.embed_cache import EmbeddingCache
from yanxiu.studios.models import CaseResource, Push, PushDelivery, Studio, StudioMember
from yanxiu.studios.service import LOCATION_LABELS

NEED_WEIGHT = 0.85
FIT_WEIGHT = 0.15
RURAL_BOOST = 0.10
WEAK_BOOST = 0.08
BOOST_CAP = 0.15
# A teacher of another subject (or stage) than the case's, when the host widens the filter
# to 不限: kept in the list but below every teacher who teaches it, unless a reviewed
# weakness makes the case clearly theirs (need ≥ 0.6 still outranks a fitting teacher with
# no weakness: 0.85 × 0.6 − 0.35 = 0.16 < 0.30, so in practice they come after).
SUBJECT_MISMATCH = 0.35
STAGE_MISMATCH = 0.2
DEFAULT_SIZE = 20
MAX_SIZE = 200
MAX_NOTE = 500
RECENT_DIAGNOSES = 5  # as yanxiu.recommend.profiles.reviewed_weaknesses
PRIORITY_LABEL = "乡村/薄弱校优先"

AudienceKind = Literal["region", "members"]


class PushError(Invalid):
    """A push that cannot be made as asked (message in Chinese; nothing was written)."""


# -- filters and results


@dataclass(frozen=True)
class AudienceFilters:
    """What the host narrows the audience to ("" / None / empty = no restriction)."""

    stage: str = ""
    subject: str = ""
    county_id: int | None = None
    locations: tuple[str, ...] = ()  # SchoolLocation values
    weak_only: bool = False
    scope: AudienceKind = "region"
    size: int = DEFAULT_SIZE

    @classmethod
    def for_case(cls, case: CaseResource, **overrides: Any) -> AudienceFilters:
        """Defaults for a case: its stage and subject ("通用" cases: any subject)."""
        base: dict[str, Any] = {
            "stage": case.stage,
            "subject": "" if case.subject == "通用" else case.subject,
        }
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)

    def clean(self) -> AudienceFilters:
        locations = tuple(sorted({x for x in self.locations if x in LOCATION_LABELS}))
        return AudienceFilters(
            stage=self.stage.strip(), subject=self.subject.strip(), county_id=self.county_id,
            locations=locations, weak_only=self.weak_only,
            scope="members" if self.scope == "members" else "region",
            size=max(1, min(MAX_SIZE, int(self.size))),
        )  # fmt: skip


@dataclass(frozen=True)
class WeaknessMatch:
    competency: str
    name: str  # competency name, e.g. 课堂提问设计
    dimension: str  # rubric dimension as the diagnosis named it, e.g. 提问质量
    severity: float
    relevance: float

    @property
    def contribution(self) -> float:
        return self.severity * self.relevance

    def as_dict(self) -> dict[str, Any]:
        return {"competency": self.competency, "name": self.name, "dimension": self.dimension,
                "severity": round(self.severity, 3), "relevance": round(self.relevance, 3)}  # fmt: skip


@dataclass
class Candidate:
    teacher_id: int
    username: str
    name: str
    school_id: int | None
    school: str
    county: str
    location: str
    is_weak: bool
    is_member: bool
    stage: str
    subjects: tuple[str, ...]
    tier: str
    need: float = 0.0
    fit: float = 0.0
    boost: float = 0.0
    score: float = 0.0
    matches: list[WeaknessMatch] = field(default_factory=list)  # best first, relevant only
    weaknesses: int = 0  # reviewed weaknesses on record
    case_stage: str = ""  # the case's stage and subject ("" / 通用: any)
    case_subject: str = ""

    @property
    def subject_mismatch(self) -> bool:
        return (
            bool(self.case_subject)
            and self.case_subject != "通用"
            and (self.case_subject not in self.subjects)
        )

    @property
    def stage_mismatch(self) -> bool:
        return bool(self.case_stage) and self.stage != self.case_stage

    @property
    def is_rural(self) -> bool:
        return self.location == SchoolLocation.RURAL.value

    @property
    def priority(self) -> bool:
        return self.boost > 0

    @property
    def location_label(self) -> str:
        return LOCATION_LABELS.get(self.location, "—")

    def reasons(self) -> list[str]:
        """Why this teacher is suggested, in Chinese, strongest reason first."""
        out = [
            f"复核诊断短板“{m.dimension or m.name}”与本案例对应（严重度 {m.severity:.2f}）"
            for m in self.matches[:2]
        ]
        if not out:
            if self.weaknesses:
                out.append("暂无与本案例对应的复核短板")
            elif self.subject_mismatch or self.stage_mismatch:
                out.append("暂无复核诊断")
            else:
                out.append("暂无复核诊断，按学段学科与教师画像匹配")
        if self.subject_mismatch:
            taught = "、".join(self.subjects) or "未填"
            out.append(f"任教学科（{taught}）与案例学科（{self.case_subject}）不同，排在后面")
        if self.stage_mismatch:
            out.append(f"任教学段（{self.stage}）与案例学段（{self.case_stage}）不同，排在后面")
        if self.priority:
            where = "、".join(
                x for x, on in (("乡村学校", self.is_rural), ("薄弱校", self.is_weak)) if on
            )
            out.append(f"{PRIORITY_LABEL}（{where}）")
        if self.is_member:
            out.append("本工作室成员")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "teacher_id": self.teacher_id, "username": self.username, "name": self.name,
            "school": self.school, "county": self.county, "location": self.location,
            "weak_school": self.is_weak, "member": self.is_member, "stage": self.stage,
            "subjects": list(self.subjects), "tier": self.tier, "need": round(self.need, 4),
            "fit": round(self.fit, 4), "boost": round(self.boost, 4), "score": round(self.score, 4),
            "matches": [m.as_dict() for m in self.matches], "reasons": self.reasons(),
        }  # fmt: skip


@dataclass(frozen=True)
class Reach:
    """Who a set of recipients reaches."""

    teachers: int
    rural: int
    weak: int
    priority: int  # rural or weak school
    members: int
    schools: int
    counties: int

    def share(self, n: int) -> float:
        return n / self.teachers if self.teachers else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "teachers": self.teachers, "rural": self.rural, "weak": self.weak,
            "priority": self.priority, "members": self.members, "schools": self.schools,
            "counties": self.counties, "rural_share": round(self.share(self.rural), 4),
            "weak_share": round(self.share(self.weak), 4),
            "priority_share": round(self.share(self.priority), 4),
        }  # fmt: skip


def reach_of(candidates: Iterable[Candidate]) -> Reach:
    items = list(candidates)
    return Reach(
        teachers=len(items),
        rural=sum(c.is_rural for c in items),
        weak=sum(c.is_weak for c in items),
        priority=sum(c.is_rural or c.is_weak for c in items),
        members=sum(c.is_member for c in items),
        schools=len({c.school_id for c in items if c.school_id is not None}),
        counties=len({c.county for c in items if c.county}),
    )


@dataclass
class AudiencePreview:
    case_id: int
    filters: AudienceFilters
    candidates: list[Candidate]  # the suggested top N, best first
    pool: int  # teachers who passed the filters
    already_received: int  # left out: this case was already pushed to them
    with_weaknesses: int  # candidates in the pool with any reviewed weakness
    embedder: str

    @property
    def reach(self) -> Reach:
        return reach_of(self.candidates)

    def as_dict(self) -> dict[str, Any]:
        f = self.filters
        return {
            "case_id": self.case_id,
            "filters": {"stage": f.stage, "subject": f.subject, "county_id": f.county_id,
                        "locations": list(f.locations), "weak_only": f.weak_only, "scope": f.scope,
                        "size": f.size},
            "pool": self.pool, "already_received": self.already_received,
            "with_weaknesses": self.with_weaknesses, "embedder": self.embedder,
            "reach": self.reach.as_dict(),
            "formula": FORMULA_TEXT,
            "candidates": [c.as_dict() for c in self.candidates],
        }  # fmt: skip


FORMULA_TEXT = (
    f"综合分 = {NEED_WEIGHT}×短板需求度 + {FIT_WEIGHT}×画像匹配度 + 优先加分；"
    "短板需求度 = 1 − ∏(1 − 严重度×与案例的相关度)，只计培训者复核过的诊断短板；"
    f"{PRIORITY_LABEL}：乡村学校 +{RURAL_BOOST}，薄弱校 +{WEAK_BOOST}，合计不超过 +{BOOST_CAP}。"
)


# -- who is in reach


def counties_in_reach(session: Session, host: User) -> list[tuple[int, str]]:
    """(id, name) of the counties the host can filter by."""
    reach = Scope.for_user(session, host).regions
    query = select(Region.id, Region.name).where(
        Region.level == RegionLevel.COUNTY, Region.id.in_(list(reach))
    )
    return [(int(i), str(n)) for i, n in session.execute(query.order_by(Region.code))]


def _teacher_rows(
    session: Session, studio: Studio, host: User, filters: AudienceFilters
) -> list[Candidate]:
    """Active teachers within scope that pass the filters (no ranking yet), in one query."""
    members = set(
        session.scalars(select(StudioMember.teacher_id).where(StudioMember.studio_id == studio.id))
    )
    query = (
        select(
            User.id, User.username, User.display_name, School.id, School.name, School.location,
            School.is_weak, Region.name, TeacherProfile.stage, TeacherProfile.subjects,
            TeacherProfile.tier,
        )
        .join(TeacherProfile, TeacherProfile.user_id == User.id)
        .join(School, School.id == User.school_id)
        .join(Region, Region.id == School.county_id)
        .where(User.role == Role.TEACHER, User.is_active.is_(True))
        .order_by(User.id)
    )  # fmt: skip
    if filters.scope == "members":
        if not members:
            return []
        query = query.where(User.id.in_(members))
    else:
        query = Scope.for_user(session, host).filter(query)
    if filters.stage:
        query = query.where(TeacherProfile.stage == filters.stage)
    if filters.county_id is not None:
        query = query.where(School.county_id == filters.county_id)
    if filters.locations:
        query = query.where(School.location.in_([SchoolLocation(x) for x in filters.locations]))
    if filters.weak_only:
        query = query.where(School.is_weak.is_(True))
    out = []
    for (
        uid,
        username,
        name,
        sid,
        school,
        location,
        weak,
        county,
        stage,
        subjects,
        tier,
    ) in session.execute(query):
        if filters.subject and filters.subject not in (subjects or []):
            continue  # a JSON list: filtered here, the same on SQLite and PostgreSQL
        out.append(
            Candidate(
                teacher_id=uid, username=username, name=name, school_id=sid, school=school,
                county=county, location=location.value, is_weak=bool(weak),
                is_member=uid in members, stage=stage, subjects=tuple(subjects or ()), tier=tier,
            )
        )  # fmt: skip
    return out


def eligible_teacher_ids(session: Session, studio: Studio, host: User) -> set[int]:
    """Teachers this host may push to at all: the studio's members and the region's teachers."""
    everyone = AudienceFilters(scope="region", size=MAX_SIZE)
    ids = {c.teacher_id for c in _teacher_rows(session, studio, host, everyone)}
    ids |= {
        c.teacher_id for c in _teacher_rows(session, studio, host, AudienceFilters(scope="members"))
    }
    return ids


def already_received(session: Session, case_id: int) -> set[int]:
    """Teachers this case was already delivered to (in any push)."""
    return set(
        session.scalars(
            select(PushDelivery.teacher_id)
            .join(Push, Push.id == PushDelivery.push_id)
            .where(Push.case_id == case_id)
        )
    )


# -- reviewed weaknesses, many teachers at once


@dataclass(frozen=True)
class ReviewedWeakness:
    competency: str
    severity: float
    dimension: str = ""


def reviewed_weaknesses_bulk(
    session: Session, teacher_ids: Sequence[int]
) -> dict[int, list[ReviewedWeakness]]:
    """Each teacher's reviewed weaknesses, strongest per competency.

    Same rule as :func:`yanxiu.recommend.profiles.reviewed_weaknesses` (the latest five
    accepted or edited diagnoses; the trainer's edited report when there is one), in a
    constant number of queries however many teachers there are.
    """
    from yanxiu.practice.draft import Report
    from yanxiu.practice.models import (
        Diagnosis,
        DiagnosisReview,
        DiagnosisStatus,
        PracticeRecord,
        ReviewDecision,
    )

    ids = sorted(set(teacher_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Diagnosis.id, PracticeRecord.teacher_id, Diagnosis.report)
        .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
        .where(
            PracticeRecord.teacher_id.in_(ids),
            Diagnosis.status.in_([DiagnosisStatus.ACCEPTED, DiagnosisStatus.EDITED]),
        )
        .order_by(Diagnosis.created_at.desc(), Diagnosis.id.desc())
    ).all()
    kept: dict[int, list[tuple[int, Report]]] = {}
    for diagnosis_id, teacher_id, report in rows:
        mine = kept.setdefault(teacher_id, [])
        if len(mine) < RECENT_DIAGNOSES:
            mine.append((diagnosis_id, report))
    diagnosis_ids = [d for mine in kept.values() for d, _ in mine]
    edited: dict[int, Report] = {}
    if diagnosis_ids:
        for diagnosis_id, decided in session.execute(
            select(DiagnosisReview.diagnosis_id, DiagnosisReview.report)
            .where(
                DiagnosisReview.diagnosis_id.in_(diagnosis_ids),
                DiagnosisReview.decision.in_([ReviewDecision.ACCEPT, ReviewDecision.EDIT]),
            )
            .order_by(DiagnosisReview.id)
        ):
            if decided is not None:
                edited[diagnosis_id] = decided  # the latest review wins
    out: dict[int, list[ReviewedWeakness]] = {}
    for teacher_id, mine in kept.items():
        strongest: dict[str, ReviewedWeakness] = {}
        for diagnosis_id, report in mine:
            for item in edited.get(diagnosis_id, report).weaknesses:
                comp = item.competency
                if not comp:
                    continue
                severity = min(1.0, max(0.0, item.severity))
                old = strongest.get(comp)
                if old is None or severity > old.severity:
                    strongest[comp] = ReviewedWeakness(comp, severity, item.dimension)
        out[teacher_id] = sorted(strongest.values(), key=lambda w: w.competency)
    return out


# -- ranking


def _embed(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    texts: list[str],
    kind: Literal["query", "document"],
) -> np.ndarray:
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    key = (embedder.name, embedder.model_version, kind)
    memo = _MEMO.setdefault(key, {})
    missing = list(dict.fromkeys(t for t in texts if t not in memo))
    if missing:
        if cache is not None:
            vectors = cache.get_or_embed(embedder, missing, kind=kind)
        elif kind == "query":
            vectors = embedder.embed_queries(missing)
        else:
            vectors = embedder.embed_documents(missing)
        if len(memo) + len(missing) > MEMO_SIZE:
            memo.clear()
        memo.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
    return np.vstack([memo[t] for t in texts])


# The wizard's texts (competencies, cases, teacher profiles) in memory, per model: the first
# open of the wizard then embeds nothing (see warm_up, run when the app starts).
_MEMO: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
MEMO_SIZE = 50_000


def warm_up(session: Session, embedder: Embedder, cache: EmbeddingCache | None = None) -> int:
    """Embed what ranking an audience needs before anyone opens the wizard; returns how many
    texts are now in memory (each case, each competency, each distinct teacher profile)."""
    comps = {
        cid: (name, desc)
        for cid, name, desc in session.execute(
            select(Competency.id, Competency.name, Competency.description)
        )
    }
    _embed(embedder, cache, [f"{comps[c][0]}：{comps[c][1]}" for c in sorted(comps)], "query")
    cases = list(session.scalars(select(CaseResource)))
    _embed(embedder, cache, [case_text(c, comps) for c in cases], "document")
    profiles = sorted(
        {
            f"{stage}{'、'.join(subjects or ())}教师，{tier}"
            for stage, subjects, tier in session.execute(
                select(TeacherProfile.stage, TeacherProfile.subjects, TeacherProfile.tier)
            )
        }
    )
    _embed(embedder, cache, profiles, "query")
    return sum(len(m) for m in _MEMO.values())


def case_text(case: CaseResource, competencies: dict[str, tuple[str, str]]) -> str:
    """What the case is about, as embedded: title, summary and its competencies."""
    comps = [
        f"{competencies[c][0]}：{competencies[c][1]}"
        for c in case.competencies or []
        if c in competencies
    ]
    parts = [case.title, case.summary]
    if comps:
        parts.append("能力点：" + "；".join(comps))
    return "。".join(p for p in parts if p)


def competency_relevance(
    embedder: Embedder,
    case: CaseResource,
    competencies: dict[str, tuple[str, str]],
    *,
    cache: EmbeddingCache | None = None,
) -> dict[str, float]:
    """Competency id -> relevance to the case in 0..1 (step 2 of the module docstring)."""
    if not competencies:
        return {}
    ids = sorted(competencies)
    comp_vecs = _embed(
        embedder, cache, [f"{competencies[c][0]}：{competencies[c][1]}" for c in ids], "query"
    )
    case_vec = _embed(embedder, cache, [case_text(case, competencies)], "document")[0]
    sims = comp_vecs @ case_vec
    mean, top = float(sims.mean()), float(sims.max())
    if top - mean <= 1e-9:
        return dict.fromkeys(ids, 0.0)
    rel = np.clip((sims - mean) / (top - mean), 0.0, 1.0)
    return {c: float(r) for c, r in zip(ids, rel, strict=True)}


def profile_text(c: Candidate) -> str:
    return f"{c.stage}{'、'.join(c.subjects)}教师，{c.tier}"


def score_candidates(
    candidates: list[Candidate],
    weaknesses: dict[int, list[ReviewedWeakness]],
    relevance: dict[str, float],
    names: dict[str, str],
    profile_sims: Sequence[float],
) -> None:
    """Fill need, fit, boost, score and matches of each candidate (the formula above)."""
    sims = np.asarray(profile_sims, dtype=np.float64)
    lo, hi = (float(sims.min()), float(sims.max())) if len(sims) else (0.0, 0.0)
    for c, sim in zip(candidates, sims, strict=True):
        mine = weaknesses.get(c.teacher_id, [])
        c.weaknesses = len(mine)
        matches = [
            WeaknessMatch(w.competency, names.get(w.competency, w.competency), w.dimension,
                          w.severity, relevance.get(w.competency, 0.0))
            for w in mine
        ]  # fmt: skip
        c.matches = sorted(
            (m for m in matches if m.contribution > 0.05),
            key=lambda m: (-m.contribution, m.competency),
        )
        c.need = 1.0 - float(np.prod([1.0 - m.contribution for m in matches])) if matches else 0.0
        c.fit = (float(sim) - lo) / (hi - lo) if hi - lo > 1e-9 else 0.0
        c.boost = min(BOOST_CAP, RURAL_BOOST * c.is_rural + WEAK_BOOST * c.is_weak)
        c.score = NEED_WEIGHT * c.need + FIT_WEIGHT * c.fit + c.boost
        c.score -= SUBJECT_MISMATCH * c.subject_mismatch + STAGE_MISMATCH * c.stage_mismatch


def rank_audience(
    session: Session,
    *,
    studio: Studio,
    case: CaseResource,
    host: User,
    embedder: Embedder,
    filters: AudienceFilters | None = None,
    cache: EmbeddingCache | None = None,
) -> AudiencePreview:
    """Suggested recipients of ``case``, most in need first, with the reach they give."""
    filters = (filters or AudienceFilters.for_case(case)).clean()
    pool = _teacher_rows(session, studio, host, filters)
    received = already_received(session, case.id)
    skipped = sum(c.teacher_id in received for c in pool)
    pool = [c for c in pool if c.teacher_id not in received]
    if not pool:
        return AudiencePreview(case.id, filters, [], 0, skipped, 0, embedder.name)
    comps = {
        cid: (name, desc)
        for cid, name, desc in session.execute(
            select(Competency.id, Competency.name, Competency.description)
        )
    }
    relevance = competency_relevance(embedder, case, comps, cache=cache)
    weaknesses = reviewed_weaknesses_bulk(session, [c.teacher_id for c in pool])
    for c in pool:
        c.case_stage, c.case_subject = case.stage, case.subject
    texts = [profile_text(c) for c in pool]
    distinct = sorted(set(texts))
    vecs = _embed(embedder, cache, distinct, "query")
    case_vec = _embed(embedder, cache, [case_text(case, comps)], "document")[0]
    by_text = {t: float(v @ case_vec) for t, v in zip(distinct, vecs, strict=True)}
    score_candidates(pool, weaknesses, relevance, {k: v[0] for k, v in comps.items()},
                     [by_text[t] for t in texts])  # fmt: skip
    pool.sort(key=lambda c: (-c.score, -c.need, c.teacher_id))
    return AudiencePreview(
        case_id=case.id, filters=filters, candidates=pool[: filters.size], pool=len(pool),
        already_received=skipped, with_weaknesses=sum(1 for c in pool if c.weaknesses),
        embedder=embedder.name,
    )  # fmt: skip


def reach_for_ids(
    session: Session, studio: Studio, host: User, teacher_ids: Iterable[int]
) -> Reach:
    """Reach of an explicit selection (the wizard recomputes it when the host unticks someone).

    Only teachers the host could push to count: the studio's members and the people in the
    host's scope, so a hand-made selection reveals nothing about anyone else.
    """
    members = set(
        session.scalars(select(StudioMember.teacher_id).where(StudioMember.studio_id == studio.id))
    )
    chosen = set(teacher_ids)
    ids = sorted((chosen & members) | Scope.for_user(session, host).readable(session, chosen))
    if not ids:
        return reach_of([])
    rows = session.execute(
        select(User.id, School.id, School.location, School.is_weak, School.county_id)
        .join(School, School.id == User.school_id)
        .where(User.id.in_(ids), User.role == Role.TEACHER)
    ).all()
    return reach_of(
        Candidate(
            teacher_id=uid, username="", name="", school_id=sid, school="", county=str(county),
            location=loc.value, is_weak=bool(weak), is_member=uid in members, stage="",
            subjects=(), tier="",
        )
        for uid, sid, loc, weak, county in rows
    )  # fmt: skip


# -- creating a push


@dataclass(frozen=True)
class PushResult:
    push: Push
    created: bool  # False: every chosen teacher already had this case; nothing was written
    delivered: int  # deliveries written now
    skipped: int  # chosen teachers who already had this case


def create_push(
    session: Session,
    *,
    studio: Studio,
    case: CaseResource,
    host: User,
    teacher_ids: Sequence[int],
    note: str = "",
    when: datetime | None = None,
) -> PushResult:
    """Push ``case`` to the chosen teachers: one Push and one delivery each, or nothing.

    Teachers who already received this case (from any earlier push) are skipped, so sending
    the same form twice delivers nothing twice: when nobody new is left, the earlier push is
    returned with ``created=False``.

    Raises:
        PushError: Not the host's studio or case, no teachers, too many, or a teacher outside
            the studio's reach (nothing is written).
    """
    if studio.host_id != host.id:
        raise PushError("您只能从自己主持的工作室推送。")
    if case.studio_id != studio.id:
        raise PushError("只能推送本工作室的案例。")
    chosen = list(dict.fromkeys(int(t) for t in teacher_ids))
    if not chosen:
        raise PushError("请至少选择一位教师。")
    if len(chosen) > MAX_SIZE:
        raise PushError(f"一次最多推送给 {MAX_SIZE} 位教师。")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise PushError(f"推送留言不超过 {MAX_NOTE} 字。")
    outside = [t for t in chosen if t not in eligible_teacher_ids(session, studio, host)]
    if outside:
        raise PushError(f"有 {len(outside)} 位所选教师不在本工作室的推送范围内，请重新选择。")
    # Twenty identical submits at once: lock the case, so each reads who already has it only
    # after the previous push of it committed (one delivery per teacher, however many clicks).
    lock_row(session, CaseResource, case.id)
    received = already_received(session, case.id)
    fresh = [t for t in chosen if t not in received]
    if not fresh:
        previous = session.scalar(
            select(Push)
            .join(PushDelivery, PushDelivery.push_id == Push.id)
            .where(Push.case_id == case.id, PushDelivery.teacher_id.in_(chosen))
            .order_by(Push.id.desc())
            .limit(1)
        )
        assert previous is not None  # everyone chosen has a delivery of this case
        return PushResult(previous, created=False, delivered=0, skipped=len(chosen))
    kwargs: dict[str, Any] = {"created_at": when} if when is not None else {}
    push = Push(studio_id=studio.id, case_id=case.id, created_by_id=host.id, note=note, **kwargs)
    session.add(push)
    session.flush()
    for teacher_id in fresh:
        delivery = PushDelivery(push_id=push.id, teacher_id=teacher_id)
        if when is not None:
            delivery.delivered_at = when
        session.add(delivery)
    session.flush()
    record_audit(session, actor_id=host.id, action="studio.push", entity="push", entity_id=push.id,
                 detail={"studio": studio.code, "case": case.code, "teachers": len(fresh),
                         "skipped": len(chosen) - len(fresh)})  # fmt: skip
    for teacher_id in fresh:
        notify(
            session, user_id=teacher_id, kind=NotificationKind.CASE_PUSHED,
            title=f"{studio.name}向您推送了案例《{case.title}》", body=note,
            link=f"/studios/cases/{case.id}", event_key=f"push:{push.id}", at=when,
        )  # fmt: skip
    return PushResult(push, created=True, delivered=len(fresh), skipped=len(chosen) - len(fresh))
