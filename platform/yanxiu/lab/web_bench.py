"""Dashboards at province scale against the demo, in the same run (issue 19).

``yanxiu bench web --province-url postgresql://…/yanxiu_province [--rounds 40]``

Serves two databases with uvicorn in subprocesses, as ``yanxiu serve`` does: the seeded demo
(SQLite, ~300 teachers: the baseline) and a province written by ``yanxiu lab province``
(100,000 teachers, ~3 million ledger rows). For each it logs in the top admin and a teacher and
times, one request after another: the health endpoint (what the server itself costs), the
admin compliance dashboard, a county drill-down and the teacher dashboard; p50 and p95 per
endpoint and the ratio province / demo. Then it downloads the whole province's teacher CSV and
reports its size, time and how much the server's peak memory grew meanwhile (streamed: far
less than the file).

Targets: dashboard and county drill-down p95 ≤ 300 ms, teacher dashboard p95 ≤ 100 ms.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from yanxiu.accounts.models import Region, RegionLevel, Role, User
from yanxiu.lab.load_bench import (
    CACHE_DIR,
    PASSWORD_ENV,
    LiveServer,
    copy_sqlite,
    login_users,
    percentile,
    prepare_demo,
    start_server,
)

TARGETS_P95_MS = {"admin_dashboard": 300.0, "county_drilldown": 300.0, "teacher_dashboard": 100.0}


def _peak_rss_mb(server: LiveServer) -> float | None:
    try:
        for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _people(url: str) -> tuple[str, str, int]:
    """The top admin, an active teacher and a county id of the database at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rank = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}
            admins = conn.execute(
                select(User.username, Region.level)
                .join(Region, Region.id == User.region_id)
                .where(User.role == Role.ADMIN, User.is_active.is_(True))
                .order_by(User.id)
            ).all()
            # the widest admin: the province's if there is one, else a city's
            admin = min(admins, key=lambda a: rank[RegionLevel(a[1])])[0] if admins else None
            teacher = conn.scalar(
                select(User.username)
                .where(
                    User.role == Role.TEACHER, User.is_active.is_(True), User.school_id.is_not(None)
                )
                .order_by(User.id)
            )
            county = conn.scalar(
                select(Region.id).where(Region.level == RegionLevel.COUNTY).order_by(Region.id)
            )
    finally:
        engine.dispose()
    if not (admin and teacher and county):
        raise RuntimeError(f"{url}: needs a top-level admin, a teacher and a county")
    return admin, teacher, int(county)


def _time(client: Any, path: str, rounds: int) -> dict[str, float]:
    client.get(path).raise_for_status()  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 95), 1)}


def measure(
    server: LiveServer, url: str, password: str, rounds: int, *, csv: bool
) -> dict[str, Any]:
    import httpx

    admin, teacher, county = _people(url)
    admin_jar, teacher_jar = login_users(server.url, [admin, teacher], password)
    out: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, cookies=admin_jar, timeout=300) as client:
        out["health"] = _time(client, "/api/v1/health", rounds)
        out["admin_dashboard"] = _time(client, "/admin", rounds)
        out["county_drilldown"] = _time(client, f"/admin/regions/{county}", rounds)
        if csv:
            before = _peak_rss_mb(server)
            started = time.perf_counter()
            size = 0
            with client.stream("GET", "/admin/compliance.csv", params={"level": "teacher"}) as r:
                r.raise_for_status()
                for chunk in r.iter_bytes():
                    size += len(chunk)
            after = _peak_rss_mb(server)
            out["teacher_csv"] = {
                "mb": round(size / 1e6, 1), "seconds": round(time.perf_counter() - started, 1),
                "server_peak_rss_growth_mb": round(after - before, 1) if before and after else None,
            }  # fmt: skip
    with httpx.Client(base_url=server.url, cookies=teacher_jar, timeout=60) as client:
        out["teacher_dashboard"] = _time(client, "/teacher", rounds)
    return out


def run(
    province_url: str, *, rounds: int = 40, log: Callable[[str], None] = print
) -> dict[str, Any]:
    password = os.environ.get(PASSWORD_ENV, "yanxiu2026")
    temp = Path(tempfile.mkdtemp(prefix="yanxiu-webbench-"))
    results: dict[str, Any] = {}
    try:
        seeded = prepare_demo(CACHE_DIR, log=log)
        (temp / "demo").mkdir()
        db_file = temp / "demo" / "yanxiu.db"
        copy_sqlite(seeded, db_file)
        for name, folder, extra in (
            ("demo", temp / "demo", {}),
            ("province", temp / "province", {"YANXIU_DATABASE_URL": province_url}),
        ):
            folder.mkdir(exist_ok=True)
            log(f"serving the {name} database …")
            server = start_server(folder, db_file, data_dir=seeded.parent / "var", extra_env=extra)
            try:
                url = province_url if name == "province" else f"sqlite:///{db_file}"
                results[name] = measure(server, url, password, rounds, csv=name == "province")
            finally:
                server.stop()
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    ratios = {
        k: round(results["province"][k]["p95_ms"] / results["demo"][k]["p95_ms"], 2)
        for k in ("health", *TARGETS_P95_MS)
        if results["demo"][k]["p95_ms"]
    }
    verdicts = {k: results["province"][k]["p95_ms"] <= v for k, v in TARGETS_P95_MS.items()}
    return {"rounds": rounds, **results, "p95_ratio_province_to_demo": ratios,
            "targets_p95_ms": TARGETS_P95_MS, "pass": all(verdicts.values())}  # fmt: skip


def format_report(result: dict[str, Any]) -> str:
    lines = [f"{'endpoint':<20}{'demo p50':>10}{'demo p95':>10}{'prov. p50':>11}{'prov. p95':>11}"
             f"{'ratio':>8}{'target':>9}"]  # fmt: skip
    for k in ("health", *TARGETS_P95_MS):
        d, p = result["demo"][k], result["province"][k]
        target = TARGETS_P95_MS.get(k)
        lines.append(
            f"{k:<20}{d['p50_ms']:>10}{d['p95_ms']:>10}{p['p50_ms']:>11}{p['p95_ms']:>11}"
            f"{result['p95_ratio_province_to_demo'].get(k, ''):>8}"
            f"{(f'≤{target:g}' if target else 'baseline'):>9}"
        )
    csv = result["province"].get("teacher_csv")
    if csv:
        lines.append(
            f"province teacher CSV: {csv['mb']} MB in {csv['seconds']} s; server peak memory grew "
            f"{csv['server_peak_rss_growth_mb']} MB while streaming it"
        )
    lines.append("PASS" if result["pass"] else "FAIL")
    return "\n".join(lines)
