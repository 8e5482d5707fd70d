"""`yanxiu eval rubric`: the rubric against a 教研员's labels on a set of lessons (issue 20).

The set is a directory with ``labels.yaml`` (each lesson's file, kind, subject, stage, style,
split, expected mode and rubric scores, words its evidence should contain, and a speaker map
where the file names speakers by ASR labels or pinyin) and optionally ``parse_truth.yaml``
(the turns a correct parse yields). For the chosen split it parses and scores every file the
way ``yanxiu score`` does (no calibration) and reports, per dimension, exact agreement,
agreement within ±1 and quadratic weighted kappa; the S-T mode accuracy; how often the
expected evidence is cited; parse problems (a file refused, a speaker left unmapped, or a turn
count that differs from the truth: a silent mis-parse); and a separation check: the mean score
of each style (dialogic, lecture, practice) per dimension beside the labels' means.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from yanxiu.practice.agreement import agreement
from yanxiu.practice.diagnosis import diagnose_lesson_plan, diagnose_transcript
from yanxiu.practice.draft import DiagnosisDraft, TranscriptAnalytics
from yanxiu.practice.parse import (
    SpeakerMappingNeeded,
    TranscriptError,
    parse_lesson_plan,
    read_transcript,
)
from yanxiu.practice.talk_codes import CoderChoice

SEPARATED_STYLES = ("dialogic", "lecture", "practice")


def load_labels(data_dir: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    labels = yaml.safe_load((data_dir / "labels.yaml").read_text(encoding="utf-8"))["lessons"]
    truth_file = data_dir / "parse_truth.yaml"
    truth = yaml.safe_load(truth_file.read_text(encoding="utf-8")) if truth_file.is_file() else {}
    return labels, truth or {}


def score_lesson(
    entry: dict[str, Any], data_dir: Path, coder: CoderChoice = "default"
) -> tuple[DiagnosisDraft | None, dict[str, Any]]:
    """The draft for one labelled lesson and what the parser did (problem, warnings, turns)."""
    path = data_dir / "files" / entry["file"]
    data = path.read_bytes()
    info: dict[str, Any] = {"file": entry["file"], "problem": None, "warnings": []}
    try:
        if entry["kind"] == "lesson_plan":
            plan = parse_lesson_plan(data, path.name)
            info["structure_guessed"] = plan.guessed
            draft = diagnose_lesson_plan(
                plan, stage=entry.get("stage", ""), subject=entry.get("subject", "")
            )
            return draft, info
        parsed = read_transcript(data, path.name, entry.get("speaker_map"))
    except SpeakerMappingNeeded as need:
        info["problem"] = f"speakers to map: {', '.join(s.label for s in need.speakers)}"
        return None, info
    except TranscriptError as err:
        info["problem"] = f"refused: {err}"
        return None, info
    us = parsed.utterances
    info["warnings"] = parsed.warnings
    info["turns"] = len(us)
    info["student_turns"] = sum(u.speaker_role != "teacher" for u in us)
    draft = diagnose_transcript(
        us, stage=entry.get("stage", ""), subject=entry.get("subject", ""), coder=coder,
        notes=parsed.warnings,
    )  # fmt: skip
    return draft, info


def _cited(draft: DiagnosisDraft, dimension: str, words: list[str]) -> bool:
    score = draft.scores.get(dimension)
    if score is None:
        return False
    texts = [f"{e.text or ''}{e.quote or ''}{e.sentence or ''}" for e in score.evidence[:4]]
    return any(w in t for w in words for t in texts)


def evaluate_rubric(
    data_dir: Path, split: str | None = None, coder: CoderChoice = "default"
) -> dict[str, Any]:
    """The report described in the module docstring (JSON-ready)."""
    labels, truth = load_labels(data_dir)
    chosen = [e for e in labels if split in (None, "all") or e.get("split") == split]
    pairs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    by_style: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    modes: list[tuple[str, str]] = []
    evidence_hits: list[bool] = []
    parse_rows: list[dict[str, Any]] = []
    lessons: list[dict[str, Any]] = []
    for entry in chosen:
        draft, info = score_lesson(entry, data_dir, coder)
        expected = truth.get(entry["file"])
        silent = bool(
            draft is not None and expected
            and (info.get("turns") != expected["turns"] or info.get("student_turns") != expected["student_turns"])
        )  # fmt: skip
        info["silent_misparse"] = silent
        parse_rows.append(info)
        if draft is None:
            lessons.append({"file": entry["file"], "problem": info["problem"]})
            continue
        got = {d: s.score for d, s in draft.scores.items()}
        row: dict[str, Any] = {
            "file": entry["file"],
            "style": entry["style"],
            "expected": entry["scores"],
            "got": got,
        }
        for dim, want in entry["scores"].items():
            pairs[dim].append((got.get(dim, 0), want))
            by_style[entry["style"]][dim].append((got.get(dim, 0), want))
        if isinstance(draft.analytics, TranscriptAnalytics) and entry.get("mode"):
            modes.append((draft.analytics.st.mode, entry["mode"]))
            row["mode"] = [draft.analytics.st.mode, entry["mode"]]
        for dim, words in (entry.get("evidence") or {}).items():
            evidence_hits.append(_cited(draft, dim, words))
        lessons.append(row)
    dims = {dim: agreement(p) for dim, p in pairs.items()}
    everything = [p for ps in pairs.values() for p in ps]
    separation = {
        dim: {
            style: {
                "got": _mean([g for g, _ in by_style[style][dim]]),
                "expected": _mean([w for _, w in by_style[style][dim]]),
            }
            for style in SEPARATED_STYLES
            if by_style[style][dim]
        }
        for dim in pairs
        if any(by_style[s][dim] for s in SEPARATED_STYLES)
    }
    return {
        "split": split or "all",
        "lessons": len(chosen),
        "scored": sum("got" in r for r in lessons),
        "dimensions": dims,
        "overall": agreement(everything),
        "mode_accuracy": _mean([float(a == b) for a, b in modes]),
        "evidence_cited": _mean([float(h) for h in evidence_hits]),
        "separation": separation,
        "separation_ok": _separation_ok(separation),
        "parse": {
            "refused_or_unmapped": [r for r in parse_rows if r["problem"]],
            "silent_misparses": [r["file"] for r in parse_rows if r["silent_misparse"]],
        },
        "per_lesson": lessons,
    }


def _mean(values: list[float] | list[int]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _separation_ok(separation: dict[str, dict[str, dict[str, float | None]]]) -> dict[str, bool]:
    """Per dimension: do the styles come out in the labels' order (ties in the labels aside)?"""
    out = {}
    for dim, styles in separation.items():
        ok = True
        for a in styles:
            for b in styles:
                ea, eb = styles[a]["expected"], styles[b]["expected"]
                ga, gb = styles[a]["got"], styles[b]["got"]
                if None in (ea, eb, ga, gb):
                    continue
                if ea - eb >= 1 and not ga > gb:  # type: ignore[operator]
                    ok = False
        out[dim] = ok
    return out


