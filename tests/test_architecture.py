"""The package's layers, read from its imports (module-level and inside functions alike).

Layers, lowest first. A module may import its own layer and the layers below it, never one
above: a domain package cannot reach into the web layer, a lower domain cannot reach into a
higher one, and nothing but the command line reaches into the lab (training, evaluation,
benchmarks), which the product never imports at run time.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "platform" / "yanxiu"

# Lowest first; a layer is one or more top-level modules or packages of ``yanxiu``.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "__init__",
        "config",
        "errors",
        "jobs",
        "safe_text",
        "spreadsheet",
    ),  # foundation: no domain knowledge
    ("db",),  # engine, sessions, base, migrations runner
    ("audit",),
    ("accounts",),  # regions, schools, users, passwords, scope (who may see whom)
    ("notifications",),  # the inbox: any domain above may tell a person something
    ("catalog",),  # courses and competencies
    ("credits",),  # policy, the append-only ledger, compliance
    ("search",),  # embedders, FAISS, hybrid catalog search
    ("learning",),  # enrolment, progress, completion (credits the ledger)
    ("practice",),  # transcripts and plans, coder, rubric, diagnosis, review
    ("programs",),  # hybrid programmes, offline sessions, attendance
    ("studios",),  # famous-teacher studios, cases, pushes
    ("recommend",),  # teacher vectors, ranker, training paths
    ("reports",),  # read models across domains: dashboards, heat maps, exports
    ("content", "seed", "setup", "tables", "runtime", "jobqueue", "services"),  # composition
    ("web", "app"),  # FastAPI: routes parse, call one service, render
    ("lab",),  # training, evaluation, benchmarks, simulators (imported by the CLI only)
    ("cli",),
)
LAYER_OF = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# Alembic's environment script is loaded by Alembic, beside the app: it needs every table.
COMPOSITION = LAYER_OF["tables"]
ROUTES = PACKAGE / "web" / "routes"
MAX_ROUTE_MODULE_LINES = 300


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.why}"


def layer_of(module: str) -> int:
    """The layer of a dotted ``yanxiu.…`` module name."""
    parts = module.split(".")
    if parts[:3] == ["yanxiu", "db", "migrations"]:
        return COMPOSITION
    top = parts[1] if len(parts) > 1 else "__init__"
    if top not in LAYER_OF:
        raise KeyError(f"{module}: add its top-level package to LAYERS in {__file__}")
    return LAYER_OF[top]


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) of every ``yanxiu`` import in ``source``, at any depth."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "yanxiu":  # from yanxiu import x: x is a module or a name
                found += [(node.lineno, f"yanxiu.{a.name}") for a in node.names]
            elif node.module.startswith("yanxiu."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("yanxiu.")]
    return found


def violations(module: str, source: str) -> list[Violation]:
    """Upward imports in ``source`` (the text of ``module``), and imports of the lab."""
    own = layer_of(module)
    out = []
    for line, target in imported_modules(source):
        if target == "yanxiu.__version__":
            continue
        rank = layer_of(target)
        if rank > own:
            out.append(Violation(module, line, target, f"upward (layer {own} → {rank})"))
        elif target.startswith("yanxiu.lab") and not module.startswith(
            ("yanxiu.lab", "yanxiu.cli")
        ):
            out.append(Violation(module, line, target, "only the CLI may import the lab"))
    return out


def package_modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((".".join(parts), path))
    return out


def test_no_module_imports_upward_or_into_the_lab() -> None:
    found = [
        v
        for module, path in package_modules()
        for v in violations(module, path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(map(str, found))


def test_every_top_level_module_has_a_layer() -> None:
    for module, _ in package_modules():
        layer_of(module)  # raises with the module to place


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        # a domain package reaching into the web layer, inside a function: caught
        ("yanxiu.accounts.scope", "def f():\n    from yanxiu.web.pages import render\n", 1),
        # a lower domain importing a higher one at module level: caught
        ("yanxiu.catalog.service", "import yanxiu.practice.models\n", 1),
        ("yanxiu.credits.ledger", "from yanxiu import reports\n", 1),
        # the web layer importing the lab: caught (the lab sits above the web layer)
        ("yanxiu.web.routes.admin", "from yanxiu.lab.load_bench import run\n", 1),
        # downward and same-layer imports are fine
        ("yanxiu.practice.service", "from yanxiu.accounts.scope import Scope\n", 0),
        ("yanxiu.cli", "from yanxiu.lab.coder_train import train_coder\n", 0),
        ("yanxiu.web.deps", "from yanxiu.app import create_app\n", 0),
    ],
)
def test_the_check_catches_a_deliberate_upward_import(
    module: str, source: str, expected: int
) -> None:
    assert len(violations(module, source)) == expected


def test_route_modules_run_no_sql() -> None:
    """Routes parse, call one service and render: queries live in the domain services."""
    offenders = [
        f"{path.name}:{line}"
        for path in sorted(ROUTES.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        for line in _sqlalchemy_imports(node)
    ]
    assert not offenders, f"route modules importing sqlalchemy: {offenders}"


def _sqlalchemy_imports(node: ast.AST) -> list[int]:
    if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
        return [node.lineno]
    if isinstance(node, ast.Import) and any(
        a.name.split(".")[0] == "sqlalchemy" for a in node.names
    ):
        return [node.lineno]
    return []


def test_route_modules_stay_short() -> None:
    long = {
        path.name: n
        for path in sorted(ROUTES.glob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_ROUTE_MODULE_LINES
    }
    assert not long, f"route modules over {MAX_ROUTE_MODULE_LINES} lines: {long}"
