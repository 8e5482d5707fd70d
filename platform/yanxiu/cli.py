"""The ``yanxiu`` command line: init, serve, import, export, report."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from yanxiu.config import get_settings
from yanxiu.errors import InputError

app = typer.Typer(help="Yanxiu 研修 — teacher research-and-training platform", no_args_is_help=True)
import_app = typer.Typer(help="Import data (all or nothing)", no_args_is_help=True)
export_app = typer.Typer(help="Export records", no_args_is_help=True)
report_app = typer.Typer(help="Reports", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(report_app, name="report")
index_app = typer.Typer(help="Search indexes", no_args_is_help=True)
eval_app = typer.Typer(
    help="Evaluate models and search (prints a table, or one JSON object)", no_args_is_help=True
)
bench_app = typer.Typer(help="Benchmarks (figures with same-run baselines)", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")
app.add_typer(bench_app, name="bench")
train_app = typer.Typer(
    help="Train models (saved with a manifest under YANXIU_MODELS_DIR)", no_args_is_help=True
)
app.add_typer(train_app, name="train")


def _fail(err: Exception, code: int = 2) -> typer.Exit:
    typer.echo(f"错误 / error: {err}", err=True)
    return typer.Exit(code)


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
        raise _fail(err) from err
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
        raise _fail(err) from err
    typer.echo(
        f"ok: {len(c.resources)} resources, {len(c.cases)} cases, {len(c.policies)} policies"
    )


@app.command("demo-logins")
def demo_logins() -> None:
    """Print one demo login per role."""
    from yanxiu.db import session_scope
    from yanxiu.runtime import get_session_factory
    from yanxiu.seed.demo import demo_logins as logins

    settings = get_settings()
    with session_scope(get_session_factory(settings)) as session:
        rows = logins(session)
    if not rows:
        typer.echo("no demo accounts (run `yanxiu init --demo`)")
        return
    labels = {"admin": "管理员", "trainer": "培训者", "host": "工作室主持人", "teacher": "教师"}
    typer.echo(f"Demo logins (password: {settings.demo_password.get_secret_value()}):")
    for role, username, who in rows:
        typer.echo(f"  {labels[role]:<8} {username:<18} {who}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Serve the web application."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "yanxiu.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        log_level=settings.log_level.lower(),
    )  # fmt: skip


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
        raise _fail(err) from err
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
        raise _fail(ValueError("--format must be csv or xapi"))
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.write(text)


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
    import csv
    import io

    from yanxiu.credits.policy import load_policies
    from yanxiu.db import session_scope
    from yanxiu.reports.compliance import group_compliance, teacher_compliance, teacher_row_dict
    from yanxiu.runtime import get_session_factory

    settings = get_settings()
    policies = load_policies(settings.content_dir / "policies")
    code = policy_code or settings.policy
    if code not in policies:
        raise _fail(ValueError(f"no policy {code!r}; have {sorted(policies)}"))
    as_of = date.fromisoformat(today) if today else date.today()
    with session_scope(get_session_factory(settings)) as session:
        rows = teacher_compliance(session, policy=policies[code], today=as_of)
        if by == "teacher":
            dicts = [teacher_row_dict(r) for r in rows]
        elif by in ("school", "county"):
            dicts = [g.as_row() for g in group_compliance(rows, by=by)]
        else:
            raise _fail(ValueError("--by must be teacher, school or county"))
    buf = io.StringIO()
    if dicts:
        writer = csv.DictWriter(buf, fieldnames=list(dicts[0]))
        writer.writeheader()
        writer.writerows(dicts)
    if output:
        output.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")
        typer.echo(f"wrote {len(dicts)} rows to {output}", err=True)
    else:
        sys.stdout.write(buf.getvalue())


def _search_service(progress: bool) -> tuple[Any, Any]:
    from yanxiu.db import session_scope
    from yanxiu.runtime import get_session_factory
    from yanxiu.search.embed import EmbedderUnavailable
    from yanxiu.search.service import catalog_search_from_settings

    settings = get_settings()
    try:
        with session_scope(get_session_factory(settings)) as session:
            return catalog_search_from_settings(settings, session, progress=progress)
    except EmbedderUnavailable as err:
        raise _fail(err) from err


@index_app.command("build")
def index_build() -> None:
    """Build or sync the catalog search index (only changed resources are embedded)."""
    search, report = _search_service(progress=sys.stderr.isatty())
    how = "rebuilt" if report.rebuilt else "synced"
    typer.echo(
        f"catalog index {how}: {len(search.index)} resources, +{report.added} ~{report.updated} "
        f"-{report.removed}, {report.embedded} embedded"
        + (f" ({report.reason})" if report.reason else "")
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in Chinese or English")],
    k: Annotated[int, typer.Option(help="Number of results")] = 10,
    stage: Annotated[list[str] | None, typer.Option(help="学段, e.g. 初中 (repeatable)")] = None,
    subject: Annotated[list[str] | None, typer.Option(help="学科 (repeatable)")] = None,
    category: Annotated[list[str] | None, typer.Option(help="类别 (repeatable)")] = None,
    fmt: Annotated[list[str] | None, typer.Option("--format", help="online/offline/hybrid")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or lexical")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Semantic catalog search."""
    service, _ = _search_service(progress=False)
    filters = {"stage": stage, "subject": subject, "category": category, "format": fmt}
    try:
        hits = service.search(query, k=k, filters=filters, mode=mode)
    except ValueError as err:
        raise _fail(err) from err
    if as_json:
        typer.echo(
            json.dumps({"query": query, "results": [h.as_dict() for h in hits]}, ensure_ascii=False)
        )
        return
    if not hits:
        typer.echo("没有找到匹配的课程资源")
    for rank, h in enumerate(hits, start=1):
        d = h.doc
        snippet = h.snippet_html.replace("<mark>", "【").replace("</mark>", "】")
        typer.echo(
            f"{rank:>2}. [{d.code}] {d.title}  ({d.category}·{'/'.join(d.stages)}·{d.hours:g}学时)"
        )
        typer.echo(f"    {snippet}")


