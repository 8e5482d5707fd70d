"""Typed settings, read from YANXIU_* environment variables (and a .env file).

Settings are served by the cached :func:`get_settings`; nothing reads the environment at
import time, so tests can build their own :class:`Settings` and hand them to the app.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# platform/yanxiu/config.py -> repository root (content/, models/, var/ live there)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_FILE = "secret_key"  # under data_dir: the generated secret, kept across restarts
MIN_SECRET_LENGTH = 32
# Secrets that were ever written in this repository (the old development default, the example
# file's placeholder): anyone can read them, so they count as no secret at all.
PUBLISHED_SECRETS = frozenset(
    {"dev-only-insecure-secret-key-change-me", "change-me-to-a-long-random-string-of-48-characters"}
)


def weak_secret(secret: str) -> bool:
    return len(secret) < MIN_SECRET_LENGTH or secret in PUBLISHED_SECRETS


def persistent_secret(path: Path) -> str:
    """The secret stored at ``path``, created (random, readable by the owner only) on first use.

    Several processes may start at once on a fresh install: the first to create the file wins
    and the others read it, so every worker signs with the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
        raise ValueError(f"{path} is empty: delete it to have a new secret generated") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        secret = secrets.token_urlsafe(48)
        out.write(secret + "\n")
    return secret


def is_loopback(host: str) -> bool:
    """Does binding ``host`` keep the server on this machine?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """All runtime configuration of a Yanxiu deployment."""

    model_config = SettingsConfigDict(
        env_prefix="YANXIU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = Field(
        "development",
        description="development | test | production; production refuses insecure defaults",
    )
    database_url: str = Field(
        f"sqlite:///{PROJECT_ROOT / 'var' / 'yanxiu.db'}",
        description="SQLAlchemy URL: sqlite:///path (default) or postgresql://user@host/db",
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs session cookies, CSRF tokens and check-in codes; when unset, a random "
        "secret is generated into <data_dir>/secret_key on first run and kept",
    )
    content_dir: Path = Field(PROJECT_ROOT / "content", description="Reviewed content to load")
    models_dir: Path = Field(PROJECT_ROOT / "models", description="Trained model artifacts")
    data_dir: Path = Field(PROJECT_ROOT / "var", description="Indexes, caches, uploads, exports")
    policy: str = Field("GX", description="Code of the default credit policy (content/policies)")
    host: str = Field("127.0.0.1", description="Address the web server binds to")
    port: int = Field(8000, description="Port the web server listens on")
    threads: int = Field(1, ge=1, le=64, description="BLAS/model threads per process")
    web_threads: int = Field(
        12,
        ge=1,
        le=64,
        description="Requests a server process works on at once (its thread pool); its "
        "database pool holds as many connections plus a few for jobs",
    )
    embed_backend: Literal["e5", "use", "st", "lexical"] = Field(
        "e5", description="Embedding backend: e5 (default), use, st (local model dir), lexical"
    )
    embed_model_path: Path | None = Field(
        None, description="Local model directory or package for the st backend"
    )
    search_lexical_weight: float = Field(
        0.6, ge=0, le=2, description="Weight of lexical results in hybrid search (dense = 1)"
    )
    demo_password: SecretStr = Field(
        SecretStr("yanxiu2026"), description="Password given to seeded demo accounts"
    )
    sqlite_busy_timeout_ms: int = Field(10_000, description="How long SQLite waits on a lock")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="How users reach this server; names the account system in xAPI exports",
    )
    log_level: str = Field("INFO", description="Python logging level")
    session_idle_minutes: int = Field(
        60, ge=1, description="Log a user out after this many minutes without a request"
    )
    session_max_hours: int = Field(
        12, ge=1, description="Log a user out this many hours after login, active or not"
    )

    redis_url: str = Field(
        "",
        description="redis://host:port/db: login throttles and the job queue shared by several "
        "worker processes; unset, they live in the database and a SQLite queue under data_dir",
    )

    jobs_consumer: Literal["inline", "separate"] = Field(
        "inline",
        description="inline: the web server runs background jobs on a thread of its own; "
        "separate: `yanxiu worker` processes run them (the server only queues them)",
    )

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if not self.secret_key.get_secret_value():
            self.secret_key = SecretStr(persistent_secret(self.data_dir / SECRET_FILE))
        if self.env == "production":
            secret = self.secret_key.get_secret_value()
            if weak_secret(secret):
                raise ValueError(
                    "YANXIU_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
                )
            if self.demo_password.get_secret_value() == "yanxiu2026":
                raise ValueError("YANXIU_DEMO_PASSWORD must be changed in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
