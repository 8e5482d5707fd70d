"""Security headers on every response, and the API docs served from this server.

- Content-Security-Policy: scripts only from this server and never inline (templates carry no
  inline script or event handler: behaviour lives in web/static/js), no framing by other sites,
  forms post only here. Inline *style attributes* are allowed (progress bars set their width)
  — they cannot run code.
  A study unit's PDF is the one exception: its page may embed it from here (``object-src
  'self'`` on that page only) and the file may be framed by this site's own pages.
- Referrer-Policy same-origin, X-Content-Type-Options nosniff, X-Frame-Options DENY (for
  browsers older than frame-ancestors), a Permissions-Policy that turns off what no page uses.
- ``/api/docs`` is Swagger UI from the pinned ``swagger-ui-bundle`` package, mounted under
  ``/vendor/swagger`` (FastAPI's default docs load it from a CDN, which an offline server
  cannot reach, and start it with an inline script).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# A document unit's page shows its PDF in an <object> from this server (and nothing else), and
# the PDF itself may be shown in a page of this server (never framed by another site).
DOCUMENT_PAGE_POLICY = CONTENT_SECURITY_POLICY.replace("object-src 'none'", "object-src 'self'")
EMBEDDABLE_MEDIA_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'self'",
    "x-frame-options": "SAMEORIGIN",
}
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI, *, docs: bool) -> None:
    app.add_middleware(SecurityHeaders)
    if not docs:
        return
    app.mount("/vendor/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        templates = request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(
            request, "api_docs.html", {"spec_url": app.openapi_url}
        )
        return response
