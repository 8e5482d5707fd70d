"""FIAS silence (code 10) from start-only timestamps: the gap after a turn's estimated speech,
the same gap that wait time measures (hand-computed examples)."""

from __future__ import annotations

import pytest

from yanxiu.practice.diagnosis import analyse_transcript
from yanxiu.practice.lesson_metrics import expand_fias, speech_spans, timeline
from yanxiu.practice.parse import parse_transcript

# 师 9 characters → 2.25 s, then 12.75 s until the answer; 生 7 characters → 1.75 s, then 3.25 s
START_ONLY = """[00:00:00] 师：同学们想一想为什么
[00:00:15] 生：因为两直线平行。
[00:00:20] 师：很好。
[00:00:30] 众生：（独立练习）
[00:01:30] 师：停笔。
"""


def utts(text: str, name: str = "l.txt"):
    return parse_transcript(text.encode("utf-8"), name)


def test_spoken_turns_end_with_their_estimated_speech_and_the_rest_is_silence():
    u = utts(START_ONLY)
    spans, guessed = speech_spans(u)
    assert guessed
    # the stage direction keeps running to the next start: the class works, it is not silent
    assert spans == [(0, 2.25), (15, 16.75), (20, 21), (30, 90), (90, 91)]
    assert timeline(u)[0][0] == (0, 15)  # S-T and talk time still run each turn to the next
    codes = expand_fias([(4, 0, 2.25), (8, 15, 16.75), (2, 20, 21), (8, 30, 90), (6, 90, 91)])
    # 12.75 s → four 10s; 3.25 s → one; 9 s → three; none between the exercise and 停笔
    assert codes == [4, 10, 10, 10, 10, 8, 10, 2, 10, 10, 10, *[8] * 20, 6]


def test_analytics_count_that_silence_and_say_it_was_estimated():
    analytics, _ = analyse_transcript(utts(START_ONLY), coder=None)
    assert analytics.timestamps is True
    # 8 codes of silence, and the 20 of the exercise: seatwork is FIAS 10, not student talk
    assert analytics.fias.ratios["silence"] == pytest.approx(28 / analytics.fias.n)
    assert analytics.wait_times.items[0].seconds == pytest.approx(12.75)
    assert any("只有开始时间" in n and "沉默" in n for n in analytics.notes)


def test_stated_end_times_are_used_as_they_are_and_need_no_note():
    srt = (
        "1\n00:00:00,000 --> 00:00:02,000\n师：同学们想一想为什么\n\n"
        "2\n00:00:15,000 --> 00:00:17,000\n生：因为两直线平行。\n"
    )
    u = utts(srt, "l.srt")
    assert speech_spans(u) == ([(0, 2), (15, 17)], False)
    analytics, _ = analyse_transcript(u, coder=None)
    assert "notes" not in analytics.model_fields_set
    assert analytics.fias.ratios["silence"] == pytest.approx(4 / analytics.fias.n)


def test_untimed_transcripts_have_no_silence():
    u = utts("师：同学们想一想为什么\n生：因为两直线平行。\n")
    spans, guessed = speech_spans(u)
    assert guessed and spans == timeline(u)[0]
    analytics, _ = analyse_transcript(u, coder=None)
    assert analytics.fias.ratios["silence"] == 0
