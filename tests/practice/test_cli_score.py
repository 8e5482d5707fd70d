"""`yanxiu score`, `yanxiu bench score` and `yanxiu train rubric` from the command line."""

import json

from typer.testing import CliRunner

from tests.factories import make_school, make_teacher, password_hash
from yanxiu.accounts.models import Role
from yanxiu.accounts.service import create_user
from yanxiu.cli import app as cli
from yanxiu.config import PROJECT_ROOT, get_settings
from yanxiu.lab.score_bench import bench_score, long_transcript
from yanxiu.practice.agreement import load_calibration
from yanxiu.practice.models import RecordKind, ReviewDecision
from yanxiu.practice.parse import parse_transcript
from yanxiu.practice.review import review_diagnosis
from yanxiu.practice.rubric import PLAN_DIMENSIONS
from yanxiu.practice.service import submit_record


def run(db, tmp_path, *args):
    env = {"YANXIU_DATABASE_URL": db.url, "YANXIU_ENV": "test", "YANXIU_EMBED_BACKEND": "lexical",
           "YANXIU_DATA_DIR": str(tmp_path / "var"), "YANXIU_MODELS_DIR": str(tmp_path / "models")}  # fmt: skip
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args), env=env)
    finally:
        get_settings.cache_clear()


def test_score_prints_the_diagnosis_and_refuses_bad_files(db, content, tmp_path):
    transcript = tmp_path / "lesson.txt"
    transcript.write_text(
        next(c for c in content.cases if c.id == "CASE-026").body, encoding="utf-8"
    )
    out = run(db, tmp_path, "score", str(transcript), "--stage", "初中")
    assert out.exit_code == 0, out.output
    assert "AI 诊断草稿" in out.output and "讲授型" in out.output and "建议·" in out.output
    body = json.loads(run(db, tmp_path, "score", str(transcript), "--json").output)
    assert body["report"]["ai_generated"] and set(body["scores"]) >= {"提问质量", "课堂互动"}
    # strengths and weaknesses are listed, each with its evidence
    listed = [f"+ {s['text']}" for s in body["report"]["strengths"]]
    listed += [f"- {w['text']}" for w in body["report"]["weaknesses"]]
    assert listed and all(line in out.output for line in listed)
    bad = tmp_path / "bad.txt"
    bad.write_text("这一行没有说话人\n", encoding="utf-8")
    refused = run(db, tmp_path, "score", str(bad))
    assert refused.exit_code == 2 and "第1行" in refused.output
    # the lesson-plan hint only where it fits (issue 20): not for a line with no speaker …
    assert "--kind lesson_plan" not in refused.output
    planlike = tmp_path / "planlike.txt"
    planlike.write_text("教学目标：能说出移项的依据。\n", encoding="utf-8")
    hinted = run(db, tmp_path, "score", str(planlike))
    assert hinted.exit_code == 2 and "--kind lesson_plan" in hinted.output  # … but for a plan


PLAN = """《解一元一次方程——移项》教学设计
一、教学目标
1. 能说出移项的依据，会用移项解形如 ax + b = cx + d 的方程。
二、学情分析
学生已掌握等式的性质，但移项时常忘记变号。
三、教学过程
1. 复习等式的性质；2. 例题示范；3. 学生板演并互评。
"""


def test_score_tells_a_lesson_plan_from_a_transcript(db, tmp_path):
    for name in ("plan.txt", "plan.md"):
        plan = tmp_path / name
        plan.write_text(PLAN, encoding="utf-8")
        body = json.loads(run(db, tmp_path, "score", str(plan), "--json").output)
        assert set(body["scores"]) == set(PLAN_DIMENSIONS)
        assert body["analytics"]["missing_sections"] == ["教学重难点", "评价设计", "作业设计"]
    # asked for explicitly, a plan is not a transcript: the first unknown label is named
    forced = run(db, tmp_path, "score", str(tmp_path / "plan.txt"), "--kind", "transcript")
    assert forced.exit_code == 2 and "第1行" in forced.output
    assert run(db, tmp_path, "score", str(plan), "--kind", "essay").exit_code == 2


def test_train_rubric_needs_reviews(db, tmp_path):
    assert run(db, tmp_path, "init").exit_code == 0
    result = run(db, tmp_path, "train", "rubric")
    assert result.exit_code == 2 and "need at least 10" in result.output


def test_train_rubric_learns_from_edits_reports_agreement_and_score_applies_it(
    db, session, content, tmp_path
):
    lecture = next(c for c in content.cases if c.id == "CASE-001").body
    school = make_school(session)
    trainer = create_user(session, username="trainer.cli", display_name="培训者", role=Role.TRAINER,
                          password_hash=password_hash(), region_id=school.county_id)  # fmt: skip
    for i in range(12):
        teacher = make_teacher(session, school=school)
        _, d = submit_record(session, teacher_id=teacher.id, kind=RecordKind.TRANSCRIPT,
                             data=lecture.encode(), filename="x.txt", title=f"课{i}")  # fmt: skip
        # trainers consistently judge feedback one point lower than the rules do
        ai = d.scores["反馈评价"].score
        review_diagnosis(session, diagnosis_id=d.id, reviewer=trainer, decision=ReviewDecision.EDIT,
                         scores={"反馈评价": ai - 1})  # fmt: skip
    session.commit()
    assert ai >= 2

    text = run(db, tmp_path, "train", "rubric")
    assert text.exit_code == 0, text.output
    row = next(line for line in text.output.splitlines() if line.startswith("反馈评价"))
    assert "0.000 → 1.000" in row  # exact agreement, held out: never, then always
    assert "1 score corrections learned" in text.output
    body = json.loads(run(db, tmp_path, "train", "rubric", "--json").output)
    learned = {d: m for d, m in body["mapping"].items() if any(int(a) != t for a, t in m.items())}
    assert learned == {"反馈评价": {str(ai): ai - 1}}  # the other dimensions map to themselves
    before, after = body["metrics"]["before"]["反馈评价"], body["metrics"]["after"]["反馈评价"]
    assert before["n"] == after["n"] == 12 and before["adjacent"] == after["adjacent"] == 1.0
    assert load_calibration(tmp_path / "models")["反馈评价"] == {ai: ai - 1}

    # what was learned is applied to new drafts, visibly (with the coder the drafts above used)
    (tmp_path / "models" / "utterances").symlink_to(PROJECT_ROOT / "models" / "utterances")
    lesson = tmp_path / "lesson.txt"
    lesson.write_text(lecture, encoding="utf-8")
    scored = json.loads(run(db, tmp_path, "score", str(lesson), "--json").output)
    assert scored["scores"]["反馈评价"]["score"] == ai - 1
    assert scored["scores"]["反馈评价"]["raw_score"] == ai


def test_score_bench_builds_a_45_minute_600_utterance_lesson(content):
    utts = parse_transcript(long_transcript(PROJECT_ROOT / "content", 600).encode(), "l.txt")
    assert len(utts) == 600 and 44 * 60 <= utts[-1].start_s <= 45 * 60
    result = bench_score(PROJECT_ROOT / "content", utterances=120, repeats=1)
    assert result["utterances"] == 120 and result["parse_and_score_s"] > result["parse_s"] > 0