@app.command()
def recommend(
    teacher: Annotated[str, typer.Argument(help="Teacher user id or username, e.g. t001")],
    today: Annotated[str | None, typer.Option(help="Plan as of this date (YYYY-MM-DD)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """A teacher's precise training path, each step with its reasons."""
    from yanxiu.credits.policy import load_policies
    from yanxiu.db import session_scope
    from yanxiu.recommend.service import build_recommender, load_ranker, resolve_teacher
    from yanxiu.runtime import get_session_factory
    from yanxiu.search.embed_cache import EmbeddingCache

    settings = get_settings()
    service, _ = _search_service(progress=False)
    policy = load_policies(settings.content_dir / "policies")[settings.policy]
    ranker, label = load_ranker(settings.models_dir, settings.embed_backend)
    with (
        session_scope(get_session_factory(settings)) as session,
        EmbeddingCache(settings.data_dir / "embeddings") as cache,
    ):
        try:
            teacher_id = resolve_teacher(session, teacher)
        except ValueError as err:
            raise _fail(err) from err
        planner = build_recommender(session, service, cache=cache, ranker=ranker, ranker_name=label)
        path = planner.recommend(
            session,
            teacher_id=teacher_id,
            policy=policy,
            today=date.fromisoformat(today) if today else date.today(),
        )
    if as_json:
        typer.echo(json.dumps(path.as_dict(), ensure_ascii=False))
        return
    typer.echo(
        f"研训路径（{path.generated_on}，共 {len(path.steps)} 步 {path.total_hours:g} 学时；排序：{path.ranker}）"
    )
    if path.cold_start == "induction":
        typer.echo("新教师：优先安排入职培训与师德必修")
    for n, st in enumerate(path.steps, start=1):
        typer.echo(f"{n:>2}. [{st.code}] {st.title}（{st.category}·{st.hours:g}学时·{st.format}）")
        for reason in st.reasons:
            typer.echo(f"      - {reason}")
    if path.in_progress:
        typer.echo("正在学习：" + "、".join(path.in_progress))
    for key, hours in path.unmet.items():
        label_ = "本学年" if key == "yearly" else f"「{key}」"
        typer.echo(f"注意：{label_}还差 {hours:g} 学时，目录中适合您的资源不足，请联系培训者")


@eval_app.command("search")
def eval_search(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    queries: Annotated[
        Path | None, typer.Option(help="Labelled queries (default content/eval)")
    ] = None,
) -> None:
    """nDCG@10, recall@10 and MRR of lexical, dense and hybrid search in one run."""
    from yanxiu.lab.search_eval import evaluate, format_table, load_queries

    service, _ = _search_service(progress=sys.stderr.isatty())
    path = queries or get_settings().content_dir / "eval" / "search_queries.yaml"
    report = evaluate(service, load_queries(path))
    lex, hyb = report["modes"]["lexical"]["all"], report["modes"]["hybrid"]["all"]
    report["hybrid_vs_lexical_ndcg"] = round(hyb["ndcg@10"] - lex["ndcg@10"], 4)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(format_table(report))
        typer.echo(f"\nhybrid − lexical nDCG@10: {report['hybrid_vs_lexical_ndcg']:+.3f}")


@bench_app.command("search")
def bench_search(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    sizes: Annotated[
        str, typer.Option(help="Index sizes, comma-separated")
    ] = "10000,100000,1000000",
) -> None:
    """Index build/latency/recall vs numpy, embedding throughput, end-to-end query latency."""
    from yanxiu.lab.search_bench import format_report, run

    settings = get_settings()
    result = run(
        settings.content_dir,
        settings.data_dir / "embeddings",
        [int(s) for s in sizes.split(",") if s],
    )
    typer.echo(json.dumps(result, ensure_ascii=False) if as_json else format_report(result))


@train_app.command("ranker")
def train_ranker_cmd(
    teachers: Annotated[int, typer.Option(help="Simulated training teachers")] = 400,
    steps: Annotated[int, typer.Option(help="Offers per simulated teacher")] = 30,
    seed: Annotated[int, typer.Option(help="Seed")] = 0,
) -> None:
    """Train the path re-ranker on simulated interaction logs and save it to models/ranker."""
    from yanxiu.lab.ranker_train import train_ranker

    settings = get_settings()
    ranker, report = train_ranker(
        content_dir=settings.content_dir, cache_dir=settings.data_dir / "embeddings",
        backend=settings.embed_backend, teachers=teachers, steps=steps, seed=seed,
    )  # fmt: skip
    ranker.save(settings.models_dir / "ranker")
    typer.echo(json.dumps(report, ensure_ascii=False, default=str, indent=1))
    typer.echo(f"saved {settings.models_dir / 'ranker'}")


@train_app.command("utterances")
def train_utterances_cmd(
    train: Annotated[
        Path | None,
        typer.Option(
            help="DialogID train CSV (default: <project>/../shared/data/dialogid/train.csv)"
        ),
    ] = None,
    dev: Annotated[
        Path | None,
        typer.Option(help="DialogID dev CSV for the reported figures (default: beside train.csv)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: <models dir>/utterances)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed (folds, SVMs, PCA, LightGBM)")] = 0,
    refit: Annotated[
        bool,
        typer.Option(
            help="Once the dev figures are measured, fit the same configuration on train + dev "
            "and save that model (the shipped one); --no-refit saves the train-only model"
        ),
    ] = True,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes: with 2 or more the refit runs beside the train-only fit "
            "(one core each; the model is the same)",
        ),
    ] = min(2, os.cpu_count() or 1),
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON")] = False,
) -> None:
    """Train the DialogID utterance coder: fit on train, report its and the baseline's dev figures, refit on train + dev."""
    from yanxiu.lab.coder_train import (
        DEFAULT_DEV,
        DEFAULT_TRAIN,
        format_metrics_pair,
        require_data,
        train_coder,
    )
    from yanxiu.practice.coder import MODEL_SUBDIR

    settings = get_settings()
    out_dir = out or settings.models_dir / MODEL_SUBDIR
    try:
        train_path = require_data(train or DEFAULT_TRAIN, "train")
        dev_path = require_data(dev or DEFAULT_DEV, "dev")
        twice = (
            ", twice (train, and train + dev beside it)"
            if jobs > 1
            else ", twice: then again on train + dev"
        )
        typer.echo(
            f"training on {train_path} (dev: {dev_path}), one thread per fit; "
            "fine-tuning the two encoders (USE, then e5) takes about an hour"
            + (twice if refit else "")
            + " …",
            err=True,
        )
        manifest = train_coder(
            train_path,
            dev_path,
            out_dir,
            seed=seed,
            cache_dir=settings.data_dir / "cache" / "utterances",
            progress=not as_json,
            refit_on_dev=refit,
            jobs=jobs,
        )
    except (InputError, FileNotFoundError) as err:
        raise _fail(err) from err
    if as_json:
        typer.echo(json.dumps(manifest, ensure_ascii=False))
        return
    dev_m = manifest["metrics"]["dev"]
    title = f"dev split ({dev_path})" + (", fitted on train only" if refit else "")
    typer.echo(format_metrics_pair(dev_m["model"], dev_m["baseline"], title=title))
    t = manifest["training"]
    refit_note = f", refit on train + dev {t['refit_s']} s" if refit else ""
    typer.echo(
        f"saved {out_dir} ({manifest['model_bytes'] / 1e6:.1f} MB; embeddings {t['embed_s']} s, "
        f"fit {t['fit_s']} s{refit_note}, seed {seed})"
    )
    if refit:
        typer.echo(
            "the saved model was refitted on train + dev: the dev figures above are of the "
            "train-only fit; the dev split is no longer held-out for the saved model"
        )


@eval_app.command("utterances")
def eval_utterances_cmd(
    data: Annotated[Path, typer.Option(help="A CSV in the DialogID format (text,label)")],
    model: Annotated[
        Path | None, typer.Option(help="Model directory (default: <models dir>/utterances)")
    ] = None,
    train: Annotated[
        Path | None,
        typer.Option(
            help="Train CSV for the same-run baseline (default: the DialogID train split)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Accuracy, macro-F1 and per-class F1 of the saved coder and of a baseline trained in this run."""
    from yanxiu.lab.coder_train import DEFAULT_TRAIN, evaluate_coder, format_eval, require_data
    from yanxiu.practice.coder import MANIFEST_FILE, MODEL_SUBDIR
    from yanxiu.practice.model_files import ModelFileError

    model_dir = model or get_settings().models_dir / MODEL_SUBDIR
    try:
        if not (model_dir / MANIFEST_FILE).is_file():
            raise FileNotFoundError(
                f"no model in {model_dir} (run `yanxiu train utterances` or pass --model DIR)"
            )
        report = evaluate_coder(data, model_dir, require_data(train or DEFAULT_TRAIN, "train"))
    except (InputError, FileNotFoundError, ModelFileError) as err:
        raise _fail(err) from err
    typer.echo(json.dumps(report, ensure_ascii=False) if as_json else format_eval(report))


@eval_app.command("recommend")
def eval_recommend(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    train_teachers: Annotated[int, typer.Option(help="Simulated training teachers")] = 400,
    test_teachers: Annotated[int, typer.Option(help="Held-out simulated teachers")] = 200,
    steps: Annotated[int, typer.Option(help="Offers per teacher")] = 30,
    seed: Annotated[int, typer.Option(help="Seed")] = 0,
) -> None:
    """Learned ranker vs random, popularity and content similarity on held-out simulated teachers."""
    from yanxiu.lab.recommend_eval import evaluate_recommenders, format_table

    settings = get_settings()
    report = evaluate_recommenders(
        content_dir=settings.content_dir, cache_dir=settings.data_dir / "embeddings", backend=settings.embed_backend,
        train_teachers=train_teachers, steps=steps, test_teachers=test_teachers, seed=seed,
    )  # fmt: skip
    closure = _demo_gap_closure()
    if closure is not None:
        report["demo_paths"] = closure
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, default=str))
        return
    typer.echo(format_table(report))
    if closure is not None:
        c = closure["closes"]
        typer.echo(
            f"\nDemo teachers' paths ({closure['teachers']}, as of the demo date): ethics gap closed "
            f"{c['ethics']['closed']}/{c['ethics']['with_gap']}, yearly gap closed {c['yearly']['closed']}/"
            f"{c['yearly']['with_gap']}, induction {c['新教师入职']['closed']}/{c['新教师入职']['with_gap']}; "
            f"prerequisite violations {closure['prerequisite_violations']}; catalog coverage {closure['catalog_coverage']:.0%}"
        )


def _demo_gap_closure() -> dict[str, Any] | None:
    """Gap closure of real paths for the database's teachers (None without a seeded demo)."""
    from yanxiu.credits.policy import load_policies
    from yanxiu.db import session_scope
    from yanxiu.recommend.service import build_recommender, gap_closure, load_ranker
    from yanxiu.runtime import get_session_factory
    from yanxiu.search.embed_cache import EmbeddingCache
    from yanxiu.seed.demo import DEMO_MARKER

    settings = get_settings()
    from yanxiu.db.meta import get_meta

    with session_scope(get_session_factory(settings)) as session:
        try:
            if not get_meta(session, DEMO_MARKER):
                return None
        except Exception:  # no database yet
            return None
    service, _ = _search_service(progress=False)
    policy = load_policies(settings.content_dir / "policies")[settings.policy]
    ranker, label = load_ranker(settings.models_dir, settings.embed_backend)
    import yaml

    roster = yaml.safe_load(
        (settings.content_dir / "demo" / "roster.yaml").read_text(encoding="utf-8")
    )
    with (
        session_scope(get_session_factory(settings)) as session,
        EmbeddingCache(settings.data_dir / "embeddings") as cache,
    ):
        planner = build_recommender(session, service, cache=cache, ranker=ranker, ranker_name=label)
        return gap_closure(session, planner, policy=policy, today=roster["demo_today"])


@bench_app.command("recommend")
def bench_recommend_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    items: Annotated[int, typer.Option(help="Synthetic catalog size")] = 100_000,
    teachers: Annotated[int, typer.Option(help="Teachers for batch throughput")] = 10_000,
) -> None:
    """One teacher's plan over a large catalog (FAISS vs numpy retrieval) and batch throughput."""
    from yanxiu.lab.recommend_bench import bench_recommend, format_bench
    from yanxiu.recommend.ranker import Ranker

    path = get_settings().models_dir / "ranker"
    ranker = Ranker.load(path) if (path / "manifest.json").exists() else None
    result = bench_recommend(n_items=items, teachers=teachers, ranker=ranker)
    typer.echo(
        json.dumps(result, ensure_ascii=False, default=str) if as_json else format_bench(result)
    )


@train_app.command("rubric")
def train_rubric(
    as_json: bool = typer.Option(False, "--json", help="print the manifest (mapping, metrics)"),
) -> None:
    """Learn from trainer edits (per dimension) and report agreement before and after."""
    from yanxiu.db import session_scope
    from yanxiu.practice.agreement import train_calibration
    from yanxiu.runtime import get_session_factory

    settings = get_settings()
    with session_scope(get_session_factory(settings)) as session:
        try:
            manifest = train_calibration(session, settings.models_dir / "rubric")
        except ValueError as err:
            raise _fail(err) from err
    saved = settings.models_dir / "rubric" / "calibration.json"
    if as_json:
        typer.echo(json.dumps(manifest | {"saved": str(saved)}, ensure_ascii=False))
        return
    metrics = manifest["metrics"]
    typer.echo(
        f"agreement of AI and trainer scores on held-out reviews ({metrics['folds']}-fold), "
        "before → after calibration"
    )
    typer.echo(f"{'dimension':<10} {'n':>5} {'QWK':>15} {'exact':>15} {'adjacent':>15}")
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    for dim, before in metrics["before"].items():
        after = metrics["after"][dim]
        cells = [f"{fmt(before[k])} → {fmt(after[k])}" for k in ("qwk", "exact", "adjacent")]
        typer.echo(f"{dim:<10} {before['n']:>5} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15}")
    changed = sum(1 for m in manifest["mapping"].values() for a, t in m.items() if int(a) != t)
    typer.echo(f"saved {saved} ({changed} score corrections learned)")


@app.command()
def score(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Transcript or lesson plan")
    ],
    kind: Annotated[
        str, typer.Option(help="transcript, lesson_plan or auto (from the file's name and content)")
    ] = "auto",
    stage: Annotated[str, typer.Option(help="学段, used to find resources")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Score a transcript or lesson plan and print the AI-drafted diagnosis (not stored)."""
    from yanxiu.practice.agreement import load_calibration
    from yanxiu.practice.diagnosis import diagnose_lesson_plan, diagnose_transcript
    from yanxiu.practice.draft import Evidence, TranscriptAnalytics
    from yanxiu.practice.parse import (
        LessonPlan,
        TranscriptError,
        Utterance,
        parse_either,
        parse_lesson_plan,
        parse_transcript,
    )

    settings = get_settings()
    data = file.read_bytes()
    if kind not in ("auto", "transcript", "lesson_plan"):
        raise _fail(ValueError("--kind must be transcript, lesson_plan or auto"))
    calibration = load_calibration(settings.models_dir)
    finder = None
    try:
        service, _ = _search_service(progress=False)
        from yanxiu.catalog.service import competency_texts
        from yanxiu.db import session_scope
        from yanxiu.practice.resources import search_resource_finder
        from yanxiu.runtime import get_session_factory

        with session_scope(get_session_factory(settings)) as session:
            finder = search_resource_finder(service, competency_texts(session))
    except (typer.Exit, SQLAlchemyError) as exc:
        # no search model or no initialised database: the diagnosis still works, without
        # catalog resources, and says why
        finder = None
        if isinstance(exc, SQLAlchemyError):
            typer.echo("（未找到已初始化的数据库，诊断不附推荐课程；先运行 yanxiu init）", err=True)
    try:
        parsed: list[Utterance] | LessonPlan
        if kind == "auto":
            kind, parsed = parse_either(data, file.name)
        elif kind == "transcript":
            parsed = parse_transcript(data, file.name)
        else:
            parsed = parse_lesson_plan(data, file.name)
    except TranscriptError as err:
        if kind == "auto" and file.suffix.lower() not in (".srt", ".vtt", ".json"):
            # neither kind fitted: say how to insist on a lesson plan
            raise _fail(TranscriptError(f"{err}（如果这是教案，请加 --kind lesson_plan）")) from err
        raise _fail(err) from err
    if isinstance(parsed, LessonPlan):
        result = diagnose_lesson_plan(
            parsed, stage=stage, find_resources=finder, calibration=calibration
        )
    else:
        result = diagnose_transcript(
            parsed, stage=stage, find_resources=finder, calibration=calibration
        )
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
        return
    report, analytics = result.report, result.analytics
    typer.echo(
        f"AI 诊断草稿（{result.model_version}，置信度 {result.confidence:.2f}；须经培训者审核后才对教师可见）"
    )
    if isinstance(analytics, TranscriptAnalytics):
        st, moves = analytics.st, analytics.moves
        typer.echo(
            f"S-T：Rt={st.rt:.2f} Ch={st.ch:.2f} → {st.mode}"
            + ("（按字数估算）" if st.estimated else "")
        )
        if moves.available:
            from yanxiu.practice.coder import LABELS_ZH

            top = sorted((moves.shares or {}).items(), key=lambda kv: -kv[1])
            typer.echo(
                f"对话行为（话语编码模型，{moves.coded_teacher_turns} 个教师话轮中含该行为的占比）："
                + "、".join(f"{LABELS_ZH[k]} {v:.0%}" for k, v in top if v > 0)
            )
        elif moves.note:
            typer.echo(moves.note)
    for dim, d in result.scores.items():
        typer.echo(f"  {dim:<6} {d.score} 分  置信度 {d.confidence:.2f}  依据：{d.norm}")
    typer.echo(report.summary)

    def evidence(items: list[Evidence]) -> None:
        for ev in items[:2]:
            where = f"第{ev.line}行" if ev.line else (ev.section or "")
            note = f"（{ev.note}）" if ev.note else ""
            typer.echo(f"    证据（{where}）：{ev.text or ev.quote or ''}{note}")

    for s in report.strengths:
        typer.echo(f"+ {s.text}")
        evidence(s.evidence)
    for w in report.weaknesses:
        typer.echo(f"- {w.text}")
        evidence(w.evidence)
    for sug in report.suggestions:
        typer.echo(f"建议·{sug.dimension}：{sug.text}")
    for r in report.resources:
        typer.echo(f"推荐资源·{r.for_dimension}：[{r.code}] {r.title}（{r.hours:g}学时）")


@bench_app.command("score")
def bench_score_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Time scoring a 45-minute, 600-utterance transcript on one core."""
    from yanxiu.lab.score_bench import bench_score, format_score_bench

    result = bench_score(get_settings().content_dir)
    typer.echo(json.dumps(result, ensure_ascii=False) if as_json else format_score_bench(result))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
