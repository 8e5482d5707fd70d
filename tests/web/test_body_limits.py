"""Request bodies are limited per route before anything reads them whole (issue 19)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from tests.web.conftest import Site
from yanxiu.web.security import DEFAULT_BODY_LIMIT

CHUNK = 64 * 1024


def _post(site: Site, path: str, chunks: int, *, declared: int | None = None) -> tuple[int, int]:
    """Send a form body of ``chunks`` × 64 KB to ``path`` through the whole ASGI app; return the
    status and how many bytes the app pulled from the client before answering."""
    pulled = 0
    sent = 0
    status = 0

    async def receive() -> dict[str, object]:
        nonlocal pulled, sent
        if sent >= chunks:
            return {"type": "http.disconnect"}
        sent += 1
        pulled += CHUNK
        return {"type": "http.request", "body": b"a" * CHUNK, "more_body": sent < chunks}

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]

    headers = [(b"content-type", b"application/x-www-form-urlencoded"), (b"host", b"testserver")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    # A thread of its own: a browser test in the same worker may have left Playwright's event
    # loop running in this thread, and asyncio.run refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, site.app(scope, receive, send)).result()
    return status, pulled


def test_an_anonymous_flood_to_login_stops_at_the_limit(demo_site: Site) -> None:
    huge = 200 * 1024 * 1024 // CHUNK  # 200 MB
    status, pulled = _post(demo_site, "/login", huge)  # no Content-Length: read and count
    assert status == 413
    assert pulled <= DEFAULT_BODY_LIMIT + CHUNK  # stopped at the limit, not 200 MB


def test_a_declared_length_over_the_limit_is_refused_unread(demo_site: Site) -> None:
    status, pulled = _post(demo_site, "/login", 3200, declared=200 * 1024 * 1024)
    assert status == 413 and pulled == 0


def test_an_upload_route_accepts_what_it_declares(demo_site: Site) -> None:
    """The practice upload takes more than the default; its CSRF check reads it (then refuses
    the missing token, 403), rather than cutting it off at the default limit."""
    status, pulled = _post(demo_site, "/practice", (DEFAULT_BODY_LIMIT * 3) // CHUNK)
    assert status == 403 and pulled >= DEFAULT_BODY_LIMIT * 3
