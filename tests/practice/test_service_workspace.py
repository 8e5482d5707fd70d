"""What the workspace builds on: queue entries, one decision per queue visit, re-scoring,
resources after an edit, the tagged-resource fallback, and the chart data."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.audit.models import AuditEntry
from yanxiu.catalog.service import sync_competencies, sync_courses
from yanxiu.practice.charts import (
    Segment,
    evidence_index,
    fias_heatmap,
    heat_level,
    plan_sections,
    radar_spec,
    st_curve_points,
    st_mode_spec,
    transcript_analytics,
)
from yanxiu.practice.draft import (
    PlanAnalytics,
    Report,
    STSummary,
    TranscriptAnalytics,
    load_scores,
)
from yanxiu.practice.models import DiagnosisStatus, RecordKind, ReviewDecision
from yanxiu.practice.review import (
    contest_diagnosis,
    pending_in_scope,
    plan_review,
    queue_entries,
    review_diagnosis,
    review_from_queue,
    review_history,
)
from yanxiu.practice.service import (
    ReviewError,
    rescore_diagnosis,
    reviewed_view,
    status_label,
    stored_utterances,
    submit_record,
    tagged_resource_finder,
    teacher_records,
)


@pytest.fixture
def lecture(content):
    return next(c for c in content.cases if c.id == "CASE-001").body.encode("utf-8")


@pytest.fixture
def people(session):
    school = make_school(session)
    teacher = make_teacher(session, school=school)
    trainer = create_user(session, username="trainer.ws", display_name="韦老师", role=Role.TRAINER,
                          password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
    return teacher, trainer


def _submit(session, teacher, data, **kw):
    return submit_record(session, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT, data=data,
                         filename="实录.txt", title="行程问题", **kw)  # fmt: skip


def test_queue_entries_flag_contests_and_a_decision_is_taken_once_per_visit(
    session, people, lecture
):
    teacher, trainer = people
    record, diagnosis = _submit(session, teacher, lecture)
    (entry,) = queue_entries(session, reviewer=trainer)
    assert entry.record.id == record.id and not entry.contested
    review_from_queue(
        session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.ACCEPT
    )
    with pytest.raises(ReviewError, match="不在审核队列"):
        review_from_queue(
            session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.ACCEPT
        )
    contest_diagnosis(session, diagnosis_id=diagnosis.id, teacher=teacher, comment="实录不完整")
    (entry,) = queue_entries(session, reviewer=trainer)
    assert entry.contested and entry.contest_reason == "实录不完整"
    review_from_queue(
        session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.ACCEPT
    )
    history = review_history(session, diagnosis.id)
    assert [h.decision for h in history] == ["accept", "contest", "accept"]
    assert history[1].decision_label == "教师申诉" and history[0].by == "韦老师"
    (row,) = teacher_records(session, teacher.id)
    assert row[1].status == DiagnosisStatus.ACCEPTED and status_label(row[1].status) == "已审核"


def test_rescore_redrafts_pending_only_and_is_audited(session, people, lecture):
    teacher, trainer = people
    record, diagnosis = _submit(session, teacher, lecture)
    assert [u.text for u in stored_utterances(record)][0].startswith("好，上节课")
    assert pending_in_scope(session, trainer) == [diagnosis.id]
    calibration = {"反馈评价": {diagnosis.scores["反馈评价"].score: 1}}
    changed = rescore_diagnosis(session, diagnosis_id=diagnosis.id, actor_id=trainer.id,
                                calibration=calibration)  # fmt: skip
    assert changed and diagnosis.scores["反馈评价"].score == 1
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "diagnosis.rescore"))
    assert entry.detail["scores_after"]["反馈评价"] == 1
    review_diagnosis(
        session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.ACCEPT
    )
    assert pending_in_scope(session, trainer) == []
    with pytest.raises(ReviewError, match="尚未审核"):
        rescore_diagnosis(session, diagnosis_id=diagnosis.id, actor_id=trainer.id)


def test_an_edit_that_makes_a_new_weakness_brings_resources_for_it(
    session, people, lecture, content
):
    sync_competencies(session, content.competencies)
    sync_courses(session, content.resources, origin="test")
    teacher, trainer = people
    finder = tagged_resource_finder(session, subject="数学")
    _, diagnosis = _submit(session, teacher, lecture, stage="初中", find_resources=finder)
    # the dimension the AI scored best (a lecture's 思维深度 is now 1 already, issue 20)
    others = [
        d for d in diagnosis.scores.values() if d.dimension not in ("反馈评价", "教学目标达成")
    ]
    best = max(others, key=lambda d: (d.score, d.confidence)).dimension
    assert diagnosis.scores[best].score >= 2
    review_diagnosis(session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.EDIT,
                     scores={best: 1, "反馈评价": 4}, find_resources=finder)  # fmt: skip
    report = review_history(session, diagnosis.id)[0]
    assert report.decision == "edit"
    view = reviewed_view(session, diagnosis)
    dims = {w.dimension for w in view.report.weaknesses}
    assert best in dims
    assert {r.for_dimension for r in view.report.resources} <= dims
    assert any(r.for_dimension == best for r in view.report.resources)
    # the suggestions follow the reviewed weaknesses too: the new one gets its own, written
    # from this lesson's measures, and the one the trainer raised to 4 loses the AI's
    suggested = {s.dimension: s.text for s in view.report.suggestions}
    assert set(suggested) == dims
    from yanxiu.practice.diagnosis import suggestion_text

    assert suggested[best] == suggestion_text(best, diagnosis.scores[best].measure)
    assert "反馈评价" not in suggested


def test_an_edit_keeps_what_the_trainer_wrote_and_the_drafted_suggestions_of_weak_dimensions(
    session, people, lecture
):
    teacher, trainer = people
    _, diagnosis = _submit(session, teacher, lecture, stage="初中")
    drafted = diagnosis.report.suggestions
    assert len(drafted) >= 2
    first, second = drafted[0].dimension, drafted[1].dimension
    # the trainer rewrites the first suggestion, raises the second dimension to 5 and adds a note
    texts = [d.text for d in drafted]
    texts[0] = "先从每个环节一个追问做起。"
    decision, scores, report = plan_review(diagnosis, "accept", {second: 5}, None, texts,
                                           extra="下次课请同组老师观课。")  # fmt: skip
    assert decision == ReviewDecision.EDIT
    review_diagnosis(session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=decision,
                     scores=scores, report=report)  # fmt: skip
    got = [s.model_dump() for s in reviewed_view(session, diagnosis).report.suggestions]
    assert {"dimension": first, "text": "先从每个环节一个追问做起。"} in got
    assert all(s["dimension"] != second for s in got)
    assert got[-1] == {
        "dimension": "培训者补充",
        "text": "下次课请同组老师观课。",
        "by_trainer": True,
    }
    # the other weak dimensions keep the AI's suggestion as drafted
    kept = [s.model_dump() for s in drafted[2:] if diagnosis.scores[s.dimension].score <= 2]
    assert kept and all(s in got for s in kept)


def test_an_edit_to_all_threes_names_the_weakest_in_summary_and_weaknesses_alike(
    session, people, lecture
):
    teacher, trainer = people
    _, diagnosis = _submit(session, teacher, lecture, stage="初中")
    threes = dict.fromkeys(diagnosis.scores, 3)
    decision, scores, report = plan_review(diagnosis, "edit", threes, None, None)
    review_diagnosis(session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=decision,
                     scores=scores, report=report)  # fmt: skip
    final = reviewed_view(session, diagnosis).report
    (weak,) = final.weaknesses  # nothing at 2 or below: the least certain 3 is named
    assert weak.text == f"{weak.dimension}相对薄弱（3 分，培训者审定）"
    assert final.summary.endswith(f"优先改进：{weak.dimension}。")
    assert [s.dimension for s in final.suggestions] == [weak.dimension]


def test_a_stored_plan_rescores_with_the_same_evidence_lines(session, people):
    from yanxiu.practice.rubric import score_lesson_plan
    from yanxiu.practice.service import stored_plan

    teacher, _ = people
    plan = "《背影》教学设计\n一、教学目标\n体会父亲背影中的深沉父爱。\n二、教学过程\n\n1. 导入。\n2. 小组讨论：父亲爬月台的动作描写有什么作用？\n"
    record, diagnosis = submit_record(session, teacher_id=teacher.id, kind=RecordKind.LESSON_PLAN,
                                      data=plan.encode(), filename="教案.txt", title="背影")  # fmt: skip
    session.commit()
    session.expire_all()  # read back from the database (JSON), as a re-score does
    again = {d.dimension: d.evidence for d in score_lesson_plan(stored_plan(record, diagnosis))}
    assert again == {dim: v.evidence for dim, v in diagnosis.scores.items()}
    assert {e.line for e in again["教学过程"]} <= {6, 7} and again["教学目标"][0].line == 3


def test_tagged_finder_respects_stage_subject_and_competency(session, content):
    sync_competencies(session, content.competencies)
    sync_courses(session, content.resources, origin="test")
    by_code = {r.id: r for r in content.resources}
    found = tagged_resource_finder(session, subject="数学")("PRC-LEARNER", "学情分析", "初中")
    assert found and len(found) <= 3
    for hit in found:
        course = by_code[hit.code]
        assert "PRC-LEARNER" in course.competencies and "初中" in course.stages
        assert not course.subjects or {"数学", "通用"} & set(course.subjects)


def test_chart_data_from_metrics():
    assert st_curve_points("TTS") == [
        {"x": 0, "y": 0},
        {"x": 0, "y": 1},
        {"x": 0, "y": 2},
        {"x": 1, "y": 2},
    ]
    assert heat_level(0, 10) == 0 and heat_level(10, 10) == 5 and heat_level(1, 100) == 1
    matrix = [[0] * 10 for _ in range(10)]
    matrix[3][3], matrix[3][7], matrix[0][1], matrix[5][6] = 9, 4, 1, 2
    heat = fias_heatmap(matrix)
    assert heat.total == 16 and heat.max == 9 and heat.col_totals[7] == 4
    row4 = heat.rows[3]
    assert row4.label == "提问" and row4.total == 13 and row4.cells[3].level == 5
    assert heat.rows[0].cells[1].region == "integrate"
    assert heat.rows[5].cells[6].region == "defect"
    assert heat.rows[3].cells[7].region == "content"

    st = STSummary.model_validate({"rt": 0.8, "ch": 0.1, "mode": "讲授型", "chart": {"regions": [
        {"mode": "讲授型", "polygon": [[0.7, 0], [1, 0], [0.7, 0.6]]}]}})  # fmt: skip
    spec = st_mode_spec(st)
    region, point = spec["data"]["datasets"]
    assert region["data"][0] == region["data"][-1]  # the polygon is closed
    assert point["data"] == [{"x": 0.8, "y": 0.1}] and "讲授型" in point["label"]

    radar = radar_spec({"提问质量": 2, "学生参与": 4}, compare={"提问质量": 3})
    assert radar["data"]["labels"] == ["提问质量", "学生参与"]
    assert [d["data"] for d in radar["data"]["datasets"]] == [[2, 4], [3, 0]]

    panel = transcript_analytics(TranscriptAnalytics())  # empty analytics still render
    assert panel.st.curve_spec["type"] == "scatter" and len(panel.fias.heatmap.rows) == 10


def test_evidence_and_plan_sections_are_marked():
    scores = load_scores(
        {"提问质量": {"evidence": [{"utterance": 3, "line": 4, "note": "封闭·记忆"}]}}
    )
    report = Report.model_validate(
        {
            "weaknesses": [
                {"dimension": "学生参与", "evidence": [{"utterance": 3}, {"utterance": 5}]}
            ]
        }
    )
    assert evidence_index(scores, report) == {
        3: ["提问质量：封闭·记忆", "学生参与"],
        5: ["学生参与"],
    }

    sections = {"教学目标": "1. 能说出乘法法则。\n2. 培养兴趣。"}
    analytics = PlanAnalytics.model_validate(
        {"headings": [{"line": 1, "heading": "教学目标", "section": "教学目标"}]}
    )
    plan_scores = load_scores({
        "教学目标": {"evidence": [{"section": "教学目标", "line": 1, "quote": "能说出乘法法则"}]},
        "学情分析": {
            "evidence": [{"section": "学情分析", "line": None, "quote": "（未检测到该部分）"}]
        },
    })  # fmt: skip
    goal, learner = plan_sections(sections, analytics, plan_scores)
    assert goal.present and goal.line == 1
    assert [s for s in goal.segments if s.mark] == [Segment("能说出乘法法则", mark=True)]
    assert "".join(s.text for s in goal.segments) == sections["教学目标"]
    assert not learner.present and learner.segments == []


def test_refusals_are_domain_errors_of_the_kind_that_says_why(session, people, lecture):
    from yanxiu.errors import Conflict, Invalid, NotAllowed, NotFound

    teacher, trainer = people
    _, diagnosis = _submit(session, teacher, lecture)
    with pytest.raises(ReviewError, match="理由") as refused:
        review_diagnosis(session, diagnosis_id=diagnosis.id, reviewer=trainer,
                         decision=ReviewDecision.REJECT)  # fmt: skip
    assert isinstance(refused.value, Invalid)
    with pytest.raises(NotFound):
        review_diagnosis(
            session, diagnosis_id=10**6, reviewer=trainer, decision=ReviewDecision.ACCEPT
        )
    with pytest.raises(NotAllowed, match="本区域"):
        review_diagnosis(session, diagnosis_id=diagnosis.id, reviewer=teacher,
                         decision=ReviewDecision.ACCEPT)  # fmt: skip
    review_from_queue(
        session, diagnosis_id=diagnosis.id, reviewer=trainer, decision=ReviewDecision.ACCEPT
    )
    with pytest.raises(Conflict, match="不在审核队列"):
        review_from_queue(session, diagnosis_id=diagnosis.id, reviewer=trainer,
                          decision=ReviewDecision.ACCEPT)  # fmt: skip
    with pytest.raises(Invalid, match="申诉理由"):
        contest_diagnosis(session, diagnosis_id=diagnosis.id, teacher=teacher, comment=" ")


def test_an_upload_is_checked_before_it_is_parsed_and_refused_with_its_line(session, people):
    import io

    from yanxiu.errors import Invalid, TooLarge
    from yanxiu.practice.parse import MAX_BYTES
    from yanxiu.practice.upload import UploadRefused, read_upload, upload_record

    def read(kind="transcript", name="实录.txt", data=b"x", text=""):
        stream = None if name is None else io.BytesIO(data)
        return read_upload(kind, filename=name, stream=stream, text=text)

    for args, message in [({"kind": "video"}, "请选择类型"), ({"name": "实录.pdf"}, "不支持“.pdf”"),
                          ({"data": b"  \n"}, "文件是空的"), ({"name": None}, "请选择要上传的文件")]:  # fmt: skip
        with pytest.raises(UploadRefused, match=message) as refused:
            read(**args)
        assert isinstance(refused.value, Invalid) and not isinstance(refused.value, TooLarge)
    with pytest.raises(TooLarge, match="2 MB"):
        read(data=b"x" * (MAX_BYTES + 1))
    pasted = read(name=None, text="师：好。")
    assert pasted.filename == "粘贴文本.txt" and not pasted.file_field
    teacher, _ = people
    session.commit()  # a refused upload rolls the session back: nothing half-parsed is kept
    with pytest.raises(UploadRefused) as refused:
        upload_record(session, teacher_id=teacher.id, kind="transcript", title="", filename=None,
                      stream=None, text="师：好\n没有说话人\n[00:01] x", today="2026-11-20",
                      find_resources=None, calibration=None)  # fmt: skip
    assert refused.value.line == 3 and refused.value.fields == {"line": "3"}
    assert "第3行" in refused.value.message
    done = upload_record(session, teacher_id=teacher.id, kind="transcript", title="", filename=None,
                         stream=None, text="师：同学们好。\n生：老师好。\n", today="2026-11-20",
                         find_resources=None, calibration=None)  # fmt: skip
    assert done.title == "课堂实录（2026-11-20）" and done.status == "pending_review"


def test_the_review_form_keeps_what_was_typed_and_refuses_scores_out_of_range():
    from yanxiu.practice.workspace import ReviewForm

    form = ReviewForm.from_fields([
        ("action", "edit"), ("score:提问质量", " 4 "), ("score:反馈评价", "9"), ("score:学生参与", ""),
        ("suggestion", "一"), ("suggestion", "二"), ("comment", "意见" * 1500), ("other", "x"),
    ])  # fmt: skip
    dims = ["提问质量", "学生参与", "反馈评价"]
    assert form.valid_scores(dims) == {"提问质量": 4}
    assert form.invalid_scores(dims) == ["反馈评价"]
    assert form.suggestions == ["一", "二"] and len(form.comment) == 2000 and form.summary is None
