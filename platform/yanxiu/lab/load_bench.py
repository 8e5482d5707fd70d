"""Web load benchmark: the teacher dashboard and the live-search partial under concurrent users.

``python -m yanxiu.lab.load_bench [--users 50] [--seconds 20] [--json]``

1. Seeds the demo into a SQLite file (cached under ``var/bench/web`` and reused while the
   schema, the seed and the roster are unchanged; ``--fresh`` seeds into a temp dir).
2. Starts the app with uvicorn in a **separate process** on a free loopback port, exactly as
   ``yanxiu serve`` does (one process, default settings).
3. Logs in ``--users`` distinct demo teachers (t001, t002, …), each with its own cookies.
4. Every user loops for ``--seconds``: ``GET /teacher`` (dashboard), ``GET /courses/search?q=…``
   (the htmx partial, varied Chinese queries) and ``GET /api/v1/health``, with a think time
   between requests. The health endpoint is the **baseline**, measured in the same run under
   the same load: its latency is what the server, the event loop, the session middleware and
   this client cost, so ``endpoint / baseline`` shows what the page itself adds.

The target (issue 6): p95 ≤ 100 ms for the dashboard and the search partial, no errors. The
report prints PASS or FAIL; the exit code is 1 on FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yanxiu import __version__
from yanxiu.config import PROJECT_ROOT, Settings

DEFAULT_USERS = 50
DEFAULT_SECONDS = 20.0
TARGET_P95_MS = 100.0
PASSWORD_ENV = "YANXIU_DEMO_PASSWORD"
CACHE_DIR = PROJECT_ROOT / "var" / "bench" / "web"

# What teachers type into the catalog's live search (partial words included, as typed).
QUERIES = (
    "课堂提问",
    "师德师风",
    "信息技术应用能力",
    "作业设计",
    "班主任工作",
    "整本书阅读",
    "心理健康教育",
    "大单元教学设计",
    "双减背景下的作业",
    "实验教学",
    "家校沟通",
    "差异化教学",
    "课堂评价",
    "乡村教师",
    "人工智能助教",
    "劳动教育",
    "小学数学",
    "初中物理实验",
    "英语阅读",
    "教育惩戒",
    "深度学习",
    "跨学科主题学习",
    "读写结合",
    "教学反思",
)

Endpoint = tuple[str, Callable[[random.Random], str], dict[str, str]]
ENDPOINTS: tuple[Endpoint, ...] = (
    ("dashboard", lambda rng: "/teacher", {}),
    ("search", lambda rng: f"/courses/search?q={rng.choice(QUERIES)}", {"HX-Request": "true"}),
    ("baseline", lambda rng: "/api/v1/health", {}),
)
MEASURED = ("dashboard", "search")
BASELINE = "baseline"


# -- the server, in its own process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A uvicorn process serving one database on a loopback port."""

    url: str
    folder: Path
    process: subprocess.Popen[bytes]
    log: Path
    started_in: float | None = None  # seconds until every worker was ready

    def ready_workers(self) -> int:
        """How many worker processes have finished starting (their lifespan ran)."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return text.count("Application startup complete")

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server has used so far: the process and its children
        (``--workers N``: uvicorn's supervisor and its N worker processes; Linux only)."""
        return tree_cpu_seconds(self.process.pid)

    def worker_pids(self) -> list[int]:
        """uvicorn's worker processes (not multiprocessing's resource tracker)."""
        pids = []
        for pid, (ppid, _, _) in _proc_table().items():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if ppid == self.process.pid and b"spawn_main" in command:
                pids.append(pid)
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def connections_per_worker(server: LiveServer) -> list[int]:
    """Established client connections each worker process holds (Linux /proc): uvicorn's
    workers share one listening socket and a kept-alive connection stays with the worker that
    accepted it, so an uneven split leaves one worker queueing while another idles."""
    port = int(server.url.rsplit(":", 1)[1])
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                established.add(fields[9])  # the socket's inode
    counts = []
    for pid in sorted(server.worker_pids()) or [server.process.pid]:
        held = 0
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in established:
                    held += 1
        except OSError:
            continue
        counts.append(held)
    return counts


