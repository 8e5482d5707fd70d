"""Helpers for web tests: log a TestClient in the way a browser does."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.factories import PASSWORD


def form_token(page_html: str) -> str:
    """The CSRF token in a rendered form (``{{ csrf_input() }}``)."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, next: str = "/"):
    """GET the login form, POST it with its token; the client keeps the session cookie."""
    token = form_token(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next},
        follow_redirects=False,
    )
