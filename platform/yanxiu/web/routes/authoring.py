"""课程编写（管理员、培训者）：新建、修改、发布、下架课程，编辑学习单元和测验题，导入单元文件。

Each change to a published course is a new course version (:mod:`yanxiu.catalog.authoring`);
what was credited under an earlier version keeps its hours and version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yanxiu.catalog.authoring import (
    add_question,
    add_unit,
    authoring_list,
    authoring_page,
    create_course,
    edit_unit,
    import_lesson,
    retire_question,
    set_status,
    update_course,
)
from yanxiu.catalog.media import MAX_MEDIA_BYTES
from yanxiu.errors import Conflict, Invalid
from yanxiu.web.deps import ReviewerUser, ServicesDep, SessionDep
from yanxiu.web.pages import flash, render_view

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1")

Text = Annotated[str, Form(max_length=60_000)]
Short = Annotated[str, Form(max_length=200)]


def _done(request: Request, where: str, action: Callable[[], Any], ok: str) -> RedirectResponse:
    """Run an authoring action; flash what it did or why it was refused; back to ``where``."""
    try:
        action()
    except (Conflict, Invalid) as refused:
        detail = "；".join(refused.fields.values())
        flash(request, refused.message + (f"（{detail}）" if detail else ""), "error")
    else:
        flash(request, ok)
    return RedirectResponse(where, status_code=303)


@router.get("/authoring", response_class=HTMLResponse)
def courses(request: Request, me: ReviewerUser, db: SessionDep) -> Response:
    return render_view(request, "authoring/index.html", authoring_list(db), me=me)


@router.post("/authoring/courses")
def new_course(
    request: Request, me: ReviewerUser, db: SessionDep, code: Short = "", title: Short = "",
    summary: Text = "", category: Short = "", hours: Short = "", format: Short = "online",
    provider: Short = "",
) -> Response:  # fmt: skip
    try:
        with db.begin_nested():
            course = create_course(db, actor_id=me.id, code=code, title=title, summary=summary,
                                   category=category, hours=hours, fmt=format, provider=provider)  # fmt: skip
    except Invalid as refused:
        flash(request, refused.message + "：" + "；".join(refused.fields.values()), "error")
        return RedirectResponse("/authoring", status_code=303)
    flash(request, f"已新建草稿课程 {course.code}，请添加学习单元和测验题后发布。")
    return RedirectResponse(f"/authoring/courses/{course.code}", status_code=303)


@router.get("/authoring/courses/{code}", response_class=HTMLResponse)
def course_page(request: Request, code: str, me: ReviewerUser, db: SessionDep) -> Response:
    return render_view(request, "authoring/course.html", authoring_page(db, code), me=me)


@router.post("/authoring/courses/{code}")
def save_course(
    request: Request, code: str, me: ReviewerUser, db: SessionDep, title: Short = "",
    summary: Text = "", category: Short = "", hours: Short = "",
) -> Response:  # fmt: skip
    def act() -> None:
        with db.begin_nested():
            update_course(db, actor_id=me.id, code=code, title=title, summary=summary,
                          category=category, hours=hours)  # fmt: skip

    return _done(request, f"/authoring/courses/{code}", act, "课程信息已保存。")


async def _media(file: UploadFile | None = File(None)) -> bytes:
    """The uploaded file (read without blocking; a file over the limit is refused by size)."""
    return await file.read(MAX_MEDIA_BYTES + 1) if file is not None else b""


async def _lesson_file(file: UploadFile = File(...)) -> bytes:
    return await file.read(1024 * 1024 + 1)


@router.post("/authoring/courses/{code}/units", max_body_size=MAX_MEDIA_BYTES + 1024 * 1024)
def new_unit(
    request: Request, code: str, me: ReviewerUser, db: SessionDep, services: ServicesDep,
    data: Annotated[bytes, Depends(_media)], kind: Short = "text", title: Short = "",
    body: Text = "", duration: Short = "",
) -> Response:  # fmt: skip
    media_dir = services.settings.data_dir / "media"

    def act() -> None:
        with db.begin_nested():
            add_unit(db, actor_id=me.id, code=code, kind=kind, title=title, body=body,
                     duration=duration, data=data, media_dir=media_dir)  # fmt: skip

    return _done(request, f"/authoring/courses/{code}", act, "已添加学习单元。")


@router.post("/authoring/courses/{code}/units/{unit_id}")
def save_unit(
    request: Request, code: str, unit_id: int, me: ReviewerUser, db: SessionDep,
    title: Short = "", body: Text = "", action: Short = "save",
) -> Response:  # fmt: skip
    def act() -> None:
        with db.begin_nested():
            edit_unit(db, actor_id=me.id, code=code, unit_id=unit_id, title=title, body=body,
                      retire=action == "retire")  # fmt: skip

    ok = "已停用该单元。" if action == "retire" else "单元已保存。"
    return _done(request, f"/authoring/courses/{code}", act, ok)


@router.post("/authoring/courses/{code}/questions")
def new_question(
    request: Request, code: str, me: ReviewerUser, db: SessionDep, kind: Short = "single",
    stem: Text = "", options: Text = "", answer: Short = "",
) -> Response:  # fmt: skip
    def act() -> None:
        with db.begin_nested():
            add_question(db, actor_id=me.id, code=code, kind=kind, stem=stem, options=options,
                         answer=answer)  # fmt: skip

    return _done(request, f"/authoring/courses/{code}", act, "已添加测验题。")


@router.post("/authoring/courses/{code}/questions/{question_id}/retire")
def drop_question(
    request: Request, code: str, question_id: int, me: ReviewerUser, db: SessionDep
) -> Response:
    def act() -> None:
        with db.begin_nested():
            retire_question(db, actor_id=me.id, code=code, question_id=question_id)

    return _done(request, f"/authoring/courses/{code}", act, "已停用该题。")


@router.post("/authoring/courses/{code}/status")
def change_status(
    request: Request, code: str, me: ReviewerUser, db: SessionDep, status: Short = ""
) -> Response:
    def act() -> None:
        if status not in ("published", "retired"):
            raise Invalid("请选择发布或下架")
        with db.begin_nested():
            set_status(db, actor_id=me.id, code=code, status=status)

    ok = "课程已发布。" if status == "published" else "课程已下架，已获学时不受影响。"
    return _done(request, f"/authoring/courses/{code}", act, ok)


@router.post("/authoring/courses/{code}/import", max_body_size=2 * 1024 * 1024)
def import_units(
    request: Request, code: str, me: ReviewerUser, db: SessionDep,
    data: Annotated[bytes, Depends(_lesson_file)],
) -> Response:  # fmt: skip

    def act() -> None:
        if len(data) > 1024 * 1024:
            raise Invalid("导入文件不能超过 1 MB")
        with db.begin_nested():
            import_lesson(db, actor_id=me.id, code=code, data=data)

    return _done(request, f"/authoring/courses/{code}", act, "已导入学习单元与测验题。")
