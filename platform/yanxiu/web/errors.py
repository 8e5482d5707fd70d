"""How refusals reach people: the one place that maps domain errors to HTTP.

- A :class:`~yanxiu.errors.DomainError` raised by a service becomes 404 / 403 / 409 / 422 by
  its kind (never by its text): JSON ``{"detail": message, "fields": {...}}`` under ``/api/``,
  a Chinese error page elsewhere (a fragment for htmx).
- HTTP errors raised by the framework (unknown URL, body too large) get the same Chinese pages
  on HTML routes; the API keeps FastAPI's JSON.
- A query or path parameter that does not validate is explained in Chinese (which parameter,
  what it should be): a 422 page on HTML routes; the API keeps pydantic's list in ``detail`` and
  adds a Chinese ``message``.
- A unique key met by a request that lost a race to an identical one is 409, never 500.
- Input that no query can hold (an id beyond 64 bits, a date past year 9999, text with lone
  surrogates) is refused as 404 / 422 rather than failing as a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from yanxiu.errors import (
    Conflict,
    DomainError,
    Invalid,
    Malformed,
    NotAllowed,
    NotFound,
    TooLarge,
    TooManyAttempts,
    Unavailable,
)
from yanxiu.safe_text import ERROR_TYPE, MESSAGE
from yanxiu.web.pages import is_htmx, render

STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    NotAllowed: 403,
    Conflict: 409,
    Invalid: 422,
    TooLarge: 413,
    Malformed: 400,
    TooManyAttempts: 429,
    Unavailable: 503,
}

ERROR_TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    409: "操作冲突",
    413: "文件过大",
    422: "输入有误",
    429: "尝试过于频繁",
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


MAX_ID = 2**63 - 1  # the largest id a database column holds

# pydantic's error types, as people read them ({…} are the error's context values)
VALIDATION_TEXT = {
    "missing": "不能为空",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为“是”或“否”",
    "greater_than_equal": "应不小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "应不大于 {le}",
    "less_than": "应小于 {lt}",
    "string_too_long": "最多 {max_length} 个字符",
    "string_too_short": "至少 {min_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值应为 {expected}",
    "enum": "取值应为 {expected}",
    "date_parsing": "应为日期，如 2026-09-01",
    "date_from_datetime_parsing": "应为日期，如 2026-09-01",
    "datetime_parsing": "应为日期时间，如 2026-09-01T08:30",
    "too_long": "最多 {max_length} 项",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "格式不正确",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    ERROR_TYPE: MESSAGE,
}
WHERE = {"query": "查询参数", "path": "地址中的", "body": "提交的", "header": "请求头"}


def explain(error: dict[str, Any]) -> str:
    """One validation error in Chinese: where it is and what the value should be."""
    loc = [str(part) for part in error.get("loc", ())]
    where = WHERE.get(loc[0], "") if loc else ""
    name = ".".join(loc[1:]) or (loc[0] if loc else "")
    template = VALIDATION_TEXT.get(str(error.get("type", "")), "不正确")
    try:
        text = template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        text = "不正确"
    return f"{where}“{name}”{text}"


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

    async def on_invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        reasons = [explain(e) for e in exc.errors()]
        if is_api(request):
            response = await request_validation_exception_handler(request, exc)
            return JSONResponse(
                {
                    "detail": exc.errors() and _json_safe(exc.errors()),
                    "message": "；".join(reasons),
                },
                status_code=response.status_code,
            )
        return error_page(request, 422, "；".join(reasons) + "。请检查链接或刷新页面后重试。")

    async def on_out_of_range(request: Request, exc: Exception) -> Response:
        """An id no table can hold is an id that does not exist; any other value out of range
        (a date past 9999, a number too large for a column) is bad input."""
        ids = [v for v in request.path_params.values() if isinstance(v, str) and v.isdigit()]
        if any(int(v) > MAX_ID for v in ids):
            status, message = 404, "您访问的内容不存在。"
        else:
            status, message = 422, "输入的数值、日期或文字超出了允许的范围，请检查后重试。"
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=status)
        return error_page(request, status, message)

    async def on_unencodable(request: Request, exc: Exception) -> Response:
        message = "提交的文字中含有无法保存的字符（如不成对的代理字符），请删除后重试。"
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=422)
        return error_page(request, 422, message)

    async def on_duplicate(request: Request, exc: Exception) -> Response:
        """The last line behind the services' own handling: a request that lost a race to an
        identical one (a unique key the service did not expect to meet) is a conflict, not a
        server error; nothing it wrote was kept."""
        message = "该操作刚刚已由另一个请求完成，请刷新页面查看最新结果。"
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=409)
        return error_page(request, 409, message)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(IntegrityError, on_duplicate)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(OverflowError, on_out_of_range)
    app.add_exception_handler(DataError, on_out_of_range)
    app.add_exception_handler(UnicodeEncodeError, on_unencodable)
    # Starlette's class, so unknown URLs (404) and oversized bodies (413) get pages too.
    app.add_exception_handler(StarletteHTTPException, on_http_error)


def _json_safe(errors: Any) -> Any:
    """pydantic's errors with their inputs made JSON-safe (an input may hold lone surrogates or
    other values JSON cannot carry)."""
    from fastapi.encoders import jsonable_encoder

    safe = jsonable_encoder(errors)
    for error in safe if isinstance(safe, list) else []:
        if isinstance(error, dict) and isinstance(error.get("input"), str):
            error["input"] = error["input"].encode("utf-8", "replace").decode("utf-8")
    return safe
