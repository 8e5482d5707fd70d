"""`yanxiu bench score`: scoring a 45-minute transcript (about 600 utterances) on one core.

The transcript is built from the content's case transcripts, re-timed end to end, so it has
the turn lengths, questions and student work time of real lessons. The baseline measured in
the same run is parsing alone (the cost every upload pays anyway), so the ratio shows what
analysis and scoring add.

Scoring includes the learned DialogID coder on every teacher turn (jieba, TF-IDF, the linear
models, the USE embedding and LightGBM). The model is loaded and warmed before timing, as the
app does at start-up; the load itself is reported separately.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path
from typing import Any

from yanxiu.content import load_content
from yanxiu.practice.diagnosis import diagnose_transcript, model_version
from yanxiu.practice.parse import parse_transcript
from yanxiu.practice.talk_codes import CoderChoice, resolve_coder

_STAMP = re.compile(r"^\[(\d\d):(\d\d):(\d\d)\]")


def long_transcript(content_dir: Path, utterances: int = 600, minutes: float = 45.0) -> str:
    """Case transcripts concatenated until ``utterances`` lines, re-timed to ``minutes``."""
    cases = [c for c in load_content(content_dir).cases if c.kind == "transcript"]
    timed: list[tuple[int, str]] = []
    offset = 0
    while len(timed) < utterances:
        for case in cases:
            last = 0
            for raw in case.body.strip().splitlines():
                m = _STAMP.match(raw.strip())
                if not m:
                    continue
                t = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
                last = t
                timed.append((offset + t, raw.strip()[10:]))
                if len(timed) >= utterances:
                    break
            offset += last + 5
            if len(timed) >= utterances:
                break
    scale = minutes * 60 / max(1, timed[-1][0])  # keep the rhythm, fit the lesson length
    lines = []
    for t, rest in timed:
        s = int(t * scale)
        lines.append(f"[{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}]{rest}")
    return "\n".join(lines)


def bench_score(
    content_dir: Path,
    *,
    utterances: int = 600,
    repeats: int = 5,
    coder: CoderChoice = "default",
) -> dict[str, Any]:
    """CPU time (one thread) to parse, and to parse and score, a long transcript."""
    text = long_transcript(content_dir, utterances).encode("utf-8")
    w0 = time.perf_counter()
    model = resolve_coder(coder)  # loaded and warmed once per process, like the app does
    load_s = time.perf_counter() - w0
    parse_only, total, wall = [], [], []
    parse_transcript(text, "lesson.txt")  # warm-up
    for _ in range(repeats):
        c0 = time.thread_time()
        utts = parse_transcript(text, "lesson.txt")
        parse_only.append(time.thread_time() - c0)
        c0, w0 = time.thread_time(), time.perf_counter()
        diagnose_transcript(parse_transcript(text, "lesson.txt"), coder=model)
        total.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    minutes = (utts[-1].start_s or 0) / 60
    median_total = statistics.median(total)
    return {
        "utterances": len(utts),
        "teacher_utterances": sum(u.speaker_role == "teacher" and not u.is_action for u in utts),
        "lesson_minutes": round(minutes, 1),
        "parse_s": round(statistics.median(parse_only), 4),
        "parse_and_score_s": round(median_total, 4),
        "parse_and_score_wall_s": round(statistics.median(wall), 4),
        "scoring_vs_parsing": round(median_total / max(statistics.median(parse_only), 1e-9), 1),
        "target_s": 2.0,
        "repeats": repeats,
        "coder": model_version(model) if model is not None else None,
        "coder_load_s": round(load_s, 2),
    }


def format_score_bench(r: dict[str, Any]) -> str:
    return (
        f"Scoring a {r['lesson_minutes']:g}-minute transcript ({r['utterances']} utterances), one thread, CPU time, "
        f"median of {r['repeats']}:\n"
        f"  parse only (baseline)   {r['parse_s'] * 1000:.0f} ms\n"
        f"  parse + analytics + rubric + diagnosis  {r['parse_and_score_s'] * 1000:.0f} ms "
        f"(×{r['scoring_vs_parsing']:g} of parsing; wall {r['parse_and_score_wall_s'] * 1000:.0f} ms; "
        f"target ≤ {r['target_s']:g} s)\n"
        + (
            f"  includes the DialogID coder on {r['teacher_utterances']} teacher turns ({r['coder']}); "
            f"loading and warming it took {r['coder_load_s']:.2f} s before timing"
            if r["coder"]
            else "  WITHOUT the DialogID coder (no model in models/utterances: rule codes only)"
        )
    )
