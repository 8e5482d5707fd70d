"""The ``yanxiu`` command line: site operations, search and paths, scoring, and the lab.

``app`` (in :mod:`yanxiu.cli.app`) is the Typer application; importing this package registers
every command on it.
"""

from __future__ import annotations

from yanxiu.cli import accounts, lab, practice, scale, search, site
from yanxiu.cli.app import app

__all__ = ["app", "main"]

# `yanxiu --help` lists the site's own operations first, then search, scoring and the lab.
_MODULES = [m.__name__ for m in (site, accounts, search, practice, lab, scale)]
app.registered_commands.sort(
    key=lambda c: _MODULES.index(c.callback.__module__) if c.callback else len(_MODULES)
)


def main() -> None:
    app()
