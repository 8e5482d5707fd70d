"""How refusals reach people: the one place that maps domain errors to HTTP.

- A :class:`~yanxiu.errors.DomainError` raised by a service becomes 404 / 403 / 409 / 422 by
  its kind (never by its text): JSON ``{"detail": message, "fields": {...}}`` under ``/api/``,
  a Chinese error page elsewhere (a fragment for htmx).
- HTTP errors raised by the framework (unknown URL, body too large, bad parameters) get the
  same Chinese pages on HTML routes; the API keeps FastAPI's JSON.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from yanxiu.errors import (
    Conflict,
    DomainError,
    Invalid,
    Malformed,
    NotAllowed,
    NotFound,
    TooLarge,
    Unavailable,
)
from yanxiu.web.pages import is_htmx, render

STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    NotAllowed: 403,
    Conflict: 409,
    Invalid: 422,
    TooLarge: 413,
    Malformed: 400,
    Unavailable: 503,
}

ERROR_TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    409: "操作冲突",
    413: "文件过大",
    422: "输入有误",
    503: "服务暂不可用",
}


def status_of(exc: DomainError) -> int:
    """The HTTP status of a domain error: the nearest kind in ``STATUS_OF`` (400 if none)."""
    for kind in type(exc).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, status: int, detail: str) -> Response:
    """The Chinese error page (or htmx fragment) for ``status``."""
    title = ERROR_TITLES.get(status, "出错了")
    detail = detail if detail and detail != title else ""
    context = {"title": title, "detail": detail, "status": status}
    name = "partials/error.html" if is_htmx(request) else "error.html"
    return render(request, name, context, status_code=status)


def install_error_pages(app: FastAPI) -> None:
    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        status = status_of(exc)
        if is_api(request):
            body: dict[str, object] = {"detail": exc.message}
            if exc.fields:
                body["fields"] = exc.fields
            return JSONResponse(body, status_code=status)
        return error_page(request, status, exc.message)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if is_api(request) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        detail = str(exc.detail or "")
        if exc.status_code == 404 and detail in ("", "Not Found"):
            detail = "您访问的页面不存在或已被移除。"
        elif exc.status_code == 413 and not any("\u4e00" <= c <= "\u9fff" for c in detail):
            detail = "上传的内容超过了服务器允许的大小，请压缩或拆分后重试。"
        return error_page(request, exc.status_code, detail)

    app.add_exception_handler(DomainError, on_domain_error)
    # Starlette's class, so unknown URLs (404) and oversized bodies (413) get pages too.
    app.add_exception_handler(StarletteHTTPException, on_http_error)
