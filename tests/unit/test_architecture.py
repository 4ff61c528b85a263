"""The import rule of docs/architecture.md: every module belongs to a room, and imports only the rooms
below it. Known back-edges are listed with their reason; the list may only shrink (an entry that no
longer occurs fails the test, so it is removed when the edge is)."""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "segwarehouse"

# Longest prefix wins. A new module needs a room here (and in docs/architecture.md).
ROOMS = {
    "segwarehouse": "facade",
    "segwarehouse.errors": "errors",
    "segwarehouse.version": "errors",
    "segwarehouse.spec": "language",
    "segwarehouse.words": "language",
    "segwarehouse.project": "project",
    "segwarehouse.compiler": "compiler",
    "segwarehouse.warehouse": "warehouse",
    **{f"segwarehouse.{m}": "build" for m in (
        "runner", "materialize", "outputs", "catalog", "modelbuild", "columns", "validate", "schedule",
        "names", "incremental", "selection", "artifacts")},
    **{f"segwarehouse.{m}": "tools" for m in (
        "explain", "funnel", "overlap", "plan", "preview", "report", "site", "init_project", "outcomes")},
    **{f"segwarehouse.{m}": "cli" for m in ("cli", "__main__", "logs", "jsonlog")},
}
BELOW = {
    "errors": set(),
    "language": {"errors"},
    "project": {"errors", "language"},
    "compiler": {"errors", "language"},  # the Project type only under TYPE_CHECKING
    "warehouse": {"errors"},
    "build": {"errors", "language", "project", "compiler", "warehouse"},
    "tools": {"errors", "language", "project", "compiler", "warehouse", "build"},
    "cli": {"errors", "language", "project", "compiler", "warehouse", "build", "tools", "facade"},
    "facade": {"errors", "language", "project", "compiler", "warehouse", "build", "tools"},
}

# Today's back-edges (importer, imported): each says why it exists and where it should go.
KNOWN_BACK_EDGES = {
    # The parser reads YamlDoc nodes for their line numbers and checks cron text with the
    # project's validator: both belong to the language (issue #18: the parser imports the project).
    ("segwarehouse.spec.parse", "segwarehouse.project.yamlfile"): "YamlDoc/line_of belong below the parser",
    ("segwarehouse.spec.parse", "segwarehouse.project.config"): "valid_cron belongs to the language",
    # Compile is not pure yet: it imports the loader, renders `sql:` conditions with Jinja and
    # reads seed CSVs while compiling; project loading should hand it a resolved project.
    ("segwarehouse.compiler.conditions", "segwarehouse.project.loader"): "Project type and relation_for at runtime",
    ("segwarehouse.compiler.conditions", "segwarehouse.project.jinja"): "renders `sql:` at compile time",
    ("segwarehouse.compiler.conditions", "segwarehouse.project.models"): "reads seed CSVs while compiling",
    ("segwarehouse.compiler.segment", "segwarehouse.project.loader"): "Project type at runtime",
    ("segwarehouse.compiler.segment", "segwarehouse.project.jinja"): "renders `sql:` at compile time",
    ("segwarehouse.compiler.incremental", "segwarehouse.project.loader"): "Project type at runtime",
    # The facade Project.compile()/.build() lives in the loader and reaches up into the compiler and
    # the runner; it belongs above the runner (segwarehouse/__init__.py or an api module).
    ("segwarehouse.project.loader", "segwarehouse.compiler.segment"): "Project.compile() facade",
    ("segwarehouse.project.loader", "segwarehouse.materialize"): "Project.compile() takes utcnow from the build",
    ("segwarehouse.project.loader", "segwarehouse.runner"): "Project.build() facade",
    ("segwarehouse.project.loader", "segwarehouse.compiler.dialects"): "hands the project's `quoting:` to the dialect",
    # Adapters render expressions with the compiler's dialects and mask secrets with the project's
    # registry: a neutral SQL-rendering module and a neutral secrets module would end both.
    ("segwarehouse.warehouse.base", "segwarehouse.compiler.dialects"): "to_sql lives in the compiler",
    ("segwarehouse.warehouse.base", "segwarehouse.project.jinja"): "SECRETS lives in project/jinja.py",
    # MariaDB's exact (NO PAD) collation is known only to its adapter, which sets it on the
    # compiler's CaseSensitive nodes before rendering: the node belongs in a neutral SQL module.
    ("segwarehouse.warehouse.sqlalchemy_engines", "segwarehouse.compiler.dialects"): "CaseSensitive lives in the compiler",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room_of(module: str) -> str | None:
    best = max((p for p in ROOMS if module == p or module.startswith(p + ".")), key=len, default=None)
    return ROOMS[best] if best else None


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path) -> set[str]:
    """Modules of segwarehouse this file imports at run time (in functions too, not TYPE_CHECKING)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "segwarehouse" or target.startswith("segwarehouse."):
                # `from . import words` imports a module; `from . import __version__` the package
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if (PACKAGE.parent / Path(*sub.split("."))).with_suffix(".py").exists()
                              or (PACKAGE.parent / Path(*sub.split("."))).is_dir() else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "segwarehouse")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


@lru_cache(maxsize=None)
def edges() -> frozenset[tuple[str, str]]:
    return frozenset((module_name(path), target) for path in sorted(PACKAGE.rglob("*.py"))
                     for target in imports(path))


def test_every_module_has_a_room():
    homeless = sorted(module_name(p) for p in PACKAGE.rglob("*.py") if room_of(module_name(p)) is None)
    assert not homeless, f"give these modules a room in ROOMS and docs/architecture.md: {homeless}"


def test_imports_point_down_the_rooms():
    wrong = []
    for importer, target in sorted(edges()):
        mine, theirs = room_of(importer), room_of(target)
        if mine is None or theirs is None or mine == theirs or theirs in BELOW[mine]:
            continue
        if (importer, target) not in KNOWN_BACK_EDGES:
            wrong.append(f"{importer} ({mine}) imports {target} ({theirs})")
    assert not wrong, "imports against the flow of docs/architecture.md:\n" + "\n".join(wrong)


def test_the_known_back_edges_only_shrink():
    gone = sorted(pair for pair in KNOWN_BACK_EDGES if pair not in edges())
    assert not gone, f"these back-edges are gone: delete them from KNOWN_BACK_EDGES: {gone}"
    for (importer, target), reason in KNOWN_BACK_EDGES.items():
        assert reason and room_of(target) not in BELOW[room_of(importer)] | {room_of(importer)}


def test_the_rule_sees_function_level_and_relative_imports():
    found = imports(PACKAGE / "project" / "loader.py")
    assert "segwarehouse.spec.parse" in found and "segwarehouse.errors" in found
    assert imports(PACKAGE / "__main__.py") == {"segwarehouse.cli"}
