"""Every path that can credit hours needs the evidence the policy asks for; a policy change
never rewrites credited history; concurrent completions credit once; answers stay hidden."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import make_teacher
from tests.learning.helpers import lesson_course, right_answers
from tests.learning.test_study import play, units
from yanxiu.catalog.lessons import record_version
from yanxiu.credits.models import CreditRecord
from yanxiu.learning.completion import complete_teacher_course
from yanxiu.learning.course import enrol_teacher
from yanxiu.learning.quiz import attempt_paper, start_attempt, submit_attempt
from yanxiu.learning.study import open_unit, reach_end

PACKAGE = Path(__file__).resolve().parents[2] / "platform" / "yanxiu"
# Modules allowed to call credit_hours without a decision, and why.
NO_DECISION = {
    "credits/ledger.py": "replace_record corrects a record that was already credited",
    "seed/demo.py": "the demo's history, 'migrated' from before study was recorded",
}


def credit_calls() -> list[tuple[str, int, bool]]:
    """(module, line, passes decision=) of every call of credit_hours / complete_course."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("credit_hours", "complete_course"):
                    passes = any(k.arg == "decision" for k in node.keywords)
                    found.append((str(path.relative_to(PACKAGE)), node.lineno, passes))
    return found


def test_every_crediting_call_passes_the_rules_decision():
    calls = credit_calls()
    assert len(calls) >= 5  # attendance (2), completion, ledger replace, demo
    missing = [f"{m}:{line}" for m, line, passes in calls if not passes and m not in NO_DECISION]
    assert not missing, f"credit without a crediting-rules decision: {missing}"


def test_a_decision_of_none_is_not_used_outside_the_seed():
    for path in PACKAGE.rglob("*.py"):
        if str(path.relative_to(PACKAGE)) in NO_DECISION:
            continue
        assert "decision=None" not in path.read_text(encoding="utf-8"), path


def test_a_policy_change_keeps_what_was_credited_and_under_which_version(session, policy):
    t, course = make_teacher(session), lesson_course(session, hours=4, audio_seconds=20)
    text, audio = units(session, course)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    open_unit(session, teacher_id=t.id, code=course.code, unit_id=text.id)
    reach_end(session, policy=policy, teacher_id=t.id, code=course.code, unit_id=text.id)
    play(session, policy, t, course, audio, upto=20)
    a = start_attempt(session, policy=policy, teacher_id=t.id, code=course.code)
    submit_attempt(session, policy=policy, teacher_id=t.id, code=course.code, attempt_id=a.id,
                   answers=right_answers(session, a.paper))  # fmt: skip
    done = complete_teacher_course(session, policy=policy, teacher_id=t.id, code=course.code)
    assert done.record.policy_version == "GX-2024.1" and done.record.evidence["course_version"] == 1
    # the province raises the pass mark and the course is revised with more hours
    stricter = policy.model_copy(deep=True, update={"version": "2027.1"})
    stricter.crediting.quiz.pass_mark = 100
    course.hours = 10
    record_version(session, course, origin="authoring", note="修订：增加案例")
    again = complete_teacher_course(session, policy=stricter, teacher_id=t.id, code=course.code)
    session.expire_all()
    record = session.scalar(select(CreditRecord))
    assert not again.credited and record.hours == 4 and record.policy_version == "GX-2024.1"
    assert record.evidence["course_version"] == 1 and course.version == 2


def test_the_paper_never_carries_the_answers(session, policy):
    t, course = make_teacher(session), lesson_course(session)
    enrol_teacher(session, teacher_id=t.id, code=course.code)
    a = start_attempt(session, policy=policy, teacher_id=t.id, code=course.code)
    paper = attempt_paper(session, policy=policy, teacher_id=t.id, code=course.code,
                          attempt_id=a.id)  # fmt: skip
    shown = repr([q.__dict__ for q in paper.questions])
    assert "answer" not in shown and "正确答案" in shown  # the option is shown, not marked


@pytest.mark.slow
def test_concurrent_completions_credit_once(db, policy):
    factory = db.factory
    with factory() as s:
        t, course = make_teacher(s), lesson_course(s, "SD-960", hours=4, audio_seconds=20)
        text, audio = units(s, course)
        enrol_teacher(s, teacher_id=t.id, code=course.code)
        open_unit(s, teacher_id=t.id, code=course.code, unit_id=text.id)
        reach_end(s, policy=policy, teacher_id=t.id, code=course.code, unit_id=text.id)
        play(s, policy, t, course, audio, upto=20)
        a = start_attempt(s, policy=policy, teacher_id=t.id, code=course.code)
        submit_attempt(s, policy=policy, teacher_id=t.id, code=course.code, attempt_id=a.id,
                       answers=right_answers(s, a.paper))  # fmt: skip
        s.commit()
        teacher_id, code = t.id, course.code
    results, errors = [], []
    barrier = threading.Barrier(8)

    def complete() -> None:
        with factory() as s:
            barrier.wait()
            try:
                done = complete_teacher_course(s, policy=policy, teacher_id=teacher_id, code=code)
                s.commit()
                results.append(done.credited)
            except Exception as exc:  # noqa: BLE001 - any failure is what the test reports
                s.rollback()
                errors.append(repr(exc))

    threads = [threading.Thread(target=complete) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not [e for e in errors if "database is locked" not in e and "409" not in e], errors
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(CreditRecord)) == 1
    assert results.count(True) == 1
