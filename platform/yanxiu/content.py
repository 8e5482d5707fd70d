"""Loading and validating everything in content/ (competencies, catalog, cases, policies, roster).

Every problem found is reported at once, each naming the file, the item and what is wrong;
nothing is written to the database unless the whole content is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from yanxiu.catalog.lessons import LessonIn, parse_lessons
from yanxiu.catalog.schema import ResourceIn, describe_validation_error, parse_resources
from yanxiu.credits.policy import CreditPolicy, load_policies
from yanxiu.errors import InputError, Problem
from yanxiu.studios.cases import CaseIn


@dataclass
class Content:
    competencies: list[dict[str, str]]
    resources: list[ResourceIn]
    cases: list[CaseIn]
    policies: dict[str, CreditPolicy]
    roster: dict[str, Any]
    lessons: list[LessonIn] = field(default_factory=list)

    @property
    def competency_ids(self) -> set[str]:
        return {c["id"] for c in self.competencies}


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        problems.append(Problem(path.name, "", f"cannot be read as UTF-8 YAML: {err}"))
        return None


def load_competencies(path: Path, problems: list[Problem]) -> list[dict[str, str]]:
    data = _read_yaml(path, problems)
    items = (data or {}).get("competencies") if isinstance(data, dict) else None
    if not isinstance(items, list):
        problems.append(Problem(path.name, "", "expected 'competencies:' with a list"))
        return []
    out, seen = [], set()
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not {"id", "name", "group"} <= set(item):
            problems.append(Problem(path.name, f"item {i}", "needs id, name and group"))
            continue
        if item["id"] in seen:
            problems.append(Problem(path.name, item["id"], "duplicate competency id"))
            continue
        seen.add(item["id"])
        out.append({k: str(item.get(k, "")) for k in ("id", "name", "group", "description")})
    return out


def load_catalog(
    directory: Path, competency_ids: set[str], problems: list[Problem]
) -> list[ResourceIn]:
    rows: list[tuple[str, Any]] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        problems.append(Problem(str(directory), "", "no catalog files (*.yaml)"))
    for path in files:
        data = _read_yaml(path, problems)
        if data is None:
            continue
        items = data.get("resources") if isinstance(data, dict) else None
        if not isinstance(items, list):
            problems.append(Problem(path.name, "", "expected 'resources:' with a list"))
            continue
        rows += [(f"{path.name} item {i}", item) for i, item in enumerate(items, start=1)]
    resources, found = parse_resources(rows, competency_ids=competency_ids)
    problems += found
    return resources


def load_cases(
    directory: Path, competency_ids: set[str], studio_ids: set[str], problems: list[Problem]
) -> list[CaseIn]:
    cases: list[CaseIn] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path, problems)
        if data is None:
            continue
        items = data.get("cases") if isinstance(data, dict) else None
        if not isinstance(items, list):
            problems.append(Problem(path.name, "", "expected 'cases:' with a list"))
            continue
        for i, item in enumerate(items, start=1):
            where = f"{path.name} item {i}"
            item_id = str(item.get("id", "")) if isinstance(item, dict) else ""
            try:
                case = CaseIn.model_validate(item)
            except ValidationError as err:
                problems.append(Problem(where, item_id, describe_validation_error(err)))
                continue
            if case.id in seen:
                problems.append(Problem(where, case.id, f"duplicate id (first at {seen[case.id]})"))
                continue
            seen[case.id] = where
            if case.studio not in studio_ids:
                problems.append(
                    Problem(where, case.id, f"studio {case.studio} is not in demo/roster.yaml")
                )
            unknown = [c for c in case.competencies if c not in competency_ids]
            if unknown:
                problems.append(Problem(where, case.id, f"unknown competency id(s) {unknown}"))
            cases.append(case)
    return cases


def load_lessons(
    directory: Path, resources: list[ResourceIn], problems: list[Problem]
) -> list[LessonIn]:
    """Units and quizzes of online courses (lessons/*.yaml, media in lessons/media/)."""
    rows: list[tuple[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path, problems)
        items = data.get("lessons") if isinstance(data, dict) else None
        if not isinstance(items, list):
            problems.append(Problem(path.name, "", "expected 'lessons:' with a list"))
            continue
        rows += [(f"{path.name} item {i}", item) for i, item in enumerate(items, start=1)]
    lessons, found = parse_lessons(rows)
    problems += found
    codes = {r.id: r for r in resources}
    refused = {p.item for p in problems}  # catalog items already reported as invalid
    for lesson in lessons:
        resource = codes.get(lesson.course)
        if resource is None and lesson.course in refused:
            continue
        if resource is None:
            problems.append(Problem("lessons", lesson.course, "no catalog resource with this id"))
        elif resource.format == "offline":
            problems.append(
                Problem("lessons", lesson.course, "an offline course has no online units")
            )
        for unit in lesson.units:
            if unit.file and not (directory / "media" / unit.file).is_file():
                problems.append(
                    Problem("lessons", lesson.course, f"unit {unit.key}: no file media/{unit.file}")
                )
    return lessons


def load_content(content_dir: Path) -> Content:
    """Load and validate all content.

    Raises:
        InputError: with every problem found, when anything is wrong.
    """
    problems: list[Problem] = []
    if not content_dir.is_dir():
        raise InputError(
            [Problem(str(content_dir), "", "content directory not found (YANXIU_CONTENT_DIR)")]
        )
    competencies = load_competencies(content_dir / "competencies.yaml", problems)
    ids = {c["id"] for c in competencies}
    resources = load_catalog(content_dir / "catalog", ids, problems)
    roster = _read_yaml(content_dir / "demo" / "roster.yaml", problems) or {}
    studio_ids = {s["id"] for s in roster.get("studios", []) if isinstance(s, dict) and "id" in s}
    cases = load_cases(content_dir / "cases", ids, studio_ids, problems)
    lessons = load_lessons(content_dir / "lessons", resources, problems)
    policies: dict[str, CreditPolicy] = {}
    try:
        policies = load_policies(content_dir / "policies")
    except InputError as err:
        problems += err.problems
    if roster and roster.get("policy") not in policies and policies:
        problems.append(
            Problem(
                "demo/roster.yaml",
                "policy",
                f"policy {roster.get('policy')!r} has no file in policies/",
            )
        )
    if problems:
        raise InputError(
            problems,
            f"content in {content_dir} is invalid: {len(problems)} problem(s); nothing was loaded",
        )
    return Content(competencies, resources, cases, policies, roster, lessons)
