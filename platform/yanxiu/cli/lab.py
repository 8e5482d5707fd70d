"""Training, evaluation and benchmarks of the shipped models (the lab, imported on demand)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from yanxiu.cli.app import (
    bench_app,
    eval_app,
    fail,
    search_service,
    train_app,
)
from yanxiu.config import get_settings
from yanxiu.errors import InputError


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
        raise fail(err) from err
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
        raise fail(err) from err
    typer.echo(json.dumps(report, ensure_ascii=False) if as_json else format_eval(report))


@eval_app.command("rubric")
def eval_rubric_cmd(
    data: Annotated[
        Path | None,
        typer.Option(help="Directory with labels.yaml and files/ (default: content/eval/lessons)"),
    ] = None,
    split: Annotated[str, typer.Option(help="dev, test or all")] = "dev",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Rubric scores against a 教研员's labels: exact, within ±1, QWK per dimension, S-T mode,
    evidence, parse problems and the separation of dialogic, lecture and practice lessons."""
    from yanxiu.lab.rubric_eval import evaluate_rubric, format_rubric_eval

    if split not in ("dev", "test", "all"):
        raise fail(ValueError("--split must be dev, test or all"))
    data = data or get_settings().content_dir / "eval" / "lessons"
    if not (data / "labels.yaml").is_file():
        raise fail(FileNotFoundError(f"no labels.yaml in {data}"))
    report = evaluate_rubric(data, None if split == "all" else split)
    typer.echo(json.dumps(report, ensure_ascii=False) if as_json else format_rubric_eval(report))


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
    service, _ = search_service(progress=False)
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
            raise fail(err) from err
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


@bench_app.command("score")
def bench_score_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Time scoring a 45-minute, 600-utterance transcript on one core."""
    from yanxiu.lab.score_bench import bench_score, format_score_bench

    result = bench_score(get_settings().content_dir)
    typer.echo(json.dumps(result, ensure_ascii=False) if as_json else format_score_bench(result))
