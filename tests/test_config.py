import re

import pytest
from pydantic import ValidationError

from yanxiu.config import INSECURE_DEV_SECRET, PROJECT_ROOT, Settings, get_settings


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


def test_production_refuses_the_insecure_default_secret():
    with pytest.raises(ValidationError, match="YANXIU_SECRET_KEY"):
        Settings(env="production", _env_file=None)  # type: ignore[call-arg]


def test_production_refuses_a_short_secret_and_the_demo_password():
    with pytest.raises(ValidationError, match="YANXIU_SECRET_KEY"):
        Settings(env="production", secret_key="short", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="YANXIU_DEMO_PASSWORD"):
        Settings(env="production", secret_key="x" * 40, _env_file=None)  # type: ignore[call-arg]


def test_production_accepts_real_secrets_and_development_accepts_defaults():
    s = Settings(
        env="production", secret_key="k" * 48, demo_password="another-pass", _env_file=None
    )  # type: ignore[call-arg]
    assert s.secret_key.get_secret_value() == "k" * 48
    assert Settings(_env_file=None).secret_key.get_secret_value() == INSECURE_DEV_SECRET  # type: ignore[call-arg]


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
