"""The shared page layout: who is logged in, a CSRF-protected logout, htmx token header."""

import json
import re

from fastapi.testclient import TestClient

from tests.factories import make_teacher
from tests.web.helpers import form_token, login
from yanxiu.app import create_app


def test_layout_shows_the_user_and_carries_the_csrf_token_for_htmx(db, settings_for):
    with db.factory() as s:
        teacher = make_teacher(s)
        s.commit()
        username, name = teacher.username, teacher.display_name
    with TestClient(create_app(settings_for(db.url, embed_backend="lexical"))) as client:
        anonymous = client.get("/").text
        assert 'href="/login"' in anonymous and "退出" not in anonymous
        assert login(client, username).status_code == 303
        page = client.get("/").text
        assert name in page and 'action="/logout"' in page
        header = re.search(r"hx-headers='([^']+)'", page).group(1)
        token = json.loads(header.replace("&#34;", '"'))["X-CSRF-Token"]
        assert token == form_token(page)  # the same session token in form and header
        assert (
            client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
            == 303
        )
        assert "退出" not in client.get("/").text
