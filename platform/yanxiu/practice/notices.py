"""Telling people about review decisions: the teacher when a trainer has decided on their
draft (or answered their contest), the trainers over a teacher when the teacher contests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yanxiu.accounts.models import Role, User
from yanxiu.accounts.scope import overseers
from yanxiu.notifications.models import NotificationKind
from yanxiu.notifications.service import notify
from yanxiu.practice.models import Diagnosis, DiagnosisReview, ReviewDecision

OUTCOMES = {
    ReviewDecision.ACCEPT: "已通过审核",
    ReviewDecision.EDIT: "已由培训者修改后通过",
    ReviewDecision.REJECT: "被退回",
}


def tell_teacher_reviewed(
    session: Session, diagnosis: Diagnosis, review: DiagnosisReview, *, was_contested: bool
) -> None:
    record = diagnosis.record
    outcome = OUTCOMES.get(review.decision, "已处理")
    if was_contested:
        kind, title = (
            NotificationKind.CONTEST_ANSWERED,
            f"您对《{record.title}》的申诉已处理：{outcome}",
        )
    else:
        kind, title = NotificationKind.DIAGNOSIS_REVIEWED, f"《{record.title}》的诊断{outcome}"
    body = (
        "打开记录查看审核后的诊断。"
        if review.decision != ReviewDecision.REJECT
        else (f"退回理由：{review.comment}")
    )
    notify(session, user_id=record.teacher_id, kind=kind, title=title, body=body,
           link=f"/practice/{record.id}", event_key=f"diagnosis:{diagnosis.id}:review:{review.id}")  # fmt: skip


def tell_trainers_contested(
    session: Session, diagnosis: Diagnosis, contest: DiagnosisReview
) -> None:
    record = diagnosis.record
    teacher = session.get(User, record.teacher_id)
    if teacher is None:
        return
    for trainer in overseers(session, teacher, (Role.TRAINER,)):
        notify(
            session, user_id=trainer.id, kind=NotificationKind.CONTEST_RECEIVED,
            title=f"{teacher.display_name}对《{record.title}》的诊断提出申诉", body=contest.comment,
            link=f"/review/{diagnosis.id}", event_key=f"diagnosis:{diagnosis.id}:contest:{contest.id}",
        )  # fmt: skip
