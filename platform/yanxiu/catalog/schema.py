"""The shape of a catalog resource, shared by content loading and `yanxiu import catalog`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yanxiu.errors import Problem
from yanxiu.safe_text import PlainText

CATEGORIES = (
    "师德师风",
    "学科教学",
    "信息技术应用能力",
    "心理健康教育",
    "班主任工作",
    "作业设计与双减",
    "课堂提问与对话",
    "教研能力",
    "新教师入职",
)
ETHICS_CATEGORY = "师德师风"
STAGES = ("幼儿园", "小学", "初中", "高中")
SUBJECTS = (
    "语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治", "思想政治",
    "科学", "音乐", "美术", "体育与健康", "信息科技", "通用",
)  # fmt: skip
POSTS = ("班主任", "教研组长", "备课组长", "学校管理者", "心理健康教师")
RESOURCE_ID = re.compile(r"^[A-Z]+(-[A-Z0-9]+)+$")


class ResourceIn(BaseModel):
    """A catalog resource as written in content/catalog or an import file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str
    title: PlainText = Field(min_length=4, max_length=200)
    summary: str = Field(min_length=10, max_length=600)
    outline: list[str] = Field(min_length=1, max_length=20)
    # 典型困惑 / 适用问题: the problems it helps with, in teachers' own words (search indexes them)
    problems: list[str] = Field(default_factory=list, max_length=8)
    body: str = ""
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    stages: list[Literal[STAGES]] = Field(min_length=1)  # type: ignore[valid-type]
    subjects: list[Literal[SUBJECTS]] = Field(min_length=1)  # type: ignore[valid-type]
    levels: list[str] = Field(default_factory=list)
    posts: list[Literal[POSTS]] = Field(default_factory=list)  # type: ignore[valid-type]
    hours: float = Field(gt=0, le=120)
    format: Literal["online", "offline", "hybrid"]
    prerequisites: list[str] = Field(default_factory=list)
    competencies: list[str] = Field(min_length=1, max_length=6)
    provider: PlainText = Field(min_length=2, max_length=128)
    status: Literal["published", "draft", "retired"] = "published"

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not RESOURCE_ID.match(value):
            raise ValueError("id must look like SD-001 or XK-YW-01 (capitals, digits, dashes)")
        return value

    @field_validator("hours")
    @classmethod
    def _half_hours(cls, value: float) -> float:
        if round(value * 2) != value * 2:
            raise ValueError("hours must be a whole or half 学时 (e.g. 6 or 6.5)")
        return value

    def content_hash(self) -> str:
        data = self.model_dump()
        if not data["problems"]:  # hashes of resources written before problems existed stay
            del data["problems"]
        data["prerequisites"] = sorted(data["prerequisites"])  # order carries no meaning
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def describe_validation_error(err: ValidationError) -> str:
    """Turn pydantic's error list into one line a content writer can act on."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "item"
        msg = e["msg"]
        if e["type"] == "literal_error":
            msg = f"{msg} (got {e.get('input')!r})"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_resources(
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    competency_ids: set[str],
    known_ids: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[list[ResourceIn], list[Problem]]:
    """Validate resources one by one, then as a whole (unique ids, references, no cycles).

    Args:
        rows: (where, raw mapping) pairs; ``where`` names the file and row or line.
        competency_ids: the competency vocabulary.
        known_ids: resources already in the catalog that prerequisites may point to.

    Returns:
        The valid resources and every problem found (empty when all is well).
    """
    problems: list[Problem] = []
    resources: list[ResourceIn] = []
    where_of: dict[str, str] = {}
    invalid: set[str] = set()  # ids whose own row failed: no knock-on "does not exist" errors
    for where, raw in rows:
        item = str(raw.get("id", "")) if isinstance(raw, Mapping) else ""
        if not isinstance(raw, Mapping):
            problems.append(Problem(where, "", "expected a mapping of fields"))
            continue
        try:
            res = ResourceIn.model_validate(dict(raw))
        except ValidationError as err:
            problems.append(Problem(where, item, describe_validation_error(err)))
            invalid.add(item)
            continue
        if res.id in where_of:
            problems.append(
                Problem(where, res.id, f"duplicate id (first defined at {where_of[res.id]})")
            )
            continue
        unknown = [c for c in res.competencies if c not in competency_ids]
        if unknown:
            problems.append(
                Problem(
                    where,
                    res.id,
                    f"unknown competency id(s) {unknown}: use ids from content/competencies.yaml",
                )
            )
        where_of[res.id] = where
        resources.append(res)

    all_ids = set(where_of) | set(known_ids)
    for res in resources:
        for pre in res.prerequisites:
            if pre == res.id:
                problems.append(Problem(where_of[res.id], res.id, "lists itself as a prerequisite"))
            elif pre not in all_ids and pre not in invalid:
                problems.append(
                    Problem(where_of[res.id], res.id, f"prerequisite {pre} does not exist")
                )
    cycle = find_cycle({r.id: r.prerequisites for r in resources})
    if cycle:
        first = cycle[0]
        problems.append(
            Problem(
                where_of.get(first, "catalog"), first, "prerequisite cycle: " + " → ".join(cycle)
            )
        )
    return resources, problems


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle in a prerequisite graph as a list of ids (first repeated last), or None."""
    white, grey, black = 0, 1, 2
    color: dict[str, int] = {}
    for start in sorted(graph):
        if color.get(start, white) != white:
            continue
        stack: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        path = [start]
        color[start] = grey
        while stack:
            node, children = stack[-1]
            for child in children:
                state = color.get(child, white)
                if state == grey:
                    return path[path.index(child) :] + [child]
                if state == white and child in graph:
                    color[child] = grey
                    path.append(child)
                    stack.append((child, iter(sorted(graph.get(child, ())))))
                    break
            else:
                color[node] = black
                stack.pop()
                path.pop()
    return None
