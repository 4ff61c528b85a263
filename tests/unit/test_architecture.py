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
    "segwarehouse.language": "language",
    "segwarehouse.words": "language",
    "segwarehouse.project": "project",
    "segwarehouse.compiler": "compiler",
    "segwarehouse.warehouse": "warehouse",
    **{f"segwarehouse.{m}": "build" for m in (
        "runner", "materialize", "outputs", "catalog", "modelbuild", "columns", "validate", "schedule",
        "names", "incremental", "kept", "compiling", "selection", "artifacts", "operations", "shared_passes",
        "together", "relation_swap")},
    **{f"segwarehouse.{m}": "tools" for m in (
        "explain", "funnel", "overlap", "plan", "preview", "report", "site", "init_project", "outcomes")},
    **{f"segwarehouse.{m}": "cli" for m in ("cli", "__main__", "logs", "jsonlog")},
}
BELOW = {
    "errors": set(),
    "language": {"errors"},
    "project": {"errors", "language"},
    "compiler": {"errors", "language"},  # the Project type only under TYPE_CHECKING; see below
    "warehouse": {"errors"},
    "build": {"errors", "language", "project", "compiler", "warehouse"},
    "tools": {"errors", "language", "project", "compiler", "warehouse", "build"},
    "cli": {"errors", "language", "project", "compiler", "warehouse", "build", "tools", "facade"},
    "facade": {"errors", "language", "project", "compiler", "warehouse", "build", "tools"},
}

# Today's back-edges (importer, imported): each says why it exists and where it should go.
KNOWN_BACK_EDGES = {
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


# Compile is pure: project loading hands it a resolved Project (`sql:` rendered, list key columns
# read from seed headers), so the compiler needs nothing but the language types and the errors.
COMPILER_MAY_IMPORT = ("segwarehouse.compiler", "segwarehouse.language", "segwarehouse.errors")
# What reads files, the environment or templates; none of it belongs in a compile.
COMPILER_MAY_NOT_USE = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "exists", "is_file",
                        "is_dir", "glob", "rglob", "iterdir", "environ", "getenv", "from_string"}
NOT_IN_COMPILER = {"os", "io", "csv", "jinja2", "subprocess", "socket", "urllib", "requests"}


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_compiler_imports_only_the_language_and_the_errors():
    wrong = sorted(f"{importer} imports {target}" for importer, target in edges()
                   if _within(importer, ("segwarehouse.compiler",)) and not _within(target, COMPILER_MAY_IMPORT))
    assert not wrong, ("the compiler may import only segwarehouse.language, segwarehouse.errors and itself "
                       "(the Project type under TYPE_CHECKING); resolve the rest at load:\n" + "\n".join(wrong))


def test_the_compiler_reads_no_files():
    found = []
    for path in sorted((PACKAGE / "compiler").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                found += [f"{path.name}:{node.lineno} imports {n}" for n in names
                          if n and n.split(".")[0] in NOT_IN_COMPILER]
            elif isinstance(node, ast.Attribute) and node.attr in COMPILER_MAY_NOT_USE:
                found.append(f"{path.name}:{node.lineno} uses .{node.attr}")
            elif isinstance(node, ast.Name) and node.id in COMPILER_MAY_NOT_USE:
                found.append(f"{path.name}:{node.lineno} uses {node.id}")
    assert not found, "the compiler does no I/O; resolve what it needs at load:\n" + "\n".join(found)


def test_the_compiler_rules_catch_a_back_edge_and_a_file_read(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom segwarehouse.project.loader import Project\nopen('x').read()\n")
    tree = ast.parse(bad.read_text())
    assert {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} == {"segwarehouse.project.loader"}
    assert not _within("segwarehouse.project.loader", COMPILER_MAY_IMPORT)
    assert _within("segwarehouse.language.types", COMPILER_MAY_IMPORT)
    assert not _within("segwarehouse.specials", COMPILER_MAY_IMPORT)
    assert any(isinstance(n, ast.Name) and n.id in COMPILER_MAY_NOT_USE for n in ast.walk(tree))


def test_the_rule_sees_function_level_and_relative_imports():
    found = imports(PACKAGE / "project" / "loader.py")
    assert "segwarehouse.language.parse" in found and "segwarehouse.errors" in found
    assert imports(PACKAGE / "__main__.py") == {"segwarehouse.cli"}


def test_no_class_of_ours_derives_from_sqlglot():
    """sqlglot's compiled build (sqlglotc, which sqlglot loads whenever it is installed) refuses to
    make an instance of an interpreted subclass of its expressions, generators or dialects: our
    nodes and dialect fixes are rules in compiler/dialects.py instead (docs/architecture.md)."""
    import importlib
    import inspect
    import pkgutil

    import segwarehouse

    offenders = []
    for module_info in pkgutil.walk_packages(segwarehouse.__path__, "segwarehouse."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__ and any(
                    base.__module__.split(".")[0] == "sqlglot" for base in value.__mro__[1:]):
                offenders.append(f"{module.__name__}.{name}")
    assert not offenders, offenders


def test_sqlglot_runs_its_compiled_build():
    """The tests run with `[fast]` (sqlglot[c]: sqlglotc), as a user who installs it: SQL built and
    written about twice as fast; test_no_class_of_ours_derives_from_sqlglot keeps the pure build working."""
    import sqlglot.expressions.core
    import sqlglot.generator

    for module in (sqlglot.generator, sqlglot.expressions.core):
        assert not module.__file__.endswith(".py"), module.__file__
