"""The functional core stays pure: no OCPP wire adapters, no I/O libraries, no shell packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "src" / "wattcap" / "core"
FORBIDDEN = (
    "wattcap.ocpp", "wattcap.server", "wattcap.store", "wattcap.sim", "wattcap.cli",
    "ocpp", "jsonschema", "sqlalchemy", "asyncio", "websockets", "fastapi", "starlette", "socket", "importlib",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_nothing_from_the_shell(path: Path):
    bad = sorted(n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN))
    assert not bad, f"{path.name} imports {bad}: the core must stay pure and version-neutral"
