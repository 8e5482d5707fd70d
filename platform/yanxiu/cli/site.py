"""Running a site: initialise, check content, demo logins, serve, import, export, report."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from yanxiu.cli.app import (
    app,
    export_app,
    fail,
    import_app,
    report_app,
)
from yanxiu.config import get_settings
from yanxiu.errors import InputError
from yanxiu.spreadsheet import csv_writer


@app.command()
def init(
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Seed the demo roster")] = False,
) -> None:
    """Migrate the database and load content (and the demo). Safe to run again."""
    from yanxiu.setup import initialise

    settings = get_settings()
    try:
        result = initialise(settings, demo=demo, progress=sys.stderr.isatty())
    except InputError as err:
        raise fail(err) from err
    c = result.content
    typer.echo(
        f"content: {len(c.resources)} resources, {len(c.cases)} cases, {len(c.competencies)} competencies, "
        f"policies {', '.join(sorted(c.policies))}"
    )
    typer.echo(f"catalog: {result.catalog}")
    if demo:
        if result.demo is None:
            typer.echo("demo: already seeded; left as it is")
        else:
            d = result.demo
            typer.echo(
                f"demo: {d.schools} schools, {d.teachers} teachers, {d.staff} staff, {d.studios} studios, "
                f"{d.cases} cases, {d.enrolments} enrolments, {d.credits} credit records, "
                f"{d.attendance} attendance records, {d.pushes} pushes"
            )


@app.command("validate-content")
def validate_content() -> None:
    """Check every file in content/ and report all problems."""
    from yanxiu.content import load_content

    try:
        c = load_content(get_settings().content_dir)
    except InputError as err:
        raise fail(err) from err
    typer.echo(
        f"ok: {len(c.resources)} resources, {len(c.cases)} cases, {len(c.policies)} policies"
    )


@app.command("demo-logins")
def demo_logins() -> None:
    """Print one demo login per role."""
    from yanxiu.db import session_scope
    from yanxiu.runtime import get_session_factory
    from yanxiu.seed.demo import demo_logins as logins
    from yanxiu.seed.demo import featured_logins

    settings = get_settings()
    with session_scope(get_session_factory(settings)) as session:
        rows = logins(session, featured_logins(settings.content_dir))
    if not rows:
        typer.echo("no demo accounts (run `yanxiu init --demo`)")
        return
    labels = {"admin": "管理员", "trainer": "培训者", "host": "工作室主持人", "teacher": "教师"}
    typer.echo(f"Demo logins (password: {settings.demo_password.get_secret_value()}):")
    for role, username, who in rows:
        typer.echo(f"  {labels[role]:<8} {username:<18} {who}")


# uvicorn's supervisor kills a worker that does not answer its ping within this time (its
# default, 5 s): a worker embedding the catalog at start on busy cores can hold the GIL that
# long, and was killed and restarted over and over (4 e5 workers never came up).
WORKER_HEALTHCHECK_SECONDS = 60


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (sessions, throttles and jobs "
            "are shared through the database, or Redis when YANXIU_REDIS_URL is set)",
        ),
    ] = 1,
) -> None:
    """Serve the web application (it runs background jobs itself unless
    YANXIU_JOBS_CONSUMER=separate, when `yanxiu worker` does)."""
    import uvicorn

    from yanxiu.config import is_loopback, weak_secret

    settings = get_settings()
    bind = host or settings.host
    if not is_loopback(bind) and weak_secret(settings.secret_key.get_secret_value()):
        typer.echo(
            f"拒绝在 {bind} 上提供服务：YANXIU_SECRET_KEY 太短或是公开过的示例值，任何人都能伪造登录会话。"
            "请删除该设置（将自动生成随机密钥保存在 var/secret_key），或设为至少 32 个字符的随机字符串。\n"
            f"Refusing to serve on {bind}: YANXIU_SECRET_KEY is weak or published; unset it "
            "(a random one is generated into var/secret_key) or set a random string of 32+ characters.",
            err=True,
        )
        raise typer.Exit(2)
    uvicorn.run(
        "yanxiu.app:create_app", factory=True, host=bind, port=port or settings.port,
        log_level=settings.log_level.lower(), workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )  # fmt: skip


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=16, help="Jobs run at once")] = 1,
) -> None:
    """Run background jobs from the queue (beside servers started with
    YANXIU_JOBS_CONSUMER=separate; several workers never run one job twice)."""
    from yanxiu.services import Services

    settings = get_settings()
    services = Services.create(settings)
    services.load_search()  # catalog imports refresh the index; re-scoring finds resources
    where = "Redis" if settings.redis_url else str(settings.data_dir / "job-queue.db")
    typer.echo(f"yanxiu worker: {threads} thread(s), queue {where}; Ctrl-C stops after the job")
    consumer = services.jobs.huey.create_consumer(
        workers=threads, worker_type="thread", periodic=False, max_delay=1.0
    )
    services.jobs.start_recovery()  # jobs a dead worker left "running": failed or re-queued
    services.start_catalog_watch()  # another process's catalog import: reload the index
    try:
        consumer.run()
    finally:
        services.jobs.stop_recovery()
        services.close()


@import_app.command("catalog")
def import_catalog(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, JSON or YAML")],
) -> None:
    """Import catalog resources; every bad row is reported and nothing is written."""
    from yanxiu.catalog.service import import_catalog_file
    from yanxiu.db import session_scope
    from yanxiu.runtime import get_session_factory

    try:
        with session_scope(get_session_factory(get_settings())) as session:
            counts = import_catalog_file(session, file)
    except InputError as err:
        raise fail(err) from err
    typer.echo(f"imported {file.name}: {counts}")


@export_app.command("ledger")
def export_ledger(
    fmt: Annotated[str, typer.Option("--format", help="csv or xapi")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout)")
    ] = None,
) -> None:
    """Export the hour ledger as CSV (all records) or xAPI statements (records that count)."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from yanxiu.accounts.models import User
    from yanxiu.credits.export import ledger_csv, xapi_statements
    from yanxiu.credits.ledger import ledger_entries
    from yanxiu.db import session_scope
    from yanxiu.runtime import get_session_factory

    settings = get_settings()
    with session_scope(get_session_factory(settings)) as session:
        entries = ledger_entries(session)
        people = {
            u.id: (u.username, u.display_name, u.school.name if u.school else "")
            for u in session.scalars(select(User).options(joinedload(User.school)))
        }
    if fmt == "csv":
        text = ledger_csv(entries, people)
    elif fmt == "xapi":
        text = json.dumps(
            list(xapi_statements(entries, people, home_page=settings.public_url)),
            ensure_ascii=False,
            indent=1,
        )
    else:
        raise fail(ValueError("--format must be csv or xapi"))
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.write(text)


