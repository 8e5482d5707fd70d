"""Province-scale data and the web benchmark on it (``yanxiu lab province``, ``yanxiu bench web``)."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from yanxiu.cli.app import app, bench_app, fail
from yanxiu.config import get_settings

lab_app = typer.Typer(help="Synthetic data for benchmarks", no_args_is_help=True)
app.add_typer(lab_app, name="lab")


@lab_app.command("province")
def province_cmd(
    database_url: Annotated[str, typer.Option(help="An EMPTY database (PostgreSQL for scale)")],
    teachers: Annotated[int, typer.Option(help="Teachers")] = 100_000,
    schools: Annotated[int, typer.Option(help="Schools")] = 2_000,
    records: Annotated[int, typer.Option(help="Ledger records per teacher (mean)")] = 30,
) -> None:
    """Write a synthetic province (teachers, schools, ledgers) and take its snapshots."""
    from yanxiu.lab.province import generate

    settings = get_settings().model_copy(update={"database_url": database_url})
    password = os.environ.get("YANXIU_DEMO_PASSWORD", "yanxiu2026")
    try:
        summary = generate(settings, teachers=teachers, schools=schools,
                           records_per_teacher=records, password=password)  # fmt: skip
    except ValueError as err:
        raise fail(err) from err
    typer.echo(
        f"{summary.teachers:,} teachers in {summary.schools:,} schools, {summary.records:,} "
        f"ledger records in {summary.seconds} s; snapshots in {summary.snapshot_seconds} s"
    )


@bench_app.command("web")
def bench_web_cmd(
    province_url: Annotated[str, typer.Option(help="A database written by `yanxiu lab province`")],
    rounds: Annotated[int, typer.Option(help="Requests per endpoint")] = 40,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Admin and teacher dashboards on a province against the demo, in the same run."""
    from yanxiu.lab.web_bench import format_report, run

    result = run(province_url, rounds=rounds, log=lambda m: typer.echo(m, err=True))
    typer.echo(json.dumps(result, ensure_ascii=False) if as_json else format_report(result))
    if not result["pass"]:
        raise typer.Exit(1)
