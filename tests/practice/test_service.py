"""Practice records end to end on a real database: submit, review, teacher view, contest."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.practice.agreement import (
    agreement,
    agreement_by_dimension,
    cross_validated,
    fit_calibration,
    review_pairs,
)
from yanxiu.practice.models import (
    Diagnosis,
    DiagnosisStatus,
    PracticeRecord,
    RecordKind,
    ReviewDecision,
)
from yanxiu.practice.parse import TranscriptError
from yanxiu.practice.review import contest_diagnosis, review_diagnosis, review_queue
from yanxiu.practice.service import ReviewError, submit_record, teacher_diagnoses
from yanxiu.recommend.profiles import reviewed_weaknesses


def trainer_for(session, school, name="trainer1"):
    return create_user(session, username=name, display_name="培训者", role=Role.TRAINER,
                       password_hash=password_hash(), region_id=school.county_id)  # fmt: skip


@pytest.fixture
def lecture(content):
    return next(c for c in content.cases if c.id == "CASE-001").body.encode("utf-8")


@pytest.fixture
def dialogic(content):
    return next(c for c in content.cases if c.id == "CASE-002").body.encode("utf-8")


def test_submitted_draft_waits_for_review_and_teacher_sees_only_reviewed(session, lecture):
    school = make_school(session)
    teacher, trainer = make_teacher(session, school=school), trainer_for(session, school)
    record, diagnosis = submit_record(session, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT, data=lecture,
                                      filename="实录.txt", title="行程问题", stage="初中", subject="数学")  # fmt: skip
    session.commit()
    assert diagnosis.status == DiagnosisStatus.PENDING_REVIEW and diagnosis.report.ai_generated
    assert set(diagnosis.scores) == {
        "提问质量",
        "学生参与",
        "反馈评价",
        "课堂互动",
        "思维深度",
        "教学目标达成",
    }
    assert diagnosis.analytics.st.mode == "讲授型"
    assert teacher_diagnoses(session, teacher.id) == []  # nothing before review
    assert [d.id for d in review_queue(session, reviewer=trainer)] == [diagnosis.id]
    review_diagnosis(
        session,
        diagnosis_id=diagnosis.id,
        reviewer=trainer,
        decision=ReviewDecision.ACCEPT,
        comment="同意",
    )
    session.commit()
    (seen,) = teacher_diagnoses(session, teacher.id)
    assert seen.status == "accepted" and seen.report.weaknesses
    assert review_queue(session, reviewer=trainer) == []


def test_queue_puts_low_confidence_first_and_is_scoped_to_the_region(session, lecture, dialogic):
    school, elsewhere = make_school(session), make_school(session)
    teacher, other = make_teacher(session, school=school), make_teacher(session, school=elsewhere)
    trainer = trainer_for(session, school)
    short = "[00:00:01] 师：今天学习方程。\n[00:00:05] 生：好。\n[00:00:09] 师：对不对？\n".encode()
    _, d_short = submit_record(
        session,
        teacher_id=teacher.id,
        kind=RecordKind.TRANSCRIPT,
        data=short,
        filename="a.txt",
        title="短",
    )
    _, d_long = submit_record(
        session,
        teacher_id=teacher.id,
        kind=RecordKind.TRANSCRIPT,
        data=dialogic,
        filename="b.txt",
        title="长",
    )
    _, d_other = submit_record(
        session,
        teacher_id=other.id,
        kind=RecordKind.TRANSCRIPT,
        data=lecture,
        filename="c.txt",
        title="外区",
    )
    session.commit()
    assert d_short.confidence < d_long.confidence
    assert [d.id for d in review_queue(session, reviewer=trainer)] == [d_short.id, d_long.id]
    with pytest.raises(ReviewError, match="本区域"):
        review_diagnosis(
            session, diagnosis_id=d_other.id, reviewer=trainer, decision=ReviewDecision.ACCEPT
        )


def test_queue_weighs_waiting_time_and_puts_contested_first(session, lecture):
    school = make_school(session)
    teacher, trainer = make_teacher(session, school=school), trainer_for(session, school)
    made = [submit_record(session, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT, data=lecture,
                          filename=f"{k}.txt", title=k)[1] for k in ("old", "new", "doubtful")]  # fmt: skip
    old, new, doubtful = made
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    # a sure draft that has waited a week, a sure one from today, a doubtful one from today
    old.confidence, old.created_at = 0.9, now - timedelta(days=7)
    new.confidence, new.created_at = 0.9, now - timedelta(hours=1)
    doubtful.confidence, doubtful.created_at = 0.6, now - timedelta(hours=2)
    session.flush()
    order = lambda: [d.id for d in review_queue(session, reviewer=trainer, now=now)]  # noqa: E731
    # a week's wait (0.9 − 7 × 0.05 = 0.55) outweighs the doubtful draft's 0.6; three days
    # earlier (0.75) it did not; among today's drafts the doubtful one goes before the sure one
    assert order() == [old.id, doubtful.id, new.id]
    assert [d.id for d in review_queue(session, reviewer=trainer, now=now - timedelta(days=3))] == [
        doubtful.id, old.id, new.id]  # fmt: skip
    # a teacher's dispute goes before everything
    new.status = DiagnosisStatus.CONTESTED
    session.flush()
    assert order() == [new.id, old.id, doubtful.id]
    assert [d.id for d in review_queue(session, reviewer=trainer, now=now, limit=2)] == [
        new.id,
        old.id,
    ]


def test_edit_recomputes_weaknesses_that_feed_the_teacher_vector(session, dialogic):
    school = make_school(session)
    teacher, trainer = make_teacher(session, school=school), trainer_for(session, school)
    _, diagnosis = submit_record(
        session,
        teacher_id=teacher.id,
        kind=RecordKind.TRANSCRIPT,
        data=dialogic,
        filename="x.txt",
        title="证明",
    )
    session.commit()
    assert reviewed_weaknesses(session, teacher.id) == []  # pending: does not count
    with pytest.raises(ReviewError, match="1–5"):
        review_diagnosis(
            session,
            diagnosis_id=diagnosis.id,
            reviewer=trainer,
            decision=ReviewDecision.EDIT,
            scores={"反馈评价": 7},
        )
    review_diagnosis(session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.EDIT,
                     scores={"反馈评价": 2}, comment="理答仍偏笼统")  # fmt: skip
    session.commit()
    (seen,) = teacher_diagnoses(session, teacher.id)
    assert seen.scores["反馈评价"].score == 2 and seen.scores["反馈评价"].ai_score != 2
    expected = {v.competency for k, v in seen.scores.items() if v.score <= 2}
    assert "PRC-FEEDBACK" in expected
    assert {w.competency for w in reviewed_weaknesses(session, teacher.id)} == expected


def test_reject_needs_a_reason_and_contest_returns_to_the_queue(session, lecture):
    school = make_school(session)
    teacher, trainer = make_teacher(session, school=school), trainer_for(session, school)
    _, diagnosis = submit_record(
        session,
        teacher_id=teacher.id,
        kind=RecordKind.TRANSCRIPT,
        data=lecture,
        filename="x.txt",
        title="t",
    )
    with pytest.raises(ReviewError, match="理由"):
        review_diagnosis(
            session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.REJECT
        )
    review_diagnosis(
        session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.ACCEPT
    )
    with pytest.raises(ReviewError, match="本人"):
        contest_diagnosis(
            session,
            diagnosis_id=diagnosis.id,
            teacher=make_teacher(session, school=school),
            comment="不服",
        )
    contest_diagnosis(
        session,
        diagnosis_id=diagnosis.id,
        teacher=teacher,
        comment="这节课是复习课，学生活动在课前完成",
    )
    session.commit()
    assert diagnosis.status == DiagnosisStatus.CONTESTED
    # still shown to the teacher, marked contested, while it waits in the queue again
    assert [d.status for d in teacher_diagnoses(session, teacher.id)] == ["contested"]
    assert [d.id for d in review_queue(session, reviewer=trainer)] == [diagnosis.id]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        ("老师今天讲了方程\n".encode(), "a.txt", "第1行"),
        ("[00:00:05] 生：好。\n[00:00:09] 生：嗯。\n".encode(), "b.txt", "没有教师发言"),
        (b"", "c.txt", None),
        ("师：好\n".encode() * 10, "d.pdf", "pdf"),
    ],
)
def test_bad_files_are_refused_with_the_line_and_nothing_is_stored(session, data, name, message):
    teacher = make_teacher(session)
    with pytest.raises(TranscriptError, match=message):
        submit_record(
            session,
            teacher_id=teacher.id,
            kind=RecordKind.TRANSCRIPT,
            data=data,
            filename=name,
            title="x",
        )
    session.rollback()
    assert session.scalar(select(func.count(PracticeRecord.id))) == 0
    assert session.scalar(select(func.count(Diagnosis.id))) == 0


def test_lesson_plans_are_scored_by_section(session, content):
    plan = next(c for c in content.cases if c.kind == "lesson_plan")
    teacher = make_teacher(session)
    _, diagnosis = submit_record(
        session,
        teacher_id=teacher.id,
        kind=RecordKind.LESSON_PLAN,
        data=plan.body.encode(),
        filename="教案.md",
        title=plan.title,
    )
    assert set(diagnosis.scores) == {
        "教学目标",
        "学情分析",
        "教学重难点",
        "教学过程",
        "评价设计",
        "作业设计",
    }


def test_agreement_statistics_on_hand_made_pairs():
    # identical scores: QWK 1, exact 1; a one-point shift everywhere: exact 0, adjacent 1
    same = agreement([(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)])
    assert same == {"n": 5, "qwk": 1.0, "exact": 1.0, "adjacent": 1.0}
    shifted = agreement([(1, 2), (2, 3), (3, 4), (4, 5)])
    assert shifted["exact"] == 0.0 and shifted["adjacent"] == 1.0
    # by hand, weights (i − j)²: observed Σ w·O = 4 × 1 = 4; expected E_ij = 1/4 for AI scores
    # i ∈ 1..4 and trainer scores j ∈ 2..5, Σ (i − j)² over those 16 cells = 30 + 14 + 6 + 6 = 56,
    # so Σ w·E = 14 and QWK = 1 − 4/14 = 5/7
    assert shifted["qwk"] == round(5 / 7, 4)
    # two points apart: not adjacent
    assert agreement([(1, 3), (3, 3)]) | {"qwk": None} == {
        "n": 2,
        "qwk": None,
        "exact": 0.5,
        "adjacent": 0.5,
    }


def test_calibration_learns_a_systematic_trainer_correction_and_helps_on_held_out_reviews(
    session, lecture
):
    school = make_school(session)
    trainer = trainer_for(session, school)
    for i in range(12):
        teacher = make_teacher(session, school=school)
        _, d = submit_record(
            session,
            teacher_id=teacher.id,
            kind=RecordKind.TRANSCRIPT,
            data=lecture,
            filename="x.txt",
            title=f"课{i}",
        )
        # trainers consistently judge feedback one point lower than the rules do
        ai = d.scores["反馈评价"].score
        review_diagnosis(
            session,
            diagnosis_id=d.id,
            reviewer=trainer,
            decision=ReviewDecision.EDIT,
            scores={"反馈评价": max(1, ai - 1)},
        )
    session.commit()
    pairs = review_pairs(session)
    assert agreement_by_dimension(pairs)["反馈评价"]["exact"] == 0.0
    mapping = fit_calibration(pairs)
    ai = pairs[[p[0] for p in pairs].index("反馈评价")][1]
    assert mapping["反馈评价"][ai] == max(1, ai - 1)
    cv = cross_validated(pairs)
    assert cv["after"]["反馈评价"]["exact"] > cv["before"]["反馈评价"]["exact"]
    assert (
        cv["after"]["提问质量"]["exact"] == cv["before"]["提问质量"]["exact"] == 1.0
    )  # untouched dimensions stay
