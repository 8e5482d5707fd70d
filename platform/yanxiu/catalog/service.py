"""Catalog writes and reads: sync from content, import files all-or-nothing, queries."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from yanxiu.audit.service import record_audit
from yanxiu.catalog.models import (
    Competency,
    Course,
    CourseFormat,
    CourseStatus,
    course_prerequisites,
)
from yanxiu.catalog.schema import ResourceIn, find_cycle, parse_resources
from yanxiu.errors import InputError, Problem

LIST_FIELDS = (
    "outline",
    "problems",
    "stages",
    "subjects",
    "levels",
    "posts",
    "prerequisites",
    "competencies",
)
LIST_SEPARATORS = (";", "；", "|", "、")


@dataclass
class SyncCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_local_edit: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged" + (
            f", {self.kept_local_edit} kept (edited in Yanxiu)" if self.kept_local_edit else ""
        )


def sync_competencies(session: Session, items: Iterable[dict[str, str]]) -> int:
    count = 0
    for item in items:
        row = session.get(Competency, item["id"])
        if row is None:
            session.add(Competency(**item))
            count += 1
        else:
            row.name, row.group, row.description = (
                item["name"],
                item["group"],
                item.get("description", ""),
            )
    session.flush()
    return count


def sync_courses(
    session: Session, resources: list[ResourceIn], *, origin: str, actor_id: int | None = None
) -> SyncCounts:
    """Insert new resources and update those whose content changed since the last load.

    A row whose hash no longer matches what was loaded was edited inside Yanxiu (catalog
    management); a content reload leaves such a row alone rather than overwrite the edit.
    """
    counts = SyncCounts()
    by_code = {c.code: c for c in session.scalars(select(Course))}
    for res in resources:
        digest = res.content_hash()
        row = by_code.get(res.id)
        if row is None:
            row = Course(code=res.id)
            _apply(row, res, origin, digest)
            session.add(row)
            by_code[res.id] = row
            counts.created += 1
        elif row.content_hash == digest:
            counts.unchanged += 1
            continue
        elif origin.startswith("content:") and (
            not row.origin.startswith("content:") or not _same_as_loaded(row)
        ):
            counts.kept_local_edit += 1
            continue
        else:
            _apply(row, res, origin, digest)
            counts.updated += 1
    session.flush()
    for res in resources:
        row = by_code[res.id]
        wanted = {by_code[p].id for p in res.prerequisites if p in by_code}
        current = {p.id for p in row.prerequisites}
        if wanted != current:
            row.prerequisites = [by_code[p] for p in res.prerequisites if p in by_code]
    session.flush()
    if counts.created or counts.updated:
        record_audit(
            session, actor_id=actor_id, action="catalog.sync", entity="catalog", entity_id=origin,
            detail={"created": counts.created, "updated": counts.updated},
        )  # fmt: skip
    return counts


def _apply(row: Course, res: ResourceIn, origin: str, digest: str) -> None:
    row.title, row.summary, row.outline, row.body = res.title, res.summary, res.outline, res.body
    row.problems = list(res.problems)
    row.category, row.stages, row.subjects = res.category, list(res.stages), list(res.subjects)
    row.levels, row.posts, row.competencies = res.levels, list(res.posts), res.competencies
    row.hours, row.format, row.provider = res.hours, CourseFormat(res.format), res.provider
    row.status, row.origin, row.content_hash = CourseStatus(res.status), origin, digest


def row_as_resource(row: Course) -> ResourceIn:
    return ResourceIn(
        id=row.code, title=row.title, summary=row.summary, outline=row.outline, problems=list(row.problems or []),
        body=row.body,
        category=row.category, stages=row.stages, subjects=row.subjects, levels=row.levels,
        posts=row.posts, hours=row.hours, format=row.format.value, provider=row.provider,
        prerequisites=sorted(p.code for p in row.prerequisites), competencies=row.competencies,
        status=row.status.value,
    )  # fmt: skip


def _same_as_loaded(row: Course) -> bool:
    """Whether the row still holds exactly what was last loaded into it."""
    return row_as_resource(row).content_hash() == row.content_hash


# ---------------------------------------------------------------- import files


def read_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """Read a CSV, JSON or YAML catalog file into (where, row) pairs with row numbers."""
    name = path.name
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            [
                Problem(
                    name,
                    "",
                    f"not UTF-8 text ({err.reason} at byte {err.start}); save the file as UTF-8",
                )
            ]
        ) from err
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise InputError(
                [Problem(name, "", "CSV needs a header row with at least an 'id' column")]
            )
        rows = []
        for i, raw in enumerate(reader, start=2):  # row 1 is the header
            if None in raw:
                rows.append((f"{name} row {i}", {"__extra__": raw[None]}))
                continue
            rows.append((f"{name} row {i}", _csv_row(raw)))
        return rows
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise InputError([Problem(name, "", f"cannot be parsed: {err}")]) from err
    if isinstance(data, dict):
        data = data.get("resources")
    if not isinstance(data, list):
        raise InputError(
            [Problem(name, "", "expected a list of resources (or a mapping with 'resources:')")]
        )
    return [(f"{name} item {i}", row) for i, row in enumerate(data, start=1)]


def _csv_row(raw: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in raw.items():
        value = (value or "").strip()
        if key in LIST_FIELDS:
            for sep in LIST_SEPARATORS:
                value = value.replace(sep, ";")
            row[key] = [v.strip() for v in value.split(";") if v.strip()]
        elif key == "hours":
            try:
                row[key] = float(value)
            except ValueError:
                row[key] = value
        elif value != "" or key in ("id", "title"):
            row[key] = value
    return row


def import_catalog_file(session: Session, path: Path, *, actor_id: int | None = None) -> SyncCounts:
    """Validate every row of a catalog file, then write all of it or none of it.

    Raises:
        InputError: listing every bad row with its row number and reason.
    """
    rows = read_rows(path)
    problems = [
        Problem(w, "", "more values than columns in this row") for w, r in rows if "__extra__" in r
    ]
    rows = [(w, r) for w, r in rows if "__extra__" not in r]
    competency_ids = set(session.scalars(select(Competency.id)))
    existing = {c.code: c for c in session.scalars(select(Course))}
    resources, found = parse_resources(rows, competency_ids=competency_ids, known_ids=set(existing))
    problems += found
    if not problems:
        graph = {code: [p.code for p in row.prerequisites] for code, row in existing.items()}
        graph.update({r.id: r.prerequisites for r in resources})
        cycle = find_cycle(graph)
        if cycle:
            problems.append(
                Problem(
                    path.name,
                    cycle[0],
                    "import would create a prerequisite cycle: " + " → ".join(cycle),
                )
            )
    if problems:
        raise InputError(problems, f"{path.name}: {len(problems)} problem(s); nothing was imported")
    return sync_courses(session, resources, origin=f"import:{path.name}", actor_id=actor_id)


def prerequisite_graph(session: Session) -> dict[str, list[str]]:
    """code -> prerequisite codes, for every course."""
    codes = {cid: code for cid, code in session.execute(select(Course.id, Course.code))}
    graph: dict[str, list[str]] = {code: [] for code in codes.values()}
    for course_id, pre_id in session.execute(
        select(course_prerequisites.c.course_id, course_prerequisites.c.prerequisite_id)
    ):
        graph[codes[course_id]].append(codes[pre_id])
    return graph


def competency_texts(session: Session) -> dict[str, str]:
    """Competency id -> "名称：描述", the text a weakness is embedded and searched by."""
    return {c.id: f"{c.name}：{c.description}" for c in session.scalars(select(Competency))}