@report_app.command("refresh")
def report_refresh(
    today: Annotated[str | None, typer.Option(help="As of this date (YYYY-MM-DD)")] = None,
) -> None:
    """Recompute every teacher's compliance snapshot (what the dashboards aggregate).

    Run it nightly (cron or the job queue) and after a bulk import; between refreshes the
    dashboards compute changed teachers fresh, so figures are always exact."""
    from tqdm import tqdm

    from yanxiu.credits.policy import load_policies
    from yanxiu.reports import snapshot
    from yanxiu.runtime import get_session_factory

    settings = get_settings()
    policy = load_policies(settings.content_dir / "policies")[settings.policy]
    as_of = date.fromisoformat(today) if today else date.today()
    with get_session_factory(settings)() as session, tqdm(desc="学时快照", unit="人") as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        done = snapshot.refresh(session, policy=policy, today=as_of, progress=advance)
    typer.echo(f"refreshed {done} teachers' compliance as of {as_of.isoformat()}")


@report_app.command("compliance")
def report_compliance(
    by: Annotated[str, typer.Option(help="teacher, school or county")] = "teacher",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV file (default: stdout)")
    ] = None,
    today: Annotated[str | None, typer.Option(help="Report as of this date (YYYY-MM-DD)")] = None,
    policy_code: Annotated[
        str | None, typer.Option("--policy", help="Policy code (default: setting)")
    ] = None,
) -> None:
    """Compliance with the credit policy per teacher, school or county, as CSV."""
    import io

    from yanxiu.credits.policy import load_policies
    from yanxiu.db import session_scope
    from yanxiu.reports.compliance import group_compliance, teacher_compliance, teacher_row_dict
    from yanxiu.runtime import get_session_factory

    settings = get_settings()
    policies = load_policies(settings.content_dir / "policies")
    code = policy_code or settings.policy
    if code not in policies:
        raise fail(ValueError(f"no policy {code!r}; have {sorted(policies)}"))
    as_of = date.fromisoformat(today) if today else date.today()
    with session_scope(get_session_factory(settings)) as session:
        rows = teacher_compliance(session, policy=policies[code], today=as_of)
        if by == "teacher":
            dicts = [teacher_row_dict(r) for r in rows]
        elif by in ("school", "county"):
            dicts = [g.as_row() for g in group_compliance(rows, by=by)]
        else:
            raise fail(ValueError("--by must be teacher, school or county"))
    buf = io.StringIO()
    if dicts:
        writer = csv_writer(buf)
        writer.writerow(dicts[0])
        writer.writerows(d.values() for d in dicts)
    if output:
        output.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")
        typer.echo(f"wrote {len(dicts)} rows to {output}", err=True)
    else:
        sys.stdout.write(buf.getvalue())


@app.command()
def verify(code: Annotated[str, typer.Argument(help="学时证明上的验证码")]) -> None:
    """Check a 学时证明's verification code: issued here, unchanged, and whether the ledger has
    changed since (exit 0 genuine, 1 not)."""
    from yanxiu.credits.certificates import verify_certificate
    from yanxiu.credits.policy import load_policies
    from yanxiu.db import session_scope
    from yanxiu.runtime import get_session_factory

    settings = get_settings()
    policy = load_policies(settings.content_dir / "policies")[settings.policy]
    with session_scope(get_session_factory(settings)) as session:
        result = verify_certificate(session, policy, settings.secret_key.get_secret_value(), code)
    typer.echo(("有效 / genuine: " if result.genuine else "无效 / not genuine: ") + result.headline)
    for line in result.details:
        typer.echo(f"  {line}")
    if result.genuine and result.ledger_changed:
        typer.echo("  ledger changed since issue")
    raise typer.Exit(0 if result.genuine else 1)
