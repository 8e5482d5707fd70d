"""A teacher's personal data export (个人数据导出): everything the platform holds about them.

One JSON document with the teacher's own profile, enrolments, complete ledger (voided and
pending records included, marked as such), compliance summary, offline attendance, practice
records with the diagnoses a trainer has reviewed (AI drafts awaiting review and rejected
drafts are not part of what the teacher is shown, so they are not exported either), studio
memberships, the studio cases pushed to them, their hour claims (with each evidence file's name
and checksum) and the 学时证明 issued to them. Only rows belonging to the teacher are read.
No secrets: the password hash and session data are never included.

:func:`export_personal_data` is the download the teacher asks for (audited).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.accounts.models import Region, School, TeacherProfile, User
from yanxiu.accounts.roster import mask_phone
from yanxiu.audit.service import record_audit
from yanxiu.catalog.models import Course, Enrolment
from yanxiu.credits.claim_models import Certificate, HourClaim
from yanxiu.credits.claims import evidence_of
from yanxiu.credits.policy import CreditPolicy
from yanxiu.reports.dashboard import compliance_summary, teacher_compliance_report

EXPORT_FORMAT = "yanxiu.personal-data/1"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def personal_data(
    session: Session, *, teacher_id: int, policy: CreditPolicy, today: date
) -> dict[str, Any]:
    """The teacher's own data as one JSON-ready dict."""
    from yanxiu.practice.models import Diagnosis, PracticeRecord
    from yanxiu.practice.service import SHOWN_TO_TEACHER, reviewed_view
    from yanxiu.programs.models import Attendance, OfflineSession, Program
    from yanxiu.studios.models import CaseResource, Push, PushDelivery, Studio, StudioMember

    user = session.get(User, teacher_id)
    if user is None:
        raise ValueError(f"user {teacher_id} does not exist")
    school = session.get(School, user.school_id) if user.school_id else None
    county = session.get(Region, school.county_id) if school else None
    _, entries, report = teacher_compliance_report(
        session, teacher_id=teacher_id, policy=policy, today=today
    )
    profile = session.get(TeacherProfile, teacher_id)
    assert profile is not None  # teacher_compliance_report refuses a user without one

    enrolments = [
        {
            "course": code,
            "title": title,
            "category": category,
            "hours": float(hours),
            "status": e.status.value,
            "progress": round(float(e.progress or 0.0), 4),
            "rating": e.rating,
            "enrolled_at": _iso(e.enrolled_at),
            "completed_at": _iso(e.completed_at),
            "dropped_at": _iso(e.dropped_at),
        }  # fmt: skip
        for e, code, title, category, hours in session.execute(
            select(Enrolment, Course.code, Course.title, Course.category, Course.hours)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Enrolment.teacher_id == teacher_id)
            .order_by(Enrolment.enrolled_at, Enrolment.id)
        )
    ]
    ledger = [
        {
            "id": e.id,
            "source": e.source.value,
            "category": e.category,
            "hours": e.hours,
            "earned_on": e.earned_on.isoformat(),
            "title": e.title,
            "evidence": e.evidence,
            "review_state": e.review_state.value,
            "counts": e.counts,
            "voided": e.voided,
            "void_reason": e.void_reason,
            "replaces_id": e.replaces_id,
            "created_at": _iso(e.created_at),
        }  # fmt: skip
        for e in entries
    ]
    attendance = [
        {
            "program": program_code,
            "program_title": program_title,
            "session_id": s.id,
            "session": s.title,
            "location": s.location,
            "starts_at": _iso(s.starts_at),
            "hours": float(s.hours),
            "category": s.category,
            "status": a.status.value,
            "method": a.method,
            "recorded_at": _iso(a.recorded_at),
        }  # fmt: skip
        for a, s, program_code, program_title in session.execute(
            select(Attendance, OfflineSession, Program.code, Program.title)
            .join(OfflineSession, OfflineSession.id == Attendance.session_id)
            .join(Program, Program.id == OfflineSession.program_id)
            .where(Attendance.teacher_id == teacher_id)
            .order_by(OfflineSession.starts_at, Attendance.id)
        )
    ]
    records = [
        {
            "id": r.id,
            "kind": r.kind.value,
            "title": r.title,
            "stage": r.stage,
            "subject": r.subject,
            "filename": r.filename,
            "source_format": r.source_format,
            "sha256": r.sha256,
            "created_at": _iso(r.created_at),
            "text": r.text,
        }  # fmt: skip
        for r in session.scalars(
            select(PracticeRecord)
            .where(PracticeRecord.teacher_id == teacher_id)
            .order_by(PracticeRecord.created_at, PracticeRecord.id)
        )
    ]
    diagnoses = [
        {"record_id": d.record_id, **reviewed_view(session, d).model_dump(mode="json")}
        for d in session.scalars(
            select(Diagnosis)
            .join(PracticeRecord, PracticeRecord.id == Diagnosis.record_id)
            .where(
                PracticeRecord.teacher_id == teacher_id,
                Diagnosis.status.in_(SHOWN_TO_TEACHER),
            )
            .order_by(Diagnosis.created_at, Diagnosis.id)
        )
    ]
    memberships = [
        {
            "studio": code,
            "name": name,
            "stage": stage,
            "subject": subject,
            "joined_at": _iso(joined),
        }
        for code, name, stage, subject, joined in session.execute(
            select(Studio.code, Studio.name, Studio.stage, Studio.subject, StudioMember.joined_at)
            .join(Studio, Studio.id == StudioMember.studio_id)
            .where(StudioMember.teacher_id == teacher_id)
            .order_by(StudioMember.joined_at)
        )
    ]
    deliveries = [
        {
            "case": case_code,
            "title": case_title,
            "studio": studio_name,
            "delivered_at": _iso(d.delivered_at),
            "opened_at": _iso(d.opened_at),
            "completed_at": _iso(d.completed_at),
        }  # fmt: skip
        for d, case_code, case_title, studio_name in session.execute(
            select(PushDelivery, CaseResource.code, CaseResource.title, Studio.name)
            .join(Push, Push.id == PushDelivery.push_id)
            .join(CaseResource, CaseResource.id == Push.case_id)
            .join(Studio, Studio.id == Push.studio_id)
            .where(PushDelivery.teacher_id == teacher_id)
            .order_by(PushDelivery.delivered_at, PushDelivery.id)
        )
    ]
    claims = [
        {"id": c.id, "kind": c.kind.value, "category": c.category, "hours": float(c.hours),
         "started_on": c.started_on.isoformat(), "ended_on": c.ended_on.isoformat(),
         "organiser": c.organiser, "title": c.title, "description": c.description,
         "state": c.state.value, "decision_reason": c.decision_reason,
         "decided_at": _iso(c.decided_at), "credit_record_id": c.credit_record_id,
         "evidence": [{"name": e.original_name, "media_type": e.media_type, "size": e.size,
                       "sha256": e.sha256} for e in evidence_of(session, c.id)],
         "created_at": _iso(c.created_at)}
        for c in session.scalars(
            select(HourClaim).where(HourClaim.teacher_id == teacher_id).order_by(HourClaim.id)
        )
    ]  # fmt: skip
    certificates = [
        {"code": c.code, "period": c.content.get("period", {}).get("label"),
         "total_hours": float(c.total_hours), "issued_at": _iso(c.issued_at)}
        for c in session.scalars(
            select(Certificate).where(Certificate.teacher_id == teacher_id).order_by(Certificate.id)
        )
    ]  # fmt: skip
    return {
        "format": EXPORT_FORMAT,
        "generated_on": today.isoformat(),
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "profile": {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "school": school.name if school else None,
            "county": county.name if county else None,
            "stage": profile.stage,
            "subjects": list(profile.subjects or []),
            "tier": profile.tier,
            "years_teaching": profile.years_teaching,
            "posts": list(profile.posts or []),
            "gender": profile.gender,
            "cycle_start": profile.cycle_start.isoformat(),
            "bio": profile.bio,
            "staff_no": user.staff_no,
            "title": profile.title,
            "hired_on": profile.hired_on.isoformat() if profile.hired_on else None,
            "employment": user.employment,
            "phone": mask_phone(user.phone) or None,  # masked in every export (PIPL)
            "account_created_at": _iso(user.created_at),
        },
        "compliance": compliance_summary(report, policy),
        "enrolments": enrolments,
        "ledger": ledger,
        "attendance": attendance,
        "practice_records": records,
        "reviewed_diagnoses": diagnoses,
        "studio_memberships": memberships,
        "studio_cases_received": deliveries,
        "hour_claims": claims,  # the evidence files themselves are downloaded from each claim
        "certificates": certificates,
    }


@dataclass(frozen=True)
class Download:
    filename: str
    body: str  # JSON, UTF-8 text


def export_personal_data(
    session: Session, *, teacher_id: int, policy: CreditPolicy, today: date
) -> Download:
    """The teacher's own data as a JSON file to download; each export is audited."""
    data = personal_data(session, teacher_id=teacher_id, policy=policy, today=today)
    record_audit(session, actor_id=teacher_id, action="teacher.export", entity="user",
                 entity_id=teacher_id, detail={"sections": sorted(data)})  # fmt: skip
    username = data["profile"]["username"]
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return Download(f"yanxiu-{username}-{today.isoformat()}.json", body)
