"""Teacher vectors: where a teacher stands and what they need, in the catalog's vector space.

A teacher vector is a weighted sum of three unit vectors, then L2-normalised:

- the profile (stage, subjects, tier, posts), embedded as a query;
- diagnosed weaknesses that a trainer reviewed, each competency's description embedded as
  a query and weighted by its severity;
- recently completed resources (their document vectors), each decayed by age with a
  half-life, so last month's course says more about today than one from three years ago.

Vectors are cached by a fingerprint of these inputs, so any change in profile, a new reviewed
diagnosis or a new completion yields a fresh vector without any explicit invalidation.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.catalog.models import Course, Enrolment, EnrolmentStatus
from yanxiu.search.embed import Embedder
from yanxiu.search.embed_cache import EmbeddingCache

PROFILE_WEIGHT = 1.0
WEAKNESS_WEIGHT = 1.5  # a reviewed weakness is the strongest signal of what to learn next
HISTORY_WEIGHT = 0.7
HALF_LIFE_DAYS = 180
RECENT_COMPLETIONS = 10


@dataclass(frozen=True)
class Weakness:
    competency: str  # competency id, e.g. PRC-QUES
    severity: float  # 0..1, from the reviewed diagnosis


@dataclass(frozen=True)
class TeacherSignals:
    teacher_id: int
    stage: str
    subjects: tuple[str, ...]
    tier: str
    posts: tuple[str, ...] = ()
    weaknesses: tuple[Weakness, ...] = ()
    completed: tuple[tuple[int, date], ...] = ()  # (course id, completed on), newest first

    def profile_text(self) -> str:
        posts = "，担任" + "、".join(self.posts) if self.posts else ""
        return f"{self.stage}{'、'.join(self.subjects)}教师，{self.tier}{posts}"

    def fingerprint(self, today: date) -> str:
        payload = json.dumps([repr(self), today.isoformat()], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class TeacherVectors:
    """Computes (and remembers) teacher vectors.

    Args:
        embedder: The catalog's embedder, so teacher and resource vectors are comparable.
        cache: Embedding cache (profile and weakness texts repeat across teachers).
        doc_texts: Course id -> the text its document vector was built from.
        competency_text: Competency id -> "name：description".
    """

    embedder: Embedder
    cache: EmbeddingCache
    doc_texts: Mapping[int, str]
    competency_text: Mapping[str, str]
    max_cached: int = 5000
    _memo: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict)

    def vector(self, signals: TeacherSignals, *, today: date) -> np.ndarray:
        key = signals.fingerprint(today)
        hit = self._memo.get(key)
        if hit is not None:
            self._memo.move_to_end(key)
            return hit
        vec = self._compute(signals, today)
        self._memo[key] = vec
        if len(self._memo) > self.max_cached:
            self._memo.popitem(last=False)
        return vec

    def _compute(self, signals: TeacherSignals, today: date) -> np.ndarray:
        total = (
            PROFILE_WEIGHT
            * self.cache.get_or_embed(self.embedder, [signals.profile_text()], kind="query")[0]
        )
        weak = [
            w for w in signals.weaknesses if w.competency in self.competency_text and w.severity > 0
        ]
        if weak:
            vecs = self.cache.get_or_embed(
                self.embedder, [self.competency_text[w.competency] for w in weak], kind="query"
            )
            weights = np.array([w.severity for w in weak], dtype=np.float32)
            total = total + WEAKNESS_WEIGHT * (weights[:, None] * vecs).sum(axis=0) / max(
                1.0, weights.sum()
            )
        done = [
            (cid, day)
            for cid, day in signals.completed[:RECENT_COMPLETIONS]
            if cid in self.doc_texts
        ]
        if done:
            vecs = self.cache.get_or_embed(
                self.embedder, [self.doc_texts[cid] for cid, _ in done], kind="document"
            )
            decay = np.array(
                [0.5 ** (max(0, (today - day).days) / HALF_LIFE_DAYS) for _, day in done],
                np.float32,
            )
            total = total + HISTORY_WEIGHT * (decay[:, None] * vecs).sum(axis=0) / len(done)
        norm = float(np.linalg.norm(total))
        return (
            (total / norm).astype(np.float32)
            if norm > 0 and math.isfinite(norm)
            else total.astype(np.float32)
        )


def load_teacher_signals(
    session: Session, teacher_id: int, *, weaknesses: Sequence[Weakness] | None = None
) -> TeacherSignals:
    """A teacher's profile, reviewed weaknesses and recent completions from the database.

    Args:
        weaknesses: Reviewed weaknesses; when None they are read from the teacher's reviewed
            diagnoses (accepted or edited by a trainer; pending ones never count).
    """
    from yanxiu.accounts.models import TeacherProfile

    profile = session.get(TeacherProfile, teacher_id)
    if profile is None:
        raise ValueError(f"user {teacher_id} has no teacher profile")
    if weaknesses is None:
        weaknesses = reviewed_weaknesses(session, teacher_id)
    rows = session.execute(
        select(Enrolment.course_id, Enrolment.completed_at)
        .where(Enrolment.teacher_id == teacher_id, Enrolment.status == EnrolmentStatus.COMPLETED)
        .order_by(Enrolment.completed_at.desc(), Enrolment.id.desc())
        .limit(RECENT_COMPLETIONS)
    ).all()
    return TeacherSignals(
        teacher_id=teacher_id, stage=profile.stage, subjects=tuple(profile.subjects), tier=profile.tier,
        posts=tuple(profile.posts), weaknesses=tuple(weaknesses),
        completed=tuple((cid, when.date()) for cid, when in rows if when is not None),
    )  # fmt: skip


def reviewed_weaknesses(session: Session, teacher_id: int) -> list[Weakness]:
    """Weaknesses of the teacher's latest reviewed diagnosis per competency (strongest kept).

    A diagnosis reaches the teacher, and their vector and path, only once a trainer accepted or
    edited it: its report's weaknesses name a competency and a severity.
    """
    from yanxiu.practice.models import Diagnosis, DiagnosisStatus, PracticeRecord

    rows = session.scalars(
        select(Diagnosis)
        .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
        .where(
            PracticeRecord.teacher_id == teacher_id,
            Diagnosis.status.in_([DiagnosisStatus.ACCEPTED, DiagnosisStatus.EDITED]),
        )
        .order_by(Diagnosis.created_at.desc())
        .limit(5)
    )
    from yanxiu.practice.models import DiagnosisReview, ReviewDecision

    strongest: dict[str, float] = {}
    for diagnosis in rows:
        # the trainer's version of the report when there is one (an edit changes weaknesses)
        review = session.scalar(
            select(DiagnosisReview)
            .where(
                DiagnosisReview.diagnosis_id == diagnosis.id,
                DiagnosisReview.decision.in_([ReviewDecision.ACCEPT, ReviewDecision.EDIT]),
            )
            .order_by(DiagnosisReview.id.desc())
        )
        report = review.report if review is not None and review.report else diagnosis.report
        for item in report.weaknesses:
            if item.competency:
                strongest[item.competency] = max(strongest.get(item.competency, 0.0), item.severity)
    return [Weakness(c, s) for c, s in sorted(strongest.items())]


def course_ids_by_code(session: Session) -> dict[str, int]:
    return {code: cid for code, cid in session.execute(select(Course.code, Course.id))}
