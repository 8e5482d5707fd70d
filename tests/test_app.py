from fastapi.testclient import TestClient

from yanxiu.app import create_app


def test_health_and_home_page(db, settings_for):
    app = create_app(settings_for(db.url))
    with TestClient(app) as client:
        assert client.get("/api/v1/health").json()["status"] == "ok"
        page = client.get("/")
        assert page.status_code == 200 and "研修" in page.text
        assert "/static/app.css" in page.text
        assert client.get("/static/app.css").status_code == 200
        schema = client.get("/api/v1/openapi.json").json()
        assert "/api/v1/health" in schema["paths"] and "/" not in schema["paths"]
