"""Where the front end (templates and static assets) is: ``web/`` in a checkout, or
``yanxiu/frontend`` inside an installed wheel (pyproject.toml puts it there)."""

from __future__ import annotations

from pathlib import Path

from yanxiu.config import PROJECT_ROOT

PACKAGED = Path(__file__).resolve().parents[1] / "frontend"  # a built wheel carries it here
CHECKOUT = PROJECT_ROOT / "web"  # the repository's top-level web/ (editable install)


def frontend_dir() -> Path:
    """The directory holding ``templates/`` and ``static/``."""
    for candidate in (PACKAGED, CHECKOUT):
        if (candidate / "templates").is_dir():
            return candidate
    raise FileNotFoundError(
        f"front end not found: neither {PACKAGED} (installed wheel) nor {CHECKOUT} (checkout)"
    )
