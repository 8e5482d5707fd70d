"""Diagnoses stored before the draft was typed (version 1, no version tag) still load, and
nothing is lost on the way: each column round-trips to exactly the JSON it was.

The fixture (data/stored_drafts_v1.json) holds the demo's transcripts and lesson plan with
their reviews (accepted, edited with a trainer's suggestion, rejected, contested) and an
untimed transcript scored without the coder and with a calibration, as the untyped code
stored them. The pages and the API that show them: tests/web/test_practice.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yanxiu.practice.draft import (
    DRAFT_VERSION,
    PlanAnalytics,
    Report,
    TranscriptAnalytics,
    dump_part,
    dump_review_scores,
    dump_scores,
    load_analytics,
    load_report,
    load_review_report,
    load_review_scores,
    load_scores,
)

STORED = json.loads((Path(__file__).parent / "data" / "stored_drafts_v1.json").read_text("utf-8"))
RECORDS = STORED["records"]


def untagged(stored: dict[str, object]) -> dict[str, object]:
    assert stored.pop("version") == DRAFT_VERSION
    return stored


@pytest.mark.parametrize("stored", RECORDS, ids=[r["title"][:12] for r in RECORDS])
def test_a_version_1_diagnosis_loads_typed_and_writes_back_what_it_was(stored):
    draft = stored["diagnosis"]
    scores = load_scores(draft["scores"])
    analytics = load_analytics(draft["analytics"])
    report = load_report(draft["report"])
    assert isinstance(report, Report) and report.ai_generated and report.summary
    expected = TranscriptAnalytics if stored["kind"] == "transcript" else PlanAnalytics
    assert isinstance(analytics, expected)
    for dim, score in scores.items():
        assert score.dimension == dim and 1 <= score.score <= 5 and score.norm
        assert all(e.line is not None or e.section for e in score.evidence)
    assert dump_scores(scores) == {"version": DRAFT_VERSION, "dimensions": draft["scores"]}
    assert untagged(dump_part(analytics)) == draft["analytics"]
    assert untagged(dump_part(report)) == draft["report"]
    # and version 2, as now written, loads to the same models
    assert load_scores(dump_scores(scores)) == scores
    assert load_analytics(dump_part(analytics)) == analytics
    assert load_report(dump_part(report)) == report


@pytest.mark.parametrize("stored", RECORDS, ids=[r["title"][:12] for r in RECORDS])
def test_a_version_1_review_loads_typed_and_writes_back_what_it_was(stored):
    for review in stored["reviews"]:
        scores = load_review_scores(review["scores"])
        assert dump_review_scores(scores) == {
            "version": DRAFT_VERSION,
            "dimensions": review["scores"],
        }
        report = load_review_report(review["report"])
        if review["decision"] in ("reject", "contest"):
            assert report is None and dump_part(report) == {}
        else:
            assert report is not None and report.reviewed
            assert untagged(dump_part(report)) == review["report"]
            assert load_review_report(dump_part(report)) == report


def test_the_fixture_covers_what_a_draft_can_hold():
    """The shapes the loaders must know: every decision, both kinds, a calibrated score, a
    trainer's suggestion, resources, DialogID moves and their absence, estimated times."""
    decisions = {r["decision"] for s in RECORDS for r in s["reviews"]}
    assert decisions == {"accept", "edit", "reject", "contest"}
    assert {s["kind"] for s in RECORDS} == {"transcript", "lesson_plan"}
    drafts = [s["diagnosis"] for s in RECORDS]
    assert any(v["raw_score"] is not None for d in drafts for v in d["scores"].values())
    assert any(r["report"].get("resources") for s in RECORDS for r in s["reviews"])
    assert any(
        x.get("by_trainer") for s in RECORDS for r in s["reviews"]
        for x in r["report"].get("suggestions", [])
    )  # fmt: skip
    moves = [d["analytics"]["moves"]["available"] for d in drafts if "moves" in d["analytics"]]
    assert True in moves and False in moves
    assert any("没有时间戳" in n for d in drafts for n in d["analytics"].get("notes", []))


def test_partial_json_fills_in_the_defaults_and_keeps_its_shape():
    """Plain JSON with some fields only (as tests write it) loads with defaults for the rest
    and is written back with the fields it had."""
    report = load_report({"weaknesses": [{"competency": "PRC-QUES", "severity": 0.7}]})
    (weak,) = report.weaknesses
    assert (weak.competency, weak.severity, weak.dimension) == ("PRC-QUES", 0.7, "")
    assert dump_part(report) == {
        "version": DRAFT_VERSION,
        "weaknesses": [{"competency": "PRC-QUES", "severity": 0.7}],
    }
    assert load_review_report({}) is None and load_analytics({}) == TranscriptAnalytics()
