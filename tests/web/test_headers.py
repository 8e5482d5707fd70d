"""Security headers on every response, no inline script anywhere, API docs served locally."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Site
from yanxiu.web.frontend import frontend_dir

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        (None, "GET", "/login"),
        (None, "GET", "/static/app.css"),
        (None, "GET", "/api/v1/health"),
        (None, "GET", "/no-such-page"),
        (None, "POST", "/login"),  # refused by the CSRF check before any route
        ("t001", "GET", "/teacher"),
        ("t001", "GET", "/api/v1/me/compliance"),
    ],
)
def test_every_response_carries_the_security_headers(
    demo_site: Site, who: str | None, method: str, path: str
) -> None:
    response = demo_site.client(who).request(method, path, follow_redirects=False)
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, path, response.status_code)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src


def test_templates_carry_no_inline_script_or_event_handler() -> None:
    offenders = []
    for path in sorted((frontend_dir() / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{path.name}: {match.group(0)}")
        for match in re.finditer(r"\son[a-z]+\s*=|\bhx-on|javascript:", text):
            offenders.append(f"{path.name}: {match.group(0)}")
    assert not offenders, offenders


def test_the_api_docs_load_nothing_from_another_site(demo_site: Site) -> None:
    client = demo_site.client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert client.get("/redoc").status_code == 404  # ReDoc came from a CDN: gone
