"""The ``yanxiu`` command and its groups; the commands live in the modules beside this one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from yanxiu.config import get_settings

if TYPE_CHECKING:
    from yanxiu.search.catalog_index import SyncReport
    from yanxiu.search.hybrid import CatalogSearch

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


def fail(err: Exception, code: int = 2) -> typer.Exit:
    typer.echo(f"错误 / error: {err}", err=True)
    return typer.Exit(code)


def search_service(progress: bool) -> tuple[CatalogSearch, SyncReport]:
    """The catalog search over the configured database, its index synced (exit 2 if no model)."""
    from yanxiu.db import session_scope
    from yanxiu.runtime import get_session_factory
    from yanxiu.search.embed import EmbedderUnavailable
    from yanxiu.search.service import catalog_search_from_settings

    settings = get_settings()
    try:
        with session_scope(get_session_factory(settings)) as session:
            return catalog_search_from_settings(settings, session, progress=progress)
    except EmbedderUnavailable as err:
        raise fail(err) from err
