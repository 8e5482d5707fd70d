"""Credit policy (学时学分政策) per province, loaded from content/policies/*.yaml.

Policy values differ by province, so none of them live in code: cycle length, total hours,
yearly minimum, category minimums, compulsory ethics hours, induction hours, which sources
count and their caps, and the tier labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yanxiu.catalog.schema import CATEGORIES, ETHICS_CATEGORY, describe_validation_error
from yanxiu.credits.models import CreditSource
from yanxiu.errors import InputError, Problem


class SourceRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    counts: bool = True
    cap_hours: float | None = Field(None, ge=0, description="most hours of this source per cycle")
    needs_review: bool = False  # records start pending until a reviewer approves them


class OnlineRule(BaseModel):
    """What an online course needs before its hours count (网络研修认定条件)."""

    model_config = ConfigDict(extra="forbid")

    require_all_units: bool = True
    require_quiz: bool = True  # the course's quiz passed (a course without a quiz cannot credit)
    media_complete_ratio: float = Field(0.9, gt=0, le=1, description="video/audio: share played")
    report_interval_seconds: float = Field(10, gt=0, le=60, description="player position reports")


class QuizRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pass_mark: int = Field(80, ge=1, le=100, description="score out of 100 that passes")
    max_attempts: int = Field(3, ge=1, le=20)
    questions_per_attempt: int = Field(5, ge=1, le=50)


def _attendance_evidence() -> list[Literal["checkin", "trainer_sheet"]]:
    return ["checkin", "trainer_sheet"]


class OfflineRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Only attendance counts: a QR check-in on the day or the trainer's attendance sheet.
    evidence: list[Literal["checkin", "trainer_sheet"]] = Field(
        default_factory=_attendance_evidence, min_length=1
    )


class CreditingRules(BaseModel):
    """Per source, the evidence a credit needs (see :mod:`yanxiu.credits.rules`)."""

    model_config = ConfigDict(extra="forbid")

    online: OnlineRule = Field(default_factory=OnlineRule)
    quiz: QuizRule = Field(default_factory=QuizRule)
    offline: OfflineRule = Field(default_factory=OfflineRule)


class CreditPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    # The ledger keeps the version that credited each record: a later edit of the policy
    # file (with a new version) never rewrites what was credited before.
    version: str = Field("1", min_length=1, max_length=20)
    name: str
    province: str
    cycle_years: int = Field(ge=1, le=10)
    total_hours: float = Field(gt=0)
    yearly_minimum: float = Field(ge=0)
    ethics_minimum: float = Field(ge=0, description="compulsory 师德师风 hours per cycle")
    category_minimums: dict[str, float] = Field(default_factory=dict)
    induction_hours: float = Field(ge=0, description="new teachers, first year")
    induction_tier: str = "新任教师"
    tiers: list[str] = Field(min_length=1)
    sources: dict[CreditSource, SourceRule]
    crediting: CreditingRules = Field(default_factory=CreditingRules)
    notes: str = ""

    @property
    def version_label(self) -> str:
        """``GX-2024.1``: what a credit record keeps as the policy that credited it."""
        return f"{self.code}-{self.version}"

    @model_validator(mode="after")
    def _consistent(self) -> CreditPolicy:
        unknown = [c for c in self.category_minimums if c not in CATEGORIES]
        if unknown:
            raise ValueError(
                f"category_minimums has unknown categories {unknown}; use {list(CATEGORIES)}"
            )
        if sum(self.category_minimums.values()) + self.ethics_minimum > self.total_hours:
            raise ValueError("category minimums plus ethics minimum exceed total_hours")
        if self.yearly_minimum * self.cycle_years > self.total_hours * 1.5:
            raise ValueError(
                "yearly_minimum × cycle_years is far above total_hours; check the numbers"
            )
        if self.induction_tier not in self.tiers:
            raise ValueError(
                f"induction_tier {self.induction_tier!r} is not one of tiers {self.tiers}"
            )
        missing = [s.value for s in CreditSource if s not in self.sources]
        if missing:
            raise ValueError(f"sources must list every source; missing {missing}")
        return self

    def minimum_for(self, category: str) -> float:
        if category == ETHICS_CATEGORY:
            return max(self.ethics_minimum, self.category_minimums.get(category, 0.0))
        return self.category_minimums.get(category, 0.0)


def load_policies(directory: Path) -> dict[str, CreditPolicy]:
    """Load every policy file; refuse the lot if any is wrong, naming file and problem."""
    problems: list[Problem] = []
    policies: dict[str, CreditPolicy] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise InputError([Problem(str(directory), "", "no policy files (*.yaml) found")])
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            policy = CreditPolicy.model_validate(raw)
        except yaml.YAMLError as err:
            problems.append(Problem(path.name, "", f"not valid YAML: {err}"))
            continue
        except ValidationError as err:
            item = raw.get("code", "") if isinstance(raw, dict) else ""
            problems.append(Problem(path.name, str(item), describe_validation_error(err)))
            continue
        if policy.code in policies:
            problems.append(Problem(path.name, policy.code, "policy code used by another file"))
        policies[policy.code] = policy
    if problems:
        raise InputError(problems, "credit policy files are invalid; nothing was loaded")
    return policies


# How each source of hours is named where a policy is explained (the admin's policy page).
SOURCE_DESCRIPTIONS = {
    CreditSource.ONLINE: "网络研修（在线课程）",
    CreditSource.OFFLINE: "集中面授（线下签到）",
    CreditSource.SCHOOL_BASED: "校本研修",
    CreditSource.RESEARCH: "教研活动",
    CreditSource.IMPORT: "外部转入（学分银行）",
}


def policy_summary(policy: CreditPolicy) -> dict[str, object]:
    """A policy as people read it: category minimums, sources with caps, the free hours."""
    categories = [(c, policy.minimum_for(c)) for c in CATEGORIES if policy.minimum_for(c)]
    sources = [
        {"label": SOURCE_DESCRIPTIONS[s], "code": s.value, "counts": rule.counts,
         "cap": rule.cap_hours, "review": rule.needs_review}
        for s, rule in policy.sources.items()
    ]  # fmt: skip
    return {"categories": categories, "sources": sources,
            "free_hours": policy.total_hours - sum(h for _, h in categories)}  # fmt: skip
