"""The demo practice records: who gets what, every outcome present, and idempotent seeding."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.factories import password_hash
from yanxiu.accounts.models import Region, RegionLevel, Role, School, SchoolLocation, User
from yanxiu.accounts.service import create_teacher_profile, create_user
from yanxiu.catalog.service import sync_competencies, sync_courses
from yanxiu.practice.models import Diagnosis, DiagnosisReview, DiagnosisStatus, PracticeRecord
from yanxiu.practice.parse import parse_transcript
from yanxiu.practice.review import queue_entries
from yanxiu.practice.service import teacher_diagnoses
from yanxiu.seed.practice_demo import DEMO_RECORDS, POLITICS_TRANSCRIPT, seed_practice_demo


@pytest.fixture
def world(session, content):
    """Two counties with the teachers the demo records need, a trainer each, and t001."""
    sync_competencies(session, content.competencies)
    sync_courses(session, content.resources, origin="test")
    cases = {c.id: c for c in content.cases}
    counties = {}
    for code in sorted({spec.county for spec in DEMO_RECORDS}):
        county = Region(code=code, name=f"县{code}", level=RegionLevel.COUNTY)
        session.add(county)
        session.flush()
        school = School(code=f"S-{code}", name=f"{code}学校", county_id=county.id,
                        stages=["小学", "初中", "高中"], location=SchoolLocation.URBAN)  # fmt: skip
        session.add(school)
        session.flush()
        counties[code] = (county, school)
        create_user(session, username=f"trainer.{code}", display_name="培训者", role=Role.TRAINER,
                    password_hash=password_hash(), region_id=county.id, school_id=None)  # fmt: skip
    named = set()
    for n, spec in enumerate(DEMO_RECORDS):
        county, school = counties[spec.county]
        if (
            spec.teacher and spec.teacher in named
        ):  # a named teacher with several records is created once
            continue
        named.add(spec.teacher)
        if spec.case == "politics":
            stage, subject = "高中", "思想政治"
        elif spec.case == "journey":
            stage, subject = "初中", "数学"
        else:
            stage, subject = cases[spec.case].stage, cases[spec.case].subject
        user = create_user(
            session, username=spec.teacher or f"d{n:03d}", display_name=f"教师{n}", role=Role.TEACHER,
            password_hash=password_hash(), region_id=county.id, school_id=school.id,
        )  # fmt: skip
        create_teacher_profile(
            session, user=user, stage=stage, subjects=[subject if subject != "通用" else "语文"],
            tier="合格教师", years_teaching=8, posts=["班主任"], cycle_start=content.roster["demo_today"],
        )  # fmt: skip
    session.flush()
    return counties


def test_demo_records_cover_every_outcome_and_t001_has_a_reviewed_diagnosis(
    session, content, world
):
    created = seed_practice_demo(session, content)
    session.flush()
    assert created == len(DEMO_RECORDS) and 10 <= created <= 15
    statuses = Counter(session.scalars(select(Diagnosis.status)))
    assert statuses[DiagnosisStatus.CONTESTED] == 1 and statuses[DiagnosisStatus.REJECTED] == 1
    assert statuses[DiagnosisStatus.PENDING_REVIEW] >= 5 and statuses[DiagnosisStatus.ACCEPTED] >= 1
    assert statuses[DiagnosisStatus.EDITED] >= 2

    t001 = session.scalar(select(User).where(User.username == "t001"))
    (seen,) = teacher_diagnoses(session, t001.id)
    assert seen.scores["反馈评价"].score == 2 != seen.scores["反馈评价"].ai_score
    assert seen.report.weaknesses[0].dimension == "反馈评价"
    assert seen.report.resources and all(
        r.for_dimension == "反馈评价" for r in seen.report.resources
    )
    assert any(s.by_trainer for s in seen.report.suggestions)

    linjiang_trainer = session.scalar(select(User).where(User.username == "trainer.GX0101"))
    queue = queue_entries(session, reviewer=linjiang_trainer)
    assert sum(e.contested for e in queue) == 1 and len(queue) >= 6
    # records are dated before the demo's today, in submission order of the spec
    dates = [r.created_at.date() for r in session.scalars(select(PracticeRecord))]
    assert max(dates) < content.roster["demo_today"]


def test_seeding_twice_adds_nothing(session, content, world):
    seed_practice_demo(session, content)
    session.flush()
    before = (
        session.scalar(select(func.count(PracticeRecord.id))),
        session.scalar(select(func.count(DiagnosisReview.id))),
    )
    assert seed_practice_demo(session, content) == 0
    session.flush()
    after = (
        session.scalar(select(func.count(PracticeRecord.id))),
        session.scalar(select(func.count(DiagnosisReview.id))),
    )
    assert after == before


def test_the_politics_transcript_parses_with_timestamps():
    utterances = parse_transcript(POLITICS_TRANSCRIPT.encode("utf-8"), "t001.txt")
    assert len(utterances) >= 20 and all(u.start_s is not None for u in utterances)
    assert {u.speaker_role for u in utterances} == {"teacher", "student", "students"}


def test_the_demo_teacher_has_two_reviewed_lessons_to_compare(session, content, world):
    from yanxiu.accounts.scope import Scope
    from yanxiu.practice.compare import compare_lessons, compare_picker, trend_points

    seed_practice_demo(session, content)
    session.flush()
    t112 = session.scalar(select(User).where(User.username == "t112"))
    points = trend_points(session, t112.id)
    assert len(points) >= 2 and points[0].submitted_at < points[-1].submitted_at
    picker = compare_picker(session, Scope.for_user(session, t112))
    comparison = compare_lessons(session, Scope.for_user(session, t112), picker.default_a,
                                 picker.default_b)  # fmt: skip
    assert comparison.kind == "before_after" and comparison.a.reviewed and comparison.b.reviewed
    assert comparison.a.mode != comparison.b.mode  # a mixed lesson, then group work
    # trainer.GX0101 sees t112's 行程问题 beside t047-like lecture of the same topic (同课异构)
    trainer = session.scalar(select(User).where(User.username == "trainer.GX0101"))
    pairs = compare_picker(session, Scope.for_user(session, trainer)).pairs
    assert any(p.topic == "一元一次方程的应用——行程问题" for p in pairs)


def test_the_journey_transcript_marks_its_stages():
    from yanxiu.seed.practice_demo import JOURNEY_TRANSCRIPT

    utterances = parse_transcript(JOURNEY_TRANSCRIPT.encode("utf-8"), "t112.txt")
    assert {u.segment for u in utterances} >= {"导入", "新授", "练习", "小结"}
