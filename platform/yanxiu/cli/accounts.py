"""Running a centre: the first administrator, staff accounts, roster import and its benchmark."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from yanxiu.cli.app import app, bench_app, fail, import_app
from yanxiu.config import get_settings
from yanxiu.errors import DomainError


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Option("--username", help="Login name (letters, digits, . _ -)")],
    role: Annotated[str, typer.Option("--role", help="admin, trainer or host")] = "admin",
    region: Annotated[str | None, typer.Option("--region", help="Region name or code (its scope); "
                                               "on an empty install the top region is created")] = None,
    level: Annotated[str | None, typer.Option("--level", help="Level of a created top region: "
                                              "province, city or county (guessed from the name)")] = None,
    name: Annotated[str, typer.Option("--name", help="Display name")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    one_time: Annotated[bool, typer.Option("--one-time", help="Print a one-time password (changed at first login)")] = False,
) -> None:  # fmt: skip
    """Create an account (the first administrator on an empty install). Without --password-stdin
    or --one-time the password is asked for (typed twice, hidden)."""
    from sqlalchemy import func, select

    from yanxiu.accounts.manage import STAFF_ROLES, create_account
    from yanxiu.accounts.models import Region, RegionLevel
    from yanxiu.accounts.org import ensure_top_region
    from yanxiu.accounts.passwords import RULES_TEXT, check_password
    from yanxiu.db import migrate, session_scope
    from yanxiu.runtime import get_engine, get_session_factory

    settings = get_settings()
    wanted = next((r for r in STAFF_ROLES if r.value == role), None)
    if wanted is None:  # teachers come with a profile, from the roster import
        raise fail(
            ValueError(
                f"--role 应为 admin、trainer 或 host（得到 {role}）；教师请用 yanxiu import roster"
            )
        )
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not one_time:
        if not sys.stdin.isatty():
            raise fail(ValueError("没有终端可输入密码：请用 --password-stdin 或 --one-time"))
        typer.echo(RULES_TEXT)
        password = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    try:
        if password is not None:
            check_password(password, username=username)
        migrate.upgrade(get_engine(settings))
        with session_scope(get_session_factory(settings)) as session:
            if region is None:
                tops = list(session.scalars(select(Region).where(Region.parent_id.is_(None))))
                if len(tops) != 1:
                    count = session.scalar(select(func.count(Region.id)))
                    raise DomainError(
                        "请用 --region 指定账号所属区域"
                        + ("（空系统上将创建该顶级区域）" if not count else "")
                    )
                region_obj = tops[0]
            else:
                region_obj = ensure_top_region(session, name=region, level=RegionLevel(level) if level else None,
                                               policy_code=settings.policy, actor_id=None)  # fmt: skip
            made = create_account(session, actor_id=None, scope=None, username=username,
                                  display_name=name or username, role=wanted, region_id=region_obj.id,
                                  password=password, must_change=False)  # fmt: skip
            where = f"{region_obj.name}（{region_obj.level.value}）"
    except (DomainError, ValueError) as err:
        raise fail(ValueError(getattr(err, "message", str(err)))) from err
    typer.echo(f"created {wanted.value} {made.username} in {where}")
    if made.password:
        typer.echo(f"one-time password (must be changed at first login): {made.password}")


@import_app.command("roster")
def import_roster(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="XLSX or CSV roster")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing")] = False,
    initial_password_stdin: Annotated[bool, typer.Option("--initial-password-stdin",
                                      help="Read new teachers' initial password from stdin")] = False,
    cycle_start: Annotated[str | None, typer.Option(help="Training cycle start of new teachers (YYYY-MM-DD)")] = None,
) -> None:  # fmt: skip
    """Import a teacher roster (all or nothing; every bad row reported by row and column)."""
    from yanxiu.accounts.roster_job import (
        RosterOutcome,
        RosterRejected,
        initial_password_for,
        run_roster_import,
    )
    from yanxiu.credits.policy import load_policies
    from yanxiu.db import session_scope  # noqa: F401  (the factory below)
    from yanxiu.runtime import get_session_factory

    settings = get_settings()
    policy = load_policies(settings.content_dir / "policies")[settings.policy]
    given = sys.stdin.readline().rstrip("\r\n") if initial_password_stdin else ""
    try:
        password, generated = initial_password_for(given)
    except DomainError as err:
        raise fail(ValueError(err.message)) from err
    rules = _rules(policy, cycle_start)
    outcome = RosterOutcome(filename=file.name, dry_run=dry_run)
    try:
        summary = run_roster_import(_Echo(), factory=get_session_factory(settings), data=file.read_bytes(),
                                    outcome=outcome, rules=rules, actor_id=None, scope=None,
                                    initial_password=password)  # fmt: skip
    except RosterRejected as err:
        for p in outcome.problems:
            typer.echo(
                f"  {p.where}{'，“' + p.column + '”列' if p.column else ''}：{p.message}", err=True
            )
        raise fail(ValueError(str(err))) from err
    for warning in outcome.warnings:
        typer.echo(f"注意：{warning}")
    typer.echo(summary)
    if dry_run:
        for kind, rows in outcome.samples.items():
            for r in rows[:20]:
                typer.echo(
                    f"  {outcome.kind_labels[kind]}  第 {r['row']} 行 {r['staff_no']} {r['name']} {r['details']}"
                )
    elif generated and outcome.counts.get("create"):
        typer.echo(f"新教师的初始密码（首次登录须修改）：{password}")


def _rules(policy, cycle_start: str | None):
    from yanxiu.accounts.roster import RosterRules

    today = date.today()
    start = date.fromisoformat(cycle_start) if cycle_start else school_year_start(today)
    return RosterRules(tiers=tuple(policy.tiers), induction_tier=policy.induction_tier,
                       cycle_start=start, today=today)  # fmt: skip


def school_year_start(today: date) -> date:
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


class _Echo:
    def set_total(self, total: int) -> None: ...

    def advance(self, steps: int = 1, message: str | None = None) -> None:
        if message:
            typer.echo(message, err=True)


@bench_app.command("import")
def bench_import(
    rows: Annotated[int, typer.Option("--rows", help="Teachers in the synthetic roster")] = 10_000,
) -> None:
    """Time a roster import of a synthetic XLSX (dry run, import, the same file again)."""
    from yanxiu.lab.roster_bench import bench_roster_import

    r = bench_roster_import(rows)
    typer.echo(
        f"roster of {r.rows} rows ({r.xlsx_bytes / 1024:.0f} KB XLSX, built in {r.build_s:.1f} s)"
    )
    typer.echo(f"  dry run          {r.dry_run_s:6.1f} s")
    typer.echo(f"  import           {r.import_s:6.1f} s  ({r.created} created)")
    typer.echo(f"  same file again  {r.reimport_s:6.1f} s  ({r.reimport_changes} changes)")
