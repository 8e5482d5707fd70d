"""Web fixtures: the seeded demo behind a real app, shared or fresh per test.

``demo_site`` is one demo for the whole test session (read-mostly tests: don't change data
other tests read, or use a user nobody else uses); ``fresh_site`` is a private copy of the
same demo for tests that change things. Search uses the lexical backend here (instant); the
e5/USE backends are covered by the analytics tests and the browser suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import copy_sqlite
from tests.web.helpers import login
from yanxiu.app import create_app
from yanxiu.config import Settings


def site_settings(db_file: Path, data_dir: Path, **extra: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        env="test",
        database_url=f"sqlite:///{db_file}",
        data_dir=data_dir,
        embed_backend="lexical",
        _env_file=None,
        **extra,
    )


@dataclass
class Site:
    """A running app over a demo database; ``client(username)`` logs a browser-like client in."""

    settings: Settings
    clients: list[TestClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = create_app(self.settings)
        self.password = self.settings.demo_password.get_secret_value()

    def client(self, username: str | None = None) -> TestClient:
        client = TestClient(self.app)
        client.__enter__()  # runs the lifespan (search, recommender) once per client
        self.clients.append(client)
        if username is not None:
            response = login(client, username, self.password)
            assert response.status_code == 303, f"login as {username} failed: {response.text[:300]}"
        return client

    @property
    def factory(self):  # type: ignore[no-untyped-def]
        return self.app.state.services.session_factory

    def close(self) -> None:
        for client in self.clients:
            client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def demo_site(demo_db_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("demo-site")
    copy_sqlite(demo_db_file, folder / "yanxiu.db")
    site = Site(site_settings(folder / "yanxiu.db", folder / "var"))
    yield site
    site.close()


@pytest.fixture
def fresh_site(demo_db_file: Path, tmp_path: Path) -> Iterator[Site]:
    copy_sqlite(demo_db_file, tmp_path / "yanxiu.db")
    site = Site(site_settings(tmp_path / "yanxiu.db", tmp_path / "var"))
    yield site
    site.close()
