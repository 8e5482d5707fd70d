import re

import pytest
from pydantic import ValidationError

from yanxiu.config import PROJECT_ROOT, Settings, get_settings


def test_every_setting_is_documented_in_env_example():
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*(YANXIU_[A-Z0-9_]+)=", text, flags=re.M))
    expected = {f"YANXIU_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "add these to .env.example"
    assert documented - expected == set(), "these in .env.example are not settings"


def test_each_documented_setting_has_a_comment_above_it():
    lines = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("YANXIU_") and not line.startswith(("YANXIU_PORT",)):
            assert lines[i - 1].startswith("#"), f"{line.split('=')[0]} needs a comment"


def test_production_refuses_a_published_secret(tmp_path):
    for published in ("dev-only-insecure-secret-key-change-me",
                      "change-me-to-a-long-random-string-of-48-characters"):  # fmt: skip
        with pytest.raises(ValidationError, match="YANXIU_SECRET_KEY"):
            Settings(env="production", secret_key=published, data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]


def test_an_unset_secret_is_generated_once_and_kept(tmp_path):
    first = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    again = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    secret = first.secret_key.get_secret_value()
    assert len(secret) >= 48 and again.secret_key.get_secret_value() == secret
    stored = tmp_path / "secret_key"
    assert stored.read_text().strip() == secret and (stored.stat().st_mode & 0o777) == 0o600
    other = Settings(data_dir=tmp_path / "elsewhere", _env_file=None)  # type: ignore[call-arg]
    assert other.secret_key.get_secret_value() != secret  # another install, another secret


def test_production_refuses_a_short_secret_and_the_demo_password():
    with pytest.raises(ValidationError, match="YANXIU_SECRET_KEY"):
        Settings(env="production", secret_key="short", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="YANXIU_DEMO_PASSWORD"):
        Settings(env="production", secret_key="x" * 40, _env_file=None)  # type: ignore[call-arg]


def test_production_accepts_real_secrets():
    s = Settings(
        env="production", secret_key="k" * 48, demo_password="another-pass", _env_file=None
    )  # type: ignore[call-arg]
    assert s.secret_key.get_secret_value() == "k" * 48


def test_settings_read_from_environment_and_are_cached(monkeypatch):
    get_settings.cache_clear()
    monkeypatch.setenv("YANXIU_POLICY", "DL")
    monkeypatch.setenv("YANXIU_PORT", "8123")
    try:
        first = get_settings()
        assert (first.policy, first.port) == ("DL", 8123)
        monkeypatch.setenv("YANXIU_PORT", "9000")
        assert get_settings() is first  # cached: read once per process
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("host", "secret", "serves"),
    [
        ("127.0.0.1", "short", True),  # this machine only: a weak secret is the operator's risk
        ("0.0.0.0", "short", False),
        ("0.0.0.0", "change-me-to-a-long-random-string-of-48-characters", False),
        ("192.168.1.20", "r" * 40, True),
        ("0.0.0.0", "", True),  # unset: a random secret is generated
    ],
)
def test_serve_refuses_a_weak_secret_beyond_this_machine(
    monkeypatch, tmp_path, host, secret, serves
):
    import uvicorn
    from typer.testing import CliRunner

    from yanxiu.cli import app

    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kw: started.append(kw))
    monkeypatch.setenv("YANXIU_SECRET_KEY", secret)
    monkeypatch.setenv("YANXIU_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--host", host])
    finally:
        get_settings.cache_clear()
    assert (result.exit_code == 0) is serves, result.output
    assert bool(started) is serves
    if not serves:
        assert "YANXIU_SECRET_KEY" in result.output
