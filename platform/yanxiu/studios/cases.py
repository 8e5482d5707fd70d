"""The shape of a studio case resource in content/cases (validated on load)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yanxiu.catalog.schema import STAGES, SUBJECTS
from yanxiu.safe_text import PlainText

TRANSCRIPT_LINE = re.compile(r"^\[(\d\d):(\d\d):(\d\d)\] ?(师|生|生[A-Z0-9]|众生)[：:].+$")
PLAN_SECTIONS = ("教学目标", "学情分析", "教学重难点", "教学过程", "评价设计", "作业设计")


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=r"^CASE-\d{3,}$")
    studio: str
    kind: Literal["transcript", "lesson_plan", "reflection"]
    title: PlainText = Field(min_length=4, max_length=200)
    stage: Literal[STAGES]  # type: ignore[valid-type]
    subject: Literal[SUBJECTS]  # type: ignore[valid-type]
    grade: str = ""
    competencies: list[str] = Field(min_length=1, max_length=6)
    summary: str = Field(min_length=10, max_length=600)
    body: str = Field(min_length=100)

    @model_validator(mode="after")
    def _body_matches_kind(self) -> CaseIn:
        if self.kind == "transcript":
            last = -1
            for n, line in enumerate(self.body.splitlines(), start=1):
                if not line.strip():
                    continue
                m = TRANSCRIPT_LINE.match(line.strip())
                if not m:
                    raise ValueError(
                        f"body line {n} is not '[hh:mm:ss] 师：…' / '生：…': {line.strip()[:40]!r}"
                    )
                seconds = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
                if seconds < last:
                    raise ValueError(f"body line {n}: timestamp goes backwards")
                last = seconds
        return self

    def content_hash(self) -> str:
        payload = json.dumps(self.model_dump(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
