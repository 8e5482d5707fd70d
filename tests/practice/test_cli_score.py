"""`yanxiu score`, `yanxiu bench score` and `yanxiu train rubric` from the command line."""

import json

from typer.testing import CliRunner

from yanxiu.cli import app as cli
from yanxiu.config import PROJECT_ROOT, get_settings
from yanxiu.practice.bench import bench_score, long_transcript
from yanxiu.practice.parse import parse_transcript


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
    bad = tmp_path / "bad.txt"
    bad.write_text("这一行没有说话人\n", encoding="utf-8")
    refused = run(db, tmp_path, "score", str(bad))
    assert refused.exit_code == 2 and "第1行" in refused.output


def test_train_rubric_needs_reviews(db, tmp_path):
    assert run(db, tmp_path, "init").exit_code == 0
    result = run(db, tmp_path, "train", "rubric")
    assert result.exit_code == 2 and "need at least 10" in result.output


def test_score_bench_builds_a_45_minute_600_utterance_lesson(content):
    utts = parse_transcript(long_transcript(PROJECT_ROOT / "content", 600).encode(), "l.txt")
    assert len(utts) == 600 and 44 * 60 <= utts[-1].start_s <= 45 * 60
    result = bench_score(PROJECT_ROOT / "content", utterances=120, repeats=1)
    assert result["utterances"] == 120 and result["parse_and_score_s"] > result["parse_s"] > 0
