"""The search JSON API and the `yanxiu search` / `yanxiu eval search` commands."""

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.factories import make_teacher
from tests.web.helpers import login
from yanxiu.app import create_app
from yanxiu.catalog.service import sync_competencies, sync_courses
from yanxiu.cli import app as cli
from yanxiu.config import get_settings


def load_catalog(db, content):
    with db.factory() as s:
        sync_competencies(s, content.competencies)
        sync_courses(s, content.resources, origin="content:catalog")
        s.commit()


def logged_in(app, db) -> TestClient:
    """A client logged in as a new teacher (the search API needs a login)."""
    with db.factory() as s:
        username = make_teacher(s).username
        s.commit()
    client = TestClient(app)  # entered by the caller's `with` (which runs the lifespan)
    assert client.get("/api/v1/search", params={"q": "作业"}).status_code == 401
    assert login(client, username).status_code == 303
    return client


def test_search_api_returns_filtered_highlighted_results(db, content, settings_for):
    load_catalog(db, content)
    app = create_app(settings_for(db.url, embed_backend="use"))
    with logged_in(app, db) as client:
        body = client.get(
            "/api/v1/search", params={"q": "怎么布置分层作业", "stage": "初中", "k": 5}
        ).json()
        assert len(body["results"]) == 5
        assert all("初中" in r["stages"] and r["status"] == "published" for r in body["results"])
        assert any("<mark>" in r["snippet_html"] for r in body["results"])
        # the general layered-homework course or the 初中 maths one (both answer it)
        assert body["results"][0]["code"] in {"ZY-003", "XK-SX-08", "ZY-004"}
        assert body["no_match"] is False
        nothing = client.get("/api/v1/search", params={"q": "zzzzqqq"}).json()
        assert nothing["results"] == [] or nothing["no_match"] is False
        assert client.get("/api/v1/search", params={"q": ""}).status_code == 422
        assert (
            client.get("/api/v1/search", params={"q": "作业", "mode": "magic"}).status_code == 422
        )
        assert "/api/v1/search" in client.get("/api/v1/openapi.json").json()["paths"]


def test_search_api_says_why_when_the_model_is_missing(db, settings_for, tmp_path):
    app = create_app(
        settings_for(db.url, embed_backend="st", embed_model_path=tmp_path / "no-model")
    )
    with logged_in(app, db) as client:
        answer = client.get("/api/v1/search", params={"q": "师德"})
        assert answer.status_code == 503
        assert "YANXIU_EMBED_MODEL_PATH" in answer.json()["detail"]
        assert client.get("/api/v1/health").status_code == 200  # the rest of the app still works


def invoke(db, tmp_path, *args):
    get_settings.cache_clear()
    env = {
        "YANXIU_DATABASE_URL": db.url,
        "YANXIU_ENV": "test",
        "YANXIU_EMBED_BACKEND": "use",
        "YANXIU_DATA_DIR": str(tmp_path),
    }
    try:
        return CliRunner().invoke(cli, list(args), env=env)
    finally:
        get_settings.cache_clear()


def test_search_and_eval_commands(db, content, tmp_path):
    load_catalog(db, content)
    built = invoke(db, tmp_path, "index", "build")
    assert built.exit_code == 0 and "catalog index rebuilt" in built.output
    assert "synced" in invoke(db, tmp_path, "index", "build").output
    result = invoke(db, tmp_path, "search", "师德 有偿补课", "--k", "3", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert len(body["results"]) == 3 and body["results"][0]["category"] == "师德师风"
    text = invoke(db, tmp_path, "search", "防欺凌", "--stage", "初中", "--k", "2").output
    assert text.startswith(" 1. [") and "【" in text
    report = json.loads(invoke(db, tmp_path, "eval", "search", "--json").output)
    assert set(report["modes"]) == {"bm25", "lexical", "dense", "rrf", "hybrid"}
    assert report["queries"] >= 200
    modes = report["modes"]
    assert modes["hybrid"]["dev"]["ndcg@10"] > modes["lexical"]["dev"]["ndcg@10"]
    table = invoke(db, tmp_path, "eval", "search", "--split", "test").output
    assert "test split" in table and "no-answer F1" in table and "pinyin" in table
    assert invoke(db, tmp_path, "search", "作业", "--mode", "nope").exit_code == 2
