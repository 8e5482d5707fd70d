"""Search and paths from the command line: build the index, search, recommend, evaluate, bench."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, cast

import typer

from yanxiu.cli.app import (
    app,
    bench_app,
    eval_app,
    fail,
    index_app,
    search_service,
)
from yanxiu.config import Settings, get_settings
from yanxiu.search.hybrid import CatalogSearch, Mode


@index_app.command("build")
def index_build() -> None:
    """Build or sync the catalog search index (only changed resources are embedded)."""
    search, report = search_service(progress=sys.stderr.isatty())
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
    service, _ = search_service(progress=False)
    filters = {"stage": stage, "subject": subject, "category": category, "format": fmt}
    try:
        # search() refuses an unknown mode (ValueError), so the cast only names the checked type
        hits = service.search(query, k=k, filters=filters, mode=cast(Mode, mode))
    except ValueError as err:
        raise fail(err) from err
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
    service, _ = search_service(progress=False)
    policy = load_policies(settings.content_dir / "policies")[settings.policy]
    ranker, label = load_ranker(settings.models_dir, settings.embed_backend)
    with (
        session_scope(get_session_factory(settings)) as session,
        EmbeddingCache(settings.data_dir / "embeddings") as cache,
    ):
        try:
            teacher_id = resolve_teacher(session, teacher)
        except ValueError as err:
            raise fail(err) from err
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
    split: Annotated[str, typer.Option(help="dev (tuning) or test (report once)")] = "dev",
    tune: Annotated[
        bool, typer.Option("--tune", help="Choose weights and threshold on dev and print them")
    ] = False,
    save: Annotated[
        bool, typer.Option("--save", help="With --tune: write them to yanxiu/search/tuned.json")
    ] = False,
) -> None:
    """nDCG@10 by query kind and no-answer F1: the platform's search and its baselines
    (BM25 over jieba words, lexical TF-IDF, dense e5, the former RRF hybrid) in one run."""
    from yanxiu.lab.search_eval import evaluate, format_table, load_queries
    from yanxiu.lab.search_eval import tune as tune_weights

    if split not in ("dev", "test", "all"):
        raise fail(ValueError("--split must be dev, test or all"))
    settings = get_settings()
    service = content_search(settings, progress=sys.stderr.isatty())
    labelled = load_queries(queries or settings.content_dir / "eval" / "search_queries.yaml")
    if tune:
        weights, info = tune_weights(service, labelled)
        typer.echo(f"tuned on dev: {weights}\n{json.dumps(info, ensure_ascii=False)}")
        service.weights = weights
        if save:
            from yanxiu.search.tuning import save_tuned

            note = (
                f"yanxiu eval search --tune --save on {len([q for q in labelled if q.split == 'dev'])}"
                f" dev queries: dev nDCG@10 {info['dev_ndcg_ungated']:.3f} ungated,"
                f" {info['dev_ndcg']:.3f} gated; dev no-answer F1 {info['dev_no_answer_f1']:.3f}"
                f" (leave-one-out {info['loo_f1']:.3f})"
            )
            save_tuned(service.embedder.name, weights, note)
    report = evaluate(service, labelled)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(format_table(report, split))


def content_search(settings: Settings, *, progress: bool = False) -> CatalogSearch:
    """Search over the reviewed catalog in content/ with the reviewed synonym table (no
    database, so no site's additions), for evaluation."""
    from yanxiu.lab.search_bench import content_docs
    from yanxiu.search.catalog_index import build_catalog_search
    from yanxiu.search.embed_cache import EmbeddingCache
    from yanxiu.search.service import embedder_from_settings, scope_topics, shipped_synonym_file

    docs = content_docs(settings.content_dir)
    with EmbeddingCache(settings.data_dir / "embeddings") as cache:
        return build_catalog_search(
            docs, embedder=embedder_from_settings(settings), cache=cache,
            synonym_files=(shipped_synonym_file(settings),), progress=progress,
            scope_topics=scope_topics(settings),
        )  # fmt: skip


synonyms_app = typer.Typer(help="Search synonyms and abbreviations", no_args_is_help=True)
app.add_typer(synonyms_app, name="synonyms")


@synonyms_app.command("list")
def synonyms_list(
    removed: Annotated[
        bool, typer.Option("--removed", help="Also list removed site entries")
    ] = False,
) -> None:
    """The synonym table in force: content/search/synonyms.yaml and this site's entries."""
    from yanxiu.db import session_scope
    from yanxiu.runtime import get_session_factory
    from yanxiu.search.service import legacy_synonym_file, shipped_synonym_file
    from yanxiu.search.synonyms import import_legacy_file, synonym_table

    settings = get_settings()
    with session_scope(get_session_factory(settings)) as session:
        import_legacy_file(session, legacy_synonym_file(settings))
        table = synonym_table(session, shipped_synonym_file(settings))
    for entry in table.entries:
        where = "内置" if entry.shipped else f"#{entry.id} 本站"
        typer.echo(f"[{where}] {entry.label}")
    if removed:
        for entry in table.removed:
            typer.echo(f"[#{entry.id} 已移除] {entry.label}")


@synonyms_app.command("add")
def synonyms_add(
    expansion: Annotated[str, typer.Argument(help="What the aliases mean, e.g. 项目式学习")],
    aliases: Annotated[list[str], typer.Argument(help="One or more aliases, e.g. PBL 项目化学习")],
) -> None:
    """Add a site synonym (in the database; running servers apply it within seconds)."""
    from yanxiu.db import session_scope
    from yanxiu.errors import DomainError
    from yanxiu.runtime import get_session_factory
    from yanxiu.search.service import legacy_synonym_file, shipped_synonym_file
    from yanxiu.search.synonyms import add_site_synonym, import_legacy_file

    settings = get_settings()
    try:
        with session_scope(get_session_factory(settings)) as session:
            import_legacy_file(session, legacy_synonym_file(settings))
            added = add_site_synonym(
                session, actor_id=None, aliases=aliases, expansion=expansion,
                shipped_file=shipped_synonym_file(settings), origin="cli",
            )  # fmt: skip
    except DomainError as err:
        raise fail(ValueError(err.message)) from err
    typer.echo(f"added #{added.entry.id}: {added.entry.label}")
    for warning in added.warnings:
        typer.echo(warning, err=True)


@synonyms_app.command("remove")
def synonyms_remove(
    entry_id: Annotated[int, typer.Argument(help="The site entry's number (yanxiu synonyms list)")],
) -> None:
    """Remove a site synonym (kept as history; shipped entries cannot be removed)."""
    from yanxiu.db import session_scope
    from yanxiu.errors import DomainError
    from yanxiu.runtime import get_session_factory
    from yanxiu.search.synonyms import remove_site_synonym

    try:
        with session_scope(get_session_factory(get_settings())) as session:
            entry = remove_site_synonym(session, actor_id=None, synonym_id=entry_id)
    except DomainError as err:
        raise fail(ValueError(err.message)) from err
    typer.echo(f"removed #{entry.id}: {entry.label}")


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
