"""Crediting rules: may these hours be credited, and if not, what is still missing?

One place decides, for every source of hours, whether the evidence gathered is what the
province's policy file (``crediting:`` in content/policies/*.yaml) asks for:

- ``online``: every study unit completed (text read to the end, video/audio played to the
  policy's share) and, where the policy says so, the course quiz passed;
- ``offline``: attendance only — a QR check-in on the day or the trainer's attendance sheet;
  a teacher saying "I finished" is never evidence;
- ``school_based``, ``research``, ``import``: an hour claim approved by a reviewer.

The decision is pure (no database): callers gather :class:`Evidence`, call :func:`decide`,
and either credit (keeping :attr:`Decision.policy_version` on the record) or refuse with
:meth:`Decision.refusal`, whose Chinese message lists what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yanxiu.credits.models import CreditSource
from yanxiu.credits.policy import CreditPolicy
from yanxiu.errors import Conflict

CLAIM_SOURCES = (CreditSource.SCHOOL_BASED, CreditSource.RESEARCH, CreditSource.IMPORT)
ATTENDANCE_LABELS = {"checkin": "现场签到", "trainer_sheet": "培训者考勤表"}


class CreditRefused(Conflict):
    """The evidence the policy asks for is not there yet; the message says what is missing."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Evidence:
    """What is known about one fact to credit (a course, a session, a claim).

    Only the fields of the fact's source matter; the rest keep their defaults.
    """

    # online
    units_total: int = 0
    units_missing: tuple[str, ...] = ()  # titles of units not yet completed
    has_quiz: bool = False
    quiz_passed: bool = False
    quiz_attempts_left: int | None = None
    # offline: how attendance was recorded ("checkin" | "trainer_sheet"), None if it was not
    attendance: str | None = None
    # school-based, research, import
    claim_approved: bool = False
    notes: tuple[str, ...] = field(default=())  # extra context for the message, if any


@dataclass(frozen=True)
class Decision:
    source: CreditSource
    allowed: bool
    missing: tuple[str, ...]
    policy_version: str

    @property
    def message(self) -> str:
        if self.allowed:
            return "认定条件已满足"
        items = "；".join(f"{i}. {m}" for i, m in enumerate(self.missing, start=1))
        return f"尚不能计入学时，还缺少：{items}。"

    def refusal(self) -> CreditRefused:
        return CreditRefused(self.message, self.missing)

    def require(self) -> None:
        """Raise :class:`CreditRefused` unless the evidence is complete."""
        if not self.allowed:
            raise self.refusal()


def _quoted(titles: tuple[str, ...], most: int = 4) -> str:
    shown = "".join(f"「{t}」" for t in titles[:most])
    return shown + (f"等 {len(titles)} 个单元" if len(titles) > most else "")


def _online(policy: CreditPolicy, ev: Evidence) -> list[str]:
    rule, quiz = policy.crediting.online, policy.crediting.quiz
    missing: list[str] = []
    if rule.require_all_units:
        if ev.units_total == 0:
            missing.append("本课程尚无在线学习单元，暂不能按网络研修认定学时")
        elif ev.units_missing:
            missing.append(f"学完全部学习单元（尚未完成：{_quoted(ev.units_missing)}）")
    if rule.require_quiz and not ev.quiz_passed:
        if not ev.has_quiz:
            missing.append("通过课程测验（本课程尚未配置测验，请联系课程负责人）")
        elif ev.quiz_attempts_left == 0:
            missing.append(
                f"通过课程测验（{quiz.max_attempts} 次机会已用完，未达到 {quiz.pass_mark} 分，"
                "请联系培训者）"
            )
        else:
            left = "" if ev.quiz_attempts_left is None else f"，还有 {ev.quiz_attempts_left} 次机会"
            missing.append(f"通过课程测验（{quiz.pass_mark} 分及格{left}）")
    return missing


def _offline(policy: CreditPolicy, ev: Evidence) -> list[str]:
    accepted = policy.crediting.offline.evidence
    if ev.attendance in accepted:
        return []
    how = "或".join(ATTENDANCE_LABELS[a] for a in accepted)
    return [
        f"线下出勤记录（{how}）：线下学时只按出勤认定，不能自行标记完成，"
        "请在活动现场扫码签到，或请培训者登记考勤"
    ]


def _claim(ev: Evidence) -> list[str]:
    if ev.claim_approved:
        return []
    return ["经审核通过的学时申报（请提交学时申报并上传证明材料，等待学校或培训者审核）"]


def decide(policy: CreditPolicy, source: CreditSource, evidence: Evidence) -> Decision:
    """Whether ``evidence`` is enough to credit hours of ``source`` under ``policy``."""
    rule = policy.sources[source]
    if not rule.counts:
        missing = [f"本省政策（{policy.name}）不认定此类学时"]
    elif source == CreditSource.ONLINE:
        missing = _online(policy, evidence)
    elif source == CreditSource.OFFLINE:
        missing = _offline(policy, evidence)
    else:
        missing = _claim(evidence)
    return Decision(source, not missing, tuple(missing), policy.version_label)
