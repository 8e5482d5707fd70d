"""The crediting rules: per source, what evidence the policy file asks for."""

from __future__ import annotations

import pytest

from yanxiu.credits.models import CreditSource
from yanxiu.credits.policy import CreditPolicy
from yanxiu.credits.rules import CreditRefused, Evidence, decide


def test_online_needs_every_unit_and_the_quiz(policy: CreditPolicy) -> None:
    nothing = decide(policy, CreditSource.ONLINE, Evidence(units_total=3, units_missing=("导入",)))
    assert not nothing.allowed
    assert "「导入」" in nothing.message and "课程测验" in nothing.message
    units_only = decide(policy, CreditSource.ONLINE, Evidence(units_total=3, has_quiz=True))
    assert not units_only.allowed and len(units_only.missing) == 1
    assert f"{policy.crediting.quiz.pass_mark} 分及格" in units_only.message
    done = decide(
        policy, CreditSource.ONLINE, Evidence(units_total=3, has_quiz=True, quiz_passed=True)
    )
    assert done.allowed and done.policy_version == f"GX-{policy.version}"


def test_an_online_course_without_units_or_quiz_credits_nothing(policy: CreditPolicy) -> None:
    decision = decide(policy, CreditSource.ONLINE, Evidence())
    assert not decision.allowed
    assert "尚无在线学习单元" in decision.message and "尚未配置测验" in decision.message


def test_the_quiz_is_needed_only_where_the_policy_says_so(policy: CreditPolicy) -> None:
    lenient = policy.model_copy(deep=True)
    lenient.crediting.online.require_quiz = False
    assert decide(lenient, CreditSource.ONLINE, Evidence(units_total=2)).allowed


def test_offline_hours_come_only_from_attendance(policy: CreditPolicy) -> None:
    refused = decide(policy, CreditSource.OFFLINE, Evidence())
    assert not refused.allowed and "签到" in refused.message
    with pytest.raises(CreditRefused, match="不能自行标记完成"):
        refused.require()
    assert decide(policy, CreditSource.OFFLINE, Evidence(attendance="checkin")).allowed
    assert decide(policy, CreditSource.OFFLINE, Evidence(attendance="trainer_sheet")).allowed
    sheet_only = policy.model_copy(deep=True)
    sheet_only.crediting.offline.evidence = ["trainer_sheet"]
    assert not decide(sheet_only, CreditSource.OFFLINE, Evidence(attendance="checkin")).allowed


@pytest.mark.parametrize(
    "source", [CreditSource.SCHOOL_BASED, CreditSource.RESEARCH, CreditSource.IMPORT]
)
def test_claimed_sources_need_an_approved_claim(policy: CreditPolicy, source: CreditSource) -> None:
    assert not decide(policy, source, Evidence()).allowed
    assert "学时申报" in decide(policy, source, Evidence()).message
    assert decide(policy, source, Evidence(claim_approved=True)).allowed


def test_a_source_the_policy_does_not_count_is_refused(policy: CreditPolicy) -> None:
    strict = policy.model_copy(deep=True)
    strict.sources[CreditSource.RESEARCH].counts = False
    assert not decide(strict, CreditSource.RESEARCH, Evidence(claim_approved=True)).allowed


def test_the_ledger_refuses_a_refused_decision_and_keeps_the_policy_version(session, policy):
    import datetime as dt

    from sqlalchemy import func, select

    from tests.factories import make_teacher
    from yanxiu.credits.ledger import credit_hours
    from yanxiu.credits.models import CreditRecord

    teacher = make_teacher(session)
    args = dict(policy=policy, teacher_id=teacher.id, source=CreditSource.OFFLINE,
                category="师德师风", hours=8, earned_on=dt.date(2026, 3, 1), title="师德专题",
                idempotency_key="rules:1")  # fmt: skip
    with pytest.raises(CreditRefused):
        credit_hours(session, **args, decision=decide(policy, CreditSource.OFFLINE, Evidence()))
    assert session.scalar(select(func.count()).select_from(CreditRecord)) == 0
    ok = decide(policy, CreditSource.OFFLINE, Evidence(attendance="checkin"))
    record, created = credit_hours(session, **args, decision=ok)
    assert created and record.policy_version == "GX-2024.1"
