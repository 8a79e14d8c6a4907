"""The code's layout holds: no import cycle between the product's modules, no private name imported
across modules, and the table DDL only in ``warehouse.schema`` (dbt owns the rest)."""

import ast
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("warehouse", "ingestion", "ml", "reports", "simulator", "dags")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((PROJECT / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import of a product module, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name in modules]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module in modules:
            names = [alias.name for alias in node.names]
            # `from warehouse import embedded` imports a module, not a name
            found += [(f"{node.module}.{n}", []) for n in names if f"{node.module}.{n}" in modules]
            found.append((node.module, [n for n in names if f"{node.module}.{n}" not in modules]))
    return found


def test_no_import_cycle_between_modules():
    modules = _modules()
    graph = {name: {target for target, _ in _imports(path, modules) if target != name and
                    not (name.endswith("__main__") or target in PACKAGES)}
             for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            assert state.get(target) != "open", "import cycle: " + " -> ".join([*trail, name, target])
            if target not in state:
                visit(target, [*trail, name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert "warehouse.settings" in graph and not graph["warehouse.settings"], \
        "warehouse.settings only reads the environment: it imports nothing of the product"


def test_no_private_name_imported_across_modules():
    modules = _modules()
    private = [f"{name} imports {target}.{n}" for name, path in modules.items()
               for target, names in _imports(path, modules) for n in names if n.startswith("_")]
    assert private == []


def test_table_ddl_lives_in_warehouse_schema():
    pattern = re.compile(r"create (table|schema|sequence)\b", re.IGNORECASE)
    elsewhere = [f"{name}: {pattern.search(path.read_text()).group(0)}" for name, path in _modules().items()
                 if name != "warehouse.schema" and pattern.search(path.read_text())]
    assert elsewhere == []
