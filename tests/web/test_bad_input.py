"""Input no query can use gets a clear 4xx, in Chinese on HTML pages, never a 500 (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Site
from tests.web.helpers import form_token, login

HUGE = "99999999999999999999"  # beyond 64 bits
JUST_OVER = str(2**63)


@pytest.fixture(scope="module")
def clients(demo_site: Site) -> Iterator[dict[str, TestClient]]:
    out = {}
    for username in ("t001", "admin"):
        client = TestClient(demo_site.app, raise_server_exceptions=False)  # see the real status
        client.__enter__()
        assert login(client, username, demo_site.password).status_code == 303
        out[username] = client
    yield out
    for client in out.values():
        client.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("t001", f"/practice/{HUGE}"),
        ("t001", f"/practice/{JUST_OVER}"),
        ("t001", f"/studios/{JUST_OVER}"),
        ("admin", f"/admin/schools/{HUGE}"),
        ("admin", f"/admin/regions/{JUST_OVER}"),
        ("t001", f"/api/v1/practice/{HUGE}"),
    ],
)
def test_an_id_beyond_64_bits_does_not_exist(clients, who: str, path: str) -> None:
    response = clients[who].get(path)
    assert response.status_code == 404, response.text[:200]
    if not path.startswith("/api/"):
        assert "不存在" in response.text


@pytest.mark.parametrize(
    ("path", "explained"),
    [
        ("/courses?page=0", "“page”应不小于 1"),
        ("/notifications?page=abc", "“page”应为整数"),
        ("/teacher/ledger?page=99999999999", "“page”应不大于 10000"),
    ],
)
def test_a_bad_parameter_on_a_page_is_explained_in_chinese(
    clients, path: str, explained: str
) -> None:
    response = clients["t001"].get(path)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert explained in response.text and "Input should be" not in response.text


def test_the_api_keeps_pydantics_details_and_adds_a_chinese_message(clients) -> None:
    response = clients["t001"].get("/api/v1/courses?page=0")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"][0]["loc"] == ["query", "page"] and "“page”应不小于 1" in body["message"]


def test_a_date_past_year_9999_is_bad_input(clients) -> None:
    response = clients["t001"].get("/api/v1/teachers/t001/path?today=9999-12-31")
    assert response.status_code in (422, 503)  # 503 when the recommender is not loaded


def test_lone_surrogates_in_json_are_refused(clients) -> None:
    """A contest reason with lone surrogates reaches the database write and is refused there."""
    client = clients["t001"]
    token = form_token(client.get("/practice").text)
    records = client.get("/api/v1/practice").json()["records"]
    reviewed = next(r for r in records if r["status"] in ("accepted", "edited"))
    response = client.post(
        f"/api/v1/practice/{reviewed['id']}/contest",
        content=b'{"reason": "\\ud800 \\udfff"}',
        headers={"content-type": "application/json", "X-CSRF-Token": token},
    )
    assert response.status_code == 422, response.text[:200]
    assert "无法保存的字符" in response.json()["detail"]
    assert client.get(f"/api/v1/practice/{reviewed['id']}").json()["status"] == reviewed["status"]
