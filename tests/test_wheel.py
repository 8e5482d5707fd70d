"""A built wheel carries the front end (web/ at the repository's top) and serves pages from it.

The wheel is built from this checkout, unpacked into a folder of its own and imported from
there by a separate Python process (the checkout is not on its path), which serves the login
page, a stylesheet and vendored htmx.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from yanxiu.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

SERVE_FROM_WHEEL = r"""
import json, sys
from pathlib import Path
import yanxiu
from fastapi.testclient import TestClient
from yanxiu.app import create_app
from yanxiu.config import Settings
from yanxiu.setup import initialise
from yanxiu.web.frontend import frontend_dir

root, var = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(env="test", database_url=f"sqlite:///{var / 'y.db'}", data_dir=var,
                    content_dir=root / "content", models_dir=root / "models",
                    embed_backend="lexical", _env_file=None)
initialise(settings, demo=False, progress=False)
with TestClient(create_app(settings)) as client:
    pages = {path: client.get(path) for path in ("/login", "/static/app.css")}
    htmx = [p for p in (frontend_dir() / "static" / "vendor").iterdir() if p.name.startswith("htmx")]
    vendored = client.get(f"/static/vendor/{htmx[0].name}")
print(json.dumps({
    "package": yanxiu.__file__, "frontend": str(frontend_dir()),
    "login": [pages["/login"].status_code, "登录" in pages["/login"].text],
    "css": pages["/static/app.css"].status_code, "htmx": vendored.status_code,
}))
"""


def test_a_built_wheel_serves_pages_from_its_own_front_end(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(PROJECT_ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = dist.glob("yanxiu-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "yanxiu/frontend/templates/base.html" in names
    assert any(n.startswith("yanxiu/frontend/static/vendor/htmx") for n in names)
    assert "yanxiu/db/migrations/env.py" in names
    assert not any(n.startswith(("yanxiu/web/templates", "web/")) for n in names)

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "YANXIU_SECRET_KEY": "x" * 40}
    run = subprocess.run(
        [sys.executable, "-c", SERVE_FROM_WHEEL, str(PROJECT_ROOT), str(tmp_path / "var")],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["package"].startswith(str(site)), "the wheel's copy must be the one imported"
    assert out["frontend"] == str(site / "yanxiu" / "frontend")
    assert out["login"] == [200, True]
    assert out["css"] == 200 and out["htmx"] == 200
