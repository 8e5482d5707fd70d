"""A synthetic province for benchmarks: 100,000 teachers in 2,000 schools and their ledgers.

``yanxiu lab province --database-url postgresql://… [--teachers 100000] [--schools 2000]``

Writes into an EMPTY database (it migrates it first and refuses one that already has users):
one province of ten cities, ten counties each; schools spread over the counties (urban, town,
rural, some weak); teachers with profiles and about 30 ledger records each (roughly three
million rows, a share pending review, reviewed or voided, as a real province's would be); one
province admin ``bench.admin`` and the teachers' logins ``p000001`` … all with the password
given. On PostgreSQL the ledger goes in with COPY (a few minutes for three million rows); then
the compliance snapshots are taken, as the nightly job would.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Engine

from yanxiu.accounts.models import RegionLevel, Role, SchoolLocation
from yanxiu.accounts.security import hash_password
from yanxiu.catalog.schema import CATEGORIES, ETHICS_CATEGORY
from yanxiu.config import Settings
from yanxiu.credits.models import CreditSource, ReviewState
from yanxiu.credits.policy import load_policies
from yanxiu.db import migrate
from yanxiu.reports import snapshot
from yanxiu.runtime import get_engine, get_session_factory
from yanxiu.seed.demo import SUBJECT_WEIGHTS, TIER_WEIGHTS
from yanxiu.seed.names import GIVEN_FEMALE, GIVEN_MALE, SURNAMES
from yanxiu.tables import metadata

CITIES = ("江州", "临川", "云阳", "青石", "白河", "东岭", "南浦", "西林", "北塘", "安平")
COUNTY_SUFFIXES = ("区", "县", "县", "县", "区", "县", "市", "县", "县", "区")
SCHOOL_KINDS = ("实验小学", "中心小学", "第一中学", "第二中学", "实验中学", "高级中学", "幼儿园")
TITLES = {
    ETHICS_CATEGORY: ("师德专题集中培训", "新时代教师职业行为十项准则解读"),
    "学科教学": ("大单元教学设计工作坊", "新课标解读与课堂实践"),
    "信息技术应用能力": ("信息技术支持的学情分析", "人工智能助力备课"),
}
BATCH = 20_000


@dataclass(frozen=True)
class ProvinceSummary:
    regions: int
    schools: int
    teachers: int
    records: int
    seconds: float
    snapshot_seconds: float


def _full_row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` plus each remaining column's client-side default (COPY and executemany do
    not apply SQLAlchemy defaults; later migrations may add columns with defaults)."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.primary_key and column.name == "id" and "id" not in values:
            continue
        default = column.default
        if default is None:
            row[column.name] = None
        elif getattr(default, "is_callable", False):
            row[column.name] = default.arg(None)  # type: ignore[attr-defined]
        else:
            row[column.name] = getattr(default, "arg", None)
    return row


def _write(engine: Engine, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    """Insert ``rows`` (COPY on PostgreSQL, batched executemany elsewhere); returns the count."""
    count = 0
    if engine.dialect.name == "postgresql":
        first = next(rows, None)
        if first is None:
            return 0
        columns = list(_full_row(table, first))
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in _chain(first, rows):
                    full = _full_row(table, row)
                    copy.write_row([_copy_value(full[c]) for c in columns])
                    count += 1
            raw.commit()
        finally:
            raw.close()
        return count
    with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(_full_row(table, row))
            if len(batch) >= BATCH:
                conn.execute(insert(table), batch)
                count += len(batch)
                batch.clear()
        if batch:
            conn.execute(insert(table), batch)
            count += len(batch)
    return count


def _copy_value(value: Any) -> Any:
    """COPY takes JSON columns as text."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _next_id(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate(
    settings: Settings,
    *,
    teachers: int = 100_000,
    schools: int = 2_000,
    records_per_teacher: int = 30,
    password: str,
    today: date | None = None,
    seed: int = 2026,
    log: Callable[[str], None] = print,
) -> ProvinceSummary:
    started = time.monotonic()
    today = today or date.today()
    rng = random.Random(seed)
    engine = get_engine(settings)
    migrate.upgrade(engine)
    t = metadata.tables
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(t["users"])):
            raise ValueError("the database already has users: generate into an empty one")

    # Regions: one province, ten cities, ten counties each.
    regions: list[dict[str, Any]] = [
        {"id": 1, "code": "P99", "name": "江南省", "level": RegionLevel.PROVINCE.value, "parent_id": None}
    ]  # fmt: skip
    counties: list[int] = []
    for c, city in enumerate(CITIES):
        city_id = len(regions) + 1
        regions.append({"id": city_id, "code": f"P99C{c:02d}", "name": f"{city}市",
                        "level": RegionLevel.CITY.value, "parent_id": 1})  # fmt: skip
        for k, suffix in enumerate(COUNTY_SUFFIXES):
            county_id = len(regions) + 1
            regions.append({"id": county_id, "code": f"P99C{c:02d}K{k:02d}",
                            "name": f"{city}{'东西南北中新安永长平'[k]}{suffix}",
                            "level": RegionLevel.COUNTY.value, "parent_id": city_id})  # fmt: skip
            counties.append(county_id)
    _write(engine, t["regions"], iter(regions))

    school_rows = []
    for i in range(schools):
        location = rng.choices(list(SchoolLocation), weights=(0.4, 0.3, 0.3))[0]
        school_rows.append({
            "id": i + 1, "code": f"S{i + 1:05d}", "county_id": counties[i % len(counties)],
            "name": f"{regions[counties[i % len(counties)] - 1]['name']}第{i // len(counties) + 1}{rng.choice(SCHOOL_KINDS)}",
            "stages": ["小学"], "location": location.value,
            "is_weak": location == SchoolLocation.RURAL and rng.random() < 0.35,
        })  # fmt: skip
    _write(engine, t["schools"], iter(school_rows))
    log(f"{len(regions)} regions, {schools} schools")

    hashed = hash_password(password)  # one hash for all: hashing 100,000 would take an hour
    now = datetime.now(UTC)
    school_county = {s["id"]: s["county_id"] for s in school_rows}

    def people() -> Iterator[dict[str, Any]]:
        yield {"id": 1, "username": "bench.admin", "display_name": "省级管理员",
               "password_hash": hashed, "role": Role.ADMIN.value, "region_id": 1,
               "school_id": None, "is_active": True, "created_at": now}  # fmt: skip
        for n in range(1, teachers + 1):
            school_id = rng.randrange(1, schools + 1)
            female = rng.random() < 0.7
            name = rng.choice(SURNAMES) + rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
            yield {"id": n + 1, "username": f"p{n:06d}", "display_name": name,
                   "password_hash": hashed, "role": Role.TEACHER.value,
                   "region_id": school_county[school_id], "school_id": school_id,
                   "is_active": rng.random() > 0.01, "created_at": now}  # fmt: skip

    log(f"{_write(engine, t['users'], people()):,} users")

    stages = [s for s in SUBJECT_WEIGHTS if SUBJECT_WEIGHTS[s]]

    def profiles() -> Iterator[dict[str, Any]]:
        for n in range(1, teachers + 1):
            stage = rng.choice(stages)
            subject = _weighted(rng, {k: float(v) for k, v in SUBJECT_WEIGHTS[stage].items()})
            start = date(rng.choice((2022, 2023, 2024, 2025)), 9, 1)
            yield {"user_id": n + 1, "stage": stage, "subjects": [subject],
                   "tier": _weighted(rng, {k: float(v) for k, v in TIER_WEIGHTS}),
                   "years_teaching": rng.randrange(0, 35), "posts": [], "gender": None,
                   "cycle_start": start, "bio": None}  # fmt: skip

    _write(engine, t["teacher_profiles"], profiles())

    # The ledger: ~records_per_teacher rows each, a few pending, reviewed or voided.
    first_record = _next_id(engine, t["credit_records"])
    reviewed: list[int] = []
    voided: list[int] = []
    sources = (CreditSource.ONLINE, CreditSource.OFFLINE, CreditSource.SCHOOL_BASED,
               CreditSource.RESEARCH)  # fmt: skip

    def records() -> Iterator[dict[str, Any]]:
        rid = first_record
        for n in range(1, teachers + 1):
            for k in range(rng.randint(records_per_teacher // 2, records_per_teacher * 3 // 2)):
                category = ETHICS_CATEGORY if k % 6 == 0 else rng.choice(CATEGORIES)
                earned = today - timedelta(days=rng.randrange(0, 4 * 365))
                pending = rng.random() < 0.04
                if pending and rng.random() < 0.8:
                    reviewed.append(rid)
                if not pending and rng.random() < 0.005:
                    voided.append(rid)
                title = rng.choice(TITLES.get(category, (f"{category}专题研修",)))
                yield {"id": rid, "teacher_id": n + 1, "source": rng.choice(sources).value,
                       "category": category, "hours": float(rng.choice((2, 3, 4, 6, 8, 12))),
                       "earned_on": earned, "title": title, "evidence": {"bench": True},
                       "idempotency_key": f"bench:{rid}",
                       "initial_review_state": (ReviewState.PENDING if pending else ReviewState.APPROVED).value,
                       "replaces_id": None, "created_by_id": None, "created_at": now}  # fmt: skip
                rid += 1

    written = _write(engine, t["credit_records"], records())
    log(f"{written:,} ledger records")
    _write(engine, t["credit_reviews"], (
        {"record_id": rid, "state": ReviewState.APPROVED.value, "comment": "材料齐全",
         "reviewer_id": 1, "created_at": now} for rid in reviewed
    ))  # fmt: skip
    _write(engine, t["credit_voids"], (
        {"record_id": rid, "reason": "重复登记，已作废", "voided_by_id": 1, "created_at": now}
        for rid in voided
    ))  # fmt: skip
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # COPY with explicit ids leaves the sequences behind
            for name in ("regions", "schools", "users", "credit_records", "credit_reviews",
                         "credit_voids"):  # fmt: skip
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                )
            conn.exec_driver_sql("ANALYZE")
    seconds = time.monotonic() - started
    log(f"written in {seconds:.0f} s; taking the compliance snapshots …")
    policy = load_policies(settings.content_dir / "policies")[settings.policy]
    snap_started = time.monotonic()
    with get_session_factory(settings)() as session:
        snapshot.refresh(session, policy=policy, today=today)
    return ProvinceSummary(
        regions=len(regions), schools=schools, teachers=teachers, records=written,
        seconds=round(seconds, 1), snapshot_seconds=round(time.monotonic() - snap_started, 1),
    )  # fmt: skip


def teacher_logins(count: int, *, stride: int = 997) -> Sequence[str]:
    """Some generated teachers' usernames, spread over the range (for the benchmark)."""
    return [f"p{1 + (i * stride) % 90_000:06d}" for i in range(count)]
