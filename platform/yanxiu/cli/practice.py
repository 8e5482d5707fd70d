"""`yanxiu score`: a transcript or lesson plan scored from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from yanxiu.cli.app import (
    app,
    fail,
    search_service,
)
from yanxiu.config import get_settings


@app.command()
def score(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Transcript or lesson plan")
    ],
    kind: Annotated[
        str, typer.Option(help="transcript, lesson_plan or auto (from the file's name and content)")
    ] = "auto",
    stage: Annotated[str, typer.Option(help="学段 (小学/初中/高中), used to find resources")] = "",
    subject: Annotated[
        str, typer.Option(help="学科 (语文/数学/英语/物理/科学…): subject indicators and resources")
    ] = "",
    speaker_map: Annotated[
        str,
        typer.Option(
            "--speaker-map",
            help='Raw speaker labels to roles, e.g. "SPEAKER_00=师,SPEAKER_01=生,SPEAKER_02=忽略" '
            "(default: most talk = 师, the others 生, stated in the report)",
        ),
    ] = "",
    gaps: Annotated[
        str,
        typer.Option(
            help="Untranscribed gaps after set work or a question: student (activity/silence, "
            "the default) or teacher (the speaker's time)"
        ),
    ] = "student",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Score a transcript or lesson plan and print the AI-drafted diagnosis (not stored)."""
    from yanxiu.errors import Invalid
    from yanxiu.practice.agreement import load_calibration
    from yanxiu.practice.diagnosis import diagnose_lesson_plan, diagnose_transcript
    from yanxiu.practice.draft import Evidence, TranscriptAnalytics
    from yanxiu.practice.parse import (
        LessonPlan,
        ParsedTranscript,
        SpeakerMappingNeeded,
        TranscriptError,
        parse_lesson_plan,
        plan_sections_found,
        read_either,
        read_transcript,
    )
    from yanxiu.practice.speakers import parse_speaker_map

    settings = get_settings()
    data = file.read_bytes()
    if gaps not in ("student", "teacher"):
        raise fail(ValueError("--gaps must be student or teacher"))
    if kind not in ("auto", "transcript", "lesson_plan"):
        raise fail(ValueError("--kind must be transcript, lesson_plan or auto"))
    calibration = load_calibration(settings.models_dir)
    finder = None
    try:
        service, _ = search_service(progress=False)
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
        mapping = parse_speaker_map(speaker_map) if speaker_map.strip() else None
    except Invalid as err:
        raise fail(ValueError(err.message)) from err
    defaulted = ""
    try:
        parsed: ParsedTranscript | LessonPlan
        try:
            if kind == "auto":
                kind, parsed = read_either(data, file.name, mapping)
            elif kind == "transcript":
                parsed = read_transcript(data, file.name, mapping)
            else:
                parsed = parse_lesson_plan(data, file.name)
        except SpeakerMappingNeeded as need:
            # no mapping given: the default (most talk = 师), said in the report and here
            mapping = {**(mapping or {}), **need.default}
            defaulted = "，".join(f"{k}→{v}" for k, v in need.default.items())
            typer.echo(
                f"（说话人未映射，按默认映射：{defaulted}；可用 --speaker-map 指定）", err=True
            )
            kind, parsed = "transcript", read_transcript(data, file.name, mapping)
    except TranscriptError as err:
        sections = plan_sections_found(data, file.name) if kind == "auto" else []
        if len(sections) >= 1 and file.suffix.lower() not in (".srt", ".vtt", ".json"):
            # it has lesson-plan headings: say how to insist on a lesson plan
            raise fail(TranscriptError(f"{err}（如果这是教案，请加 --kind lesson_plan）")) from err
        raise fail(err) from err
    if isinstance(parsed, LessonPlan):
        result = diagnose_lesson_plan(
            parsed, stage=stage, subject=subject, find_resources=finder, calibration=calibration
        )
    else:
        notes = [n for n in parsed.warnings if not (defaulted and n.startswith("说话人映射"))]
        if defaulted:
            notes.insert(0, f"说话人未经确认，按默认映射（发言最多者为教师）：{defaulted}")
        result = diagnose_transcript(
            parsed.utterances, stage=stage, subject=subject, find_resources=finder,
            calibration=calibration, notes=notes, gaps=gaps,
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
        return
    report, analytics = result.report, result.analytics
    typer.echo(
        f"AI 诊断草稿（{result.model_version}，置信度 {result.confidence:.2f}；须经培训者审核后才对教师可见）"
    )
    if isinstance(analytics, TranscriptAnalytics):
        for note in analytics.notes:
            typer.echo(f"注意：{note}")
        for seg in analytics.segments or []:
            teacher = "—" if seg.teacher_share is None else f"{seg.teacher_share:.0%}"
            typer.echo(
                f"环节·{seg.name}：{seg.start_s / 60:.1f}–{seg.end_s / 60:.1f} 分，占全课 {seg.share:.0%}"
                f"（教师讲话 {teacher}）"
            )
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