def format_rubric_eval(report: dict[str, Any]) -> str:
    lines = [
        f"split {report['split']}: {report['scored']}/{report['lessons']} lessons scored; "
        f"S-T mode accuracy {_pct(report['mode_accuracy'])}; expected evidence cited {_pct(report['evidence_cited'])}",
        f"{'dimension':<8} {'n':>3} {'exact':>6} {'±1':>6} {'QWK':>6}  separation (dialogic/lecture/practice: got vs expected)",
    ]
    for dim, a in [*report["dimensions"].items(), ("全部", report["overall"])]:
        sep = report["separation"].get(dim, {})
        seps = "  ".join(f"{s[:4]} {v['got']}/{v['expected']}" for s, v in sep.items())
        ok = (
            ""
            if dim not in report["separation_ok"]
            else (" ✓" if report["separation_ok"][dim] else " ✗")
        )
        qwk = "—" if a["qwk"] is None else f"{a['qwk']:.2f}"
        lines.append(
            f"{dim:<8} {a['n']:>3} {_pct(a['exact']):>6} {_pct(a['adjacent']):>6} {qwk:>6}  {seps}{ok}"
        )
    problems = report["parse"]["refused_or_unmapped"]
    lines.append(
        f"parse: {len(problems)} refused or unmapped, silent mis-parses: {report['parse']['silent_misparses'] or 'none'}"
    )
    lines += [f"  {p['file']}: {p['problem']}" for p in problems]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"
