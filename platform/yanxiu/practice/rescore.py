"""Re-scoring the pending drafts in a reviewer's scope with the current model, as a background job.

After a new model or calibration, a trainer or admin can redraft every diagnosis nobody has
reviewed yet (:func:`yanxiu.practice.service.rescore_diagnosis`); reviewed and contested ones
keep the draft their reviews refer to. Each record is its own transaction, so the work done
stays done if the job stops; a draft reviewed while the job runs is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from yanxiu.accounts.models import User
from yanxiu.db import session_scope
from yanxiu.jobs import Job, Progress
from yanxiu.practice.diagnosis import ResourceFinder
from yanxiu.practice.models import Diagnosis
from yanxiu.practice.review import pending_in_scope
from yanxiu.practice.service import ReviewError, rescore_diagnosis

RESCORE_TITLE = "重新评分待审核的教学实践记录"


class SubmitJob(Protocol):  # yanxiu.services.Services.submit_job
    def __call__(
        self, handler: str, title: str, *, owner_id: int, params: dict[str, Any] | None = None
    ) -> Job: ...


def rescore_pending(
    factory: sessionmaker[Session],
    *,
    reviewer_id: int,
    resource_finder: Callable[[Session], ResourceFinder],
    calibration: Mapping[str, Mapping[int, int]],
) -> Callable[[Progress], str]:
    """The job's work: re-score every pending draft the reviewer may review, one per transaction."""
    mapping = {dim: dict(m) for dim, m in calibration.items()}

    def work(progress: Progress) -> str:
        with session_scope(factory) as s:
            reviewer = s.get(User, reviewer_id)
            ids = pending_in_scope(s, reviewer) if reviewer is not None else []
        progress.set_total(len(ids))
        if not ids:
            return "没有待审核的记录需要重新评分。"
        changed = skipped = 0
        for diagnosis_id in ids:
            with session_scope(factory) as s:  # one transaction per record: finished work stays
                diagnosis = s.get(Diagnosis, diagnosis_id)
                title = diagnosis.record.title if diagnosis else str(diagnosis_id)
                try:
                    moved = rescore_diagnosis(s, diagnosis_id=diagnosis_id, actor_id=reviewer_id,
                                              find_resources=resource_finder(s), calibration=mapping)  # fmt: skip
                except ReviewError:  # reviewed while the job ran: leave it as decided
                    skipped += 1
                    progress.advance(1, f"“{title}”已被审核，跳过")
                    continue
            changed += moved
            progress.advance(1, f"“{title}”{'分数有变化' if moved else '分数不变'}")
        done = len(ids) - skipped
        return f"已用当前模型重新评分 {done} 份待审核记录，其中 {changed} 份分数有变化" + (
            f"；{skipped} 份在评分期间已被审核，未改动。" if skipped else "。"
        )

    return work


def start_rescore(submit: SubmitJob, *, reviewer_id: int) -> Job:
    """Queue the re-scoring of every pending draft in the reviewer's scope as a job (the
    "score" handler runs :func:`rescore_pending` in whichever process takes it)."""
    return submit("score", RESCORE_TITLE, owner_id=reviewer_id, params={"reviewer_id": reviewer_id})