def _proc_table() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, command name, CPU seconds so far) of every process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:  # gone meanwhile
            continue
        fields = tail.split()
        name = head.split("(", 1)[1]
        table[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / tick)
    return table


def tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds of ``root`` and all its descendants, or None without /proc."""
    if not Path(f"/proc/{root}/stat").exists():
        return None
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][2]
        todo.extend(children.get(pid, ()))
    return total


def named_cpu_seconds(name: str) -> float:
    """CPU seconds of every process called ``name`` (e.g. the PostgreSQL server's)."""
    return sum(cpu for _, command, cpu in _proc_table().values() if command == name)


def machine_cpu_seconds() -> float | None:
    """Busy CPU seconds of the whole machine, all cores (from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the load client)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_server(
    folder: Path,
    db_file: Path,
    *,
    data_dir: Path | None = None,
    embed_backend: str = "lexical",
    ready_timeout: float = 180.0,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> LiveServer:
    """Serve ``db_file`` with uvicorn in a subprocess on a free loopback port.

    Returns once ``/api/v1/health`` answers 200 (the lifespan has built the search index).
    Output goes to ``folder/server.log``.
    """
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "YANXIU_ENV": "test",
        "YANXIU_DATABASE_URL": f"sqlite:///{db_file}",
        "YANXIU_DATA_DIR": str(data_dir or folder / "var"),
        "YANXIU_EMBED_BACKEND": embed_backend,
        "YANXIU_LOG_LEVEL": "warning",
        "YANXIU_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **(extra_env or {}),
    }
    log = folder / "server.log"
    # info level (without the access log) so that each worker's "Application startup complete"
    # shows: with --workers N, /health answers as soon as one worker is up.
    command = [sys.executable, "-m", "uvicorn", "--factory", "yanxiu.app:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "info",
               "--no-access-log"]  # fmt: skip
    if workers > 1:  # as `yanxiu serve --workers N` runs them (see WORKER_HEALTHCHECK_SECONDS)
        command += ["--workers", str(workers), "--timeout-worker-healthcheck", "60"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = LiveServer(f"http://127.0.0.1:{port}", folder, process, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{server.tail()}")
        try:
            up = httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            up = False
        if up and server.ready_workers() >= workers:
            server.started_in = round(time.monotonic() - (deadline - ready_timeout), 1)
            return server
        time.sleep(0.3)
    ready = server.ready_workers()
    server.stop()
    raise RuntimeError(
        f"{ready} of {workers} server worker(s) were ready within {ready_timeout:.0f} s "
        f"(--start-timeout):\n{server.tail()}"
    )


# -- the demo database


def demo_fingerprint() -> str:
    """Changes when the schema, the demo seed or the roster change (then the cache reseeds)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(__version__.encode())
    for path in sorted((package / "db" / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode())
    for path in (package / "seed" / "demo.py", PROJECT_ROOT / "content" / "demo" / "roster.yaml"):
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def demo_settings(db_file: Path, data_dir: Path, embed_backend: str) -> Settings:
    return Settings(
        env="test",
        database_url=f"sqlite:///{db_file}",
        data_dir=data_dir,
        embed_backend=embed_backend,
        _env_file=None,
    )


def prepare_demo(folder: Path, *, log: Callable[[str], None] = print) -> Path:
    """The seeded demo database in ``folder`` (seeded now unless a matching one is there)."""
    from yanxiu.setup import initialise

    folder.mkdir(parents=True, exist_ok=True)
    db_file, stamp = folder / "yanxiu.db", folder / "stamp.txt"
    fingerprint = demo_fingerprint()
    if db_file.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint:
        log(f"reusing the seeded demo in {folder}")
        return db_file
    for name in ("yanxiu.db", "yanxiu.db-wal", "yanxiu.db-shm", "stamp.txt"):
        (folder / name).unlink(missing_ok=True)
    log(f"seeding the demo into {folder} (once; reused by later runs) …")
    started = time.monotonic()
    initialise(demo_settings(db_file, folder / "var", "lexical"), demo=True, progress=False)
    stamp.write_text(fingerprint)
    log(f"seeded in {time.monotonic() - started:.0f} s")
    return db_file


def prepare_server_demo(url: str, folder: Path, *, log: Callable[[str], None] = print) -> None:
    """The demo seeded into the server database at ``url`` (once: reused while it has t001)."""
    from sqlalchemy import create_engine, inspect, text

    from yanxiu.setup import initialise

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            seeded = "users" in inspect(conn).get_table_names() and conn.scalar(
                text("SELECT count(*) FROM users WHERE username = 't001'")
            )
    finally:
        engine.dispose()
    if seeded:
        log(f"reusing the demo seeded in {url}")
        return
    log(f"seeding the demo into {url} …")
    settings = Settings(env="test", database_url=url, data_dir=folder / "var",
                        embed_backend="lexical", _env_file=None)  # fmt: skip
    initialise(settings, demo=True, progress=False)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, WAL included (the backup API)."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


# -- the load


@dataclass
class Samples:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0  # the client gave up (no answer within the client timeout)
    server_errors: int = 0  # HTTP 5xx
    retried: int = 0  # sent again after the server closed an idle kept-alive connection
    error_examples: list[str] = field(default_factory=list)

    def add(
        self, ms: float, error: str | None, *, timeout: bool = False, status: int = 200
    ) -> None:
        self.latencies_ms.append(ms)
        if error is not None:
            self.errors += 1
            self.timeouts += timeout
            self.server_errors += status >= 500
            if len(self.error_examples) < 5:
                self.error_examples.append(error)


def login_users(url: str, usernames: Sequence[str], password: str) -> list[dict[str, str]]:
    """Log each user in through the form (GET token, POST); returns their cookies. Four at a
    time (each login hashes a password: seconds of CPU for 200 users)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda name: _login(url, name, password), usernames))


def _login(url: str, username: str, password: str) -> dict[str, str]:
    import re

    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        page = client.get("/login").text
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if not match:
            raise RuntimeError("the login page carries no CSRF token")
        answer = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": match.group(1),
                  "next": "/teacher"},
        )  # fmt: skip
        if answer.status_code != 303:
            raise RuntimeError(f"login as {username} failed: HTTP {answer.status_code}")
        return dict(client.cookies.items())


CLIENT_TIMEOUT = 30.0


async def _user_loop(
    client: Any,
    samples: dict[str, Samples],
    *,
    rng: random.Random,
    warmup_until: float,
    until: float,
    think: tuple[float, float],
) -> None:
    import httpx

    await asyncio.sleep(rng.uniform(0, think[1]))  # users don't all start together
    turn = rng.randrange(len(ENDPOINTS))
    while (now := time.monotonic()) < until:
        name, make_path, headers = ENDPOINTS[turn % len(ENDPOINTS)]
        turn += 1
        error: str | None = None
        timeout, status = False, 200
        started = time.perf_counter()
        try:
            path = make_path(rng)
            try:
                answer = await client.get(path, headers=headers)
            except httpx.RemoteProtocolError:
                # the server closed the kept-alive connection as this request went out (idle
                # past its keep-alive timeout): a browser sends it again on a new one, so do we
                samples[name].retried += now >= warmup_until
                answer = await client.get(path, headers=headers)
            await answer.aread()
            status = answer.status_code
            if status != 200:
                error = f"{name}: HTTP {status} {answer.headers.get('location', '')}"
        except httpx.TimeoutException as exc:
            error, timeout = (
                f"{name}: {type(exc).__name__} (no answer in {CLIENT_TIMEOUT:.0f} s)",
                True,
            )
        except httpx.HTTPError as exc:
            error = f"{name}: {type(exc).__name__} {exc}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        if now >= warmup_until:
            samples[name].add(elapsed_ms, error, timeout=timeout, status=status)
        await asyncio.sleep(rng.uniform(*think))


async def _loop_lag(until: float, lags: list[float], period: float = 0.05) -> None:
    """How late this client's event loop wakes up (ms): when high, the client itself is
    starved of CPU and adds that to every latency it measures."""
    while time.monotonic() < until:
        started = time.perf_counter()
        await asyncio.sleep(period)
        lags.append((time.perf_counter() - started - period) * 1000)


async def run_load(
    url: str,
    jars: Sequence[dict[str, str]],
    *,
    seconds: float,
    warmup: float,
    think: tuple[float, float],
    seed: int = 7,
    lags: list[float] | None = None,
) -> dict[str, Samples]:
    """Every user (its own connection and cookies) loops over the endpoints. The clients are
    made before the clock starts (making 200 of them costs seconds of CPU)."""
    import httpx

    samples = {name: Samples() for name, _, _ in ENDPOINTS}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(
            base_url=url,
            cookies=jar,
            timeout=CLIENT_TIMEOUT,
            limits=limits,
            follow_redirects=False,
            verify=False,
        )  # fmt: skip
        for jar in jars
    ]
    start = time.monotonic()
    warmup_until, until = start + warmup, start + warmup + seconds
    try:
        await asyncio.gather(
            _loop_lag(until, lags if lags is not None else []),
            *(
                _user_loop(
                    client,
                    samples,
                    rng=random.Random(seed + i),
                    warmup_until=warmup_until,
                    until=until,
                    think=think,
                )  # fmt: skip
                for i, client in enumerate(clients)
            ),
        )
    finally:
        for client in clients:
            await client.aclose()
    return samples


def solo_latencies(url: str, cookies: dict[str, str], *, rounds: int = 15) -> dict[str, float]:
    """Median latency of each endpoint for one user alone (the page's own cost, no queueing)."""
    import httpx

    rng = random.Random(1)
    medians = {}
    with httpx.Client(base_url=url, cookies=cookies, timeout=30) as client:
        for name, make_path, headers in ENDPOINTS:
            client.get(make_path(rng), headers=headers)  # warm
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                client.get(make_path(rng), headers=headers).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            medians[name] = round(statistics.median(times), 1)
    return medians


# -- the report


def percentile(sorted_ms: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    if not sorted_ms:
        return float("nan")
    rank = max(1, min(len(sorted_ms), round(q / 100 * len(sorted_ms) + 0.5)))
    return float(sorted_ms[rank - 1])


def summarise(samples: dict[str, Samples], seconds: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, s in samples.items():
        ms = sorted(s.latencies_ms)
        out[name] = {
            "requests": len(ms),
            "errors": s.errors,
            "timeouts": s.timeouts,
            "server_errors": s.server_errors,
            "retried": s.retried,
            "error_examples": s.error_examples,
            "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "mean_ms": round(statistics.fmean(ms), 1) if ms else float("nan"),
            "max_ms": round(ms[-1], 1) if ms else float("nan"),
            "throughput_rps": round(len(ms) / seconds, 1),
        }
    return out


def verdict(endpoints: dict[str, dict[str, Any]], target_p95: float) -> bool:
    return all(
        endpoints[n]["requests"] > 0
        and endpoints[n]["errors"] == 0
        and endpoints[n]["p95_ms"] <= target_p95
        for n in MEASURED
    )


def diagnosis(result: dict[str, Any]) -> str:
    """One line on what limited this run, from the figures (not a guess): the health
    endpoint's p95 is the server's queueing, the CPU shares say whose."""
    e, cpu = result["endpoints"], result.get("cpu") or {}
    base = e[BASELINE]
    cores = (result.get("machine") or {}).get("cpus") or 1
    busy = cpu.get("machine_busy_share")
    if base["requests"] == 0:
        return "no request completed: see the errors"
    if base["p95_ms"] <= result["target_p95_ms"] / 2:
        return "the server kept up: the health endpoint answers as fast under load as alone"
    lag = result.get("client_loop_lag_ms") or {}
    parts = []
    if busy is not None and busy >= 0.9:
        parts.append(f"the machine's {cores} cores were {busy * 100:.0f}% busy (CPU-bound)")
    shares = [(k, cpu.get(k)) for k in ("server_share", "database_share", "client_share",
                                         "others_share")]  # fmt: skip
    named = {"server_share": "server", "database_share": "PostgreSQL", "client_share":
             "this load client", "others_share": "other processes"}  # fmt: skip
    parts.append(
        "CPU: " + ", ".join(f"{named[k]} {v * 100:.0f}%" for k, v in shares if v is not None)
    )
    spread = result.get("connections_per_worker") or []
    if len(spread) > 1 and min(spread) * 1.5 < max(spread):
        parts.append(
            f"connections split unevenly over the workers ({' / '.join(map(str, spread))})"
        )
    if lag.get("p95", 0) > 50:
        parts.append(f"the client's own event loop ran {lag['p95']:.0f} ms late (p95): "
                     "part of every latency is the client waiting for CPU")  # fmt: skip
    return "; ".join(parts)


def format_report(result: dict[str, Any]) -> str:
    e = result["endpoints"]
    lines = [
        f"Web load benchmark — {result['users']} concurrent teachers, {result['seconds']:.0f} s "
        f"(+{result['warmup']:.0f} s warm-up), think time {result['think_ms'][0]}–"
        f"{result['think_ms'][1]} ms, search backend {result['embed_backend']}, "
        f"uvicorn in a separate process ({result.get('workers', 1)} worker(s), "
        f"{result.get('database', 'sqlite')}) on loopback",
        "",
        f"{'endpoint':<28}{'requests':>9}{'errors':>8}{'timeout':>8}{'5xx':>5}{'p50 ms':>9}"
        f"{'p95 ms':>9}{'max ms':>9}{'req/s':>8}{'p95×':>7}",
    ]
    base = e[BASELINE]
    labels = {"dashboard": "GET /teacher", "search": "GET /courses/search", BASELINE:
              "GET /api/v1/health (base)"}  # fmt: skip
    for name in (*MEASURED, BASELINE):
        row = e[name]
        r95 = row["p95_ms"] / base["p95_ms"] if base["p95_ms"] else float("nan")
        lines.append(
            f"{labels[name]:<28}{row['requests']:>9}{row['errors']:>8}{row.get('timeouts', 0):>8}"
            f"{row.get('server_errors', 0):>5}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
            f"{row['max_ms']:>9.1f}{row['throughput_rps']:>8.1f}{r95:>7.1f}"
        )
    lines.append("")
    retried = sum(row.get("retried", 0) for row in e.values())
    if retried:
        lines.append(f"{retried} request(s) sent again after the server closed an idle "
                     "kept-alive connection (as browsers do; not errors)")  # fmt: skip
    total = sum(row["requests"] for row in e.values())
    lines.append(f"total {total} requests, {total / result['seconds']:.1f} req/s")
    if result.get("started_in") is not None:
        lines.append(f"server start: every worker ready in {result['started_in']:.1f} s")
    cpu = result.get("cpu") or {}
    if cpu.get("server") is not None:
        seconds = cpu.get("wall_seconds") or result["seconds"]
        lines.append(
            f"CPU over the run ({seconds:.0f} s wall, s): server {cpu['server']:.1f} ({cpu['server'] / max(total, 1) * 1000:.1f} "
            f"ms per request), PostgreSQL {cpu.get('database', 0):.1f}, this client "
            f"{cpu.get('client', 0):.1f}, whole machine {cpu.get('machine', 0):.1f} of "
            f"{seconds * (result.get('machine') or {}).get('cpus', 1):.0f} available"
        )
    if result.get("connections_per_worker"):
        lines.append(
            "client connections per worker (mid-run): "
            + " / ".join(str(n) for n in result["connections_per_worker"])
        )
    lag = result.get("client_loop_lag_ms") or {}
    if lag:
        lines.append(f"client event-loop lag: p50 {lag['p50']:.0f} ms, p95 {lag['p95']:.0f} ms")
    solo = result.get("solo_p50_ms") or {}
    if solo:
        lines.append(
            "one user alone (median): "
            + ", ".join(f"{labels[n]} {solo[n]:.1f} ms" for n in (*MEASURED, BASELINE) if n in solo)
        )
    machine = result.get("machine") or {}
    if machine:
        lines.append(
            f"machine: {machine['cpus']} CPUs, load average {machine['load_before']} → "
            f"{machine['load_after']} (other processes compete with the server and this client)"
        )
    for name in (*MEASURED, BASELINE):
        for example in e[name]["error_examples"]:
            lines.append(f"error: {example}")
    lines.append(f"what limited it: {result.get('diagnosis', '')}")
    lines.append(
        f"VERDICT: {'PASS' if result['pass'] else 'FAIL'} — target p95 ≤ "
        f"{result['target_p95_ms']:.0f} ms and no errors for the dashboard "
        f"(p95 {e['dashboard']['p95_ms']:.0f} ms, {e['dashboard']['errors']} errors) and the "
        f"search partial (p95 {e['search']['p95_ms']:.0f} ms, {e['search']['errors']} errors); "
        f"health p95 {base['p95_ms']:.0f} ms, {base['errors']} errors in the same run"
    )
    return "\n".join(lines)


def run(
    *,
    users: int = DEFAULT_USERS,
    seconds: float = DEFAULT_SECONDS,
    warmup: float = 3.0,
    think_ms: tuple[int, int] = (500, 1500),
    embed_backend: str = "e5",
    fresh: bool = False,
    cache_dir: Path = CACHE_DIR,
    target_p95: float = TARGET_P95_MS,
    database_url: str | None = None,
    workers: int = 1,
    start_timeout: float | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Seed or reuse the demo, serve it in a subprocess, load it, and return the figures.

    With ``database_url`` (PostgreSQL) the demo is seeded into that server database and the
    app runs ``workers`` uvicorn processes sharing it (sessions, throttles and jobs shared)."""
    if users < 1 or users > 300:
        raise ValueError("--users must be between 1 and 300 (the demo has t001…t300)")
    # every worker loads the embedder and builds its index: on 2 shared cores that is minutes
    start_timeout = start_timeout or 120.0 + 90.0 * workers
    temp = Path(tempfile.mkdtemp(prefix="yanxiu-loadbench-"))
    try:
        seeded = prepare_demo(temp / "seed" if fresh else cache_dir, log=log)
        run_dir = temp / "run"
        run_dir.mkdir()
        db_file = run_dir / "yanxiu.db"
        copy_sqlite(seeded, db_file)  # logins write audit rows: keep the cached copy clean
        # The search index and embedding cache persist next to the cached database.
        data_dir = (seeded.parent / "var") if not fresh else run_dir / "var"
        extra: dict[str, str] = {}
        if database_url:
            prepare_server_demo(database_url, run_dir, log=log)
            extra["YANXIU_DATABASE_URL"] = database_url
        log(f"starting the server ({workers} worker(s), search backend {embed_backend}) …")
        server = start_server(run_dir, db_file, data_dir=data_dir, embed_backend=embed_backend,
                              extra_env=extra, workers=workers, ready_timeout=start_timeout)  # fmt: skip
        log(f"every worker ready in {server.started_in} s")
        try:
            password = os.environ.get(PASSWORD_ENV, "yanxiu2026")
            usernames = [f"t{i:03d}" for i in range(1, users + 1)]
            log(f"logging in {users} teachers ({usernames[0]}…{usernames[-1]}) …")
            jars = login_users(server.url, usernames, password)
            log("one user alone: median latency per endpoint …")
            solo = solo_latencies(server.url, jars[0])
            log(f"loading for {seconds:.0f} s (+{warmup:.0f} s warm-up) …")
            load_before = os.getloadavg()[0]
            lags: list[float] = []
            spread: list[int] = []
            sampler = threading.Timer(warmup + seconds / 2,
                                      lambda: spread.extend(connections_per_worker(server)))  # fmt: skip
            sampler.start()
            before, wall = _cpu_now(server), time.monotonic()
            samples = asyncio.run(
                run_load(
                    server.url,
                    jars,
                    seconds=seconds,
                    warmup=warmup,
                    think=(think_ms[0] / 1000, think_ms[1] / 1000),
                    lags=lags,
                )  # fmt: skip
            )
            after, wall = _cpu_now(server), time.monotonic() - wall
            sampler.cancel()
            load_after = os.getloadavg()[0]
            if server.process.poll() is not None:
                raise RuntimeError(f"the server died under load:\n{server.tail()}")
        finally:
            server.stop()
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    endpoints = summarise(samples, seconds)
    base = endpoints[BASELINE]
    ratios = {
        name: {
            "p50": round(endpoints[name]["p50_ms"] / base["p50_ms"], 2) if base["p50_ms"] else None,
            "p95": round(endpoints[name]["p95_ms"] / base["p95_ms"], 2) if base["p95_ms"] else None,
        }
        for name in MEASURED
    }
    cpu = _cpu_used(before, after, cores=os.cpu_count() or 1, seconds=wall)
    lags.sort()
    result = {
        "users": users,
        "workers": workers,
        "database": "postgresql" if database_url else "sqlite",
        "seconds": seconds,
        "warmup": warmup,
        "think_ms": list(think_ms),
        "embed_backend": embed_backend,
        "endpoints": endpoints,
        "ratios_to_baseline": ratios,
        "server_cpu_seconds": cpu.get("server"),
        "cpu": cpu,
        "client_loop_lag_ms": {
            "p50": round(percentile(lags, 50), 1),
            "p95": round(percentile(lags, 95), 1),
        }
        if lags
        else {},  # fmt: skip
        "started_in": server.started_in,
        "connections_per_worker": spread,
        "solo_p50_ms": solo,
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": round(load_before, 2),
            "load_after": round(load_after, 2),
        },
        "target_p95_ms": target_p95,
        "pass": verdict(endpoints, target_p95),
    }
    result["diagnosis"] = diagnosis(result)
    return result


def _cpu_now(server: LiveServer) -> dict[str, float | None]:
    return {"server": server.cpu_seconds(), "database": named_cpu_seconds("postgres"),
            "client": own_cpu_seconds(), "machine": machine_cpu_seconds()}  # fmt: skip


def _cpu_used(
    before: dict[str, float | None], after: dict[str, float | None], *, cores: int, seconds: float
) -> dict[str, float | None]:
    """CPU seconds each party used between two readings, and their shares of the machine."""
    used: dict[str, float | None] = {}
    for key in before:
        b, a = before[key], after[key]
        # PostgreSQL backends that exited during the run take their CPU time with them (a
        # pool that opens and closes connections): never below zero
        used[key] = round(max(0.0, a - b), 2) if a is not None and b is not None else None
    machine = used.get("machine")
    if machine:
        known = sum(used[k] or 0.0 for k in ("server", "database", "client"))
        used["others"] = round(max(0.0, machine - known), 2)
        for key in ("server", "database", "client", "others"):
            value = used.get(key)
            used[f"{key}_share"] = round(value / machine, 3) if value is not None else None
        used["machine_busy_share"] = round(machine / (cores * seconds), 3)
    used["wall_seconds"] = round(seconds, 1)
    return used


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m yanxiu.lab.load_bench",
        description="Teacher dashboard and live search under concurrent users (p95 target).",
    )
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="concurrent teachers")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="measured time")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured warm-up seconds")
    parser.add_argument("--think-ms", type=int, nargs=2, default=(500, 1500),
                        metavar=("MIN", "MAX"), help="think time between a user's requests")  # fmt: skip
    parser.add_argument("--backend", default="e5", choices=("lexical", "e5", "use"),
                        help="search embedding backend of the served app (e5: the product default)")  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="seed a new demo in a temp dir")
    parser.add_argument("--target-p95", type=float, default=TARGET_P95_MS, help="ms")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--database-url", help="serve this (PostgreSQL) database; the demo is "
                        "seeded into it once")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--start-timeout", type=float, default=None,
                        help="seconds for every worker to start (default 120 + 90 per worker)")  # fmt: skip
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = run(
        users=args.users,
        seconds=args.seconds,
        warmup=args.warmup,
        think_ms=(args.think_ms[0], args.think_ms[1]),
        embed_backend=args.backend,
        fresh=args.fresh,
        target_p95=args.target_p95,
        database_url=args.database_url,
        workers=args.workers,
        start_timeout=args.start_timeout,
        log=log,
    )
    print(json.dumps(result, ensure_ascii=False) if args.json else format_report(result))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
