"""What the lazy-export tests of several packages share: reading a package's TYPE_CHECKING block."""

from __future__ import annotations

import ast
from pathlib import Path


def type_checking_imports(init: Path) -> dict[str, str]:
    """Name -> module of the ``from .MODULE import NAME as NAME`` lines under ``if TYPE_CHECKING:``
    in the package file ``init`` (what type checkers see of a lazily exported API)."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    names: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name} is not re-exported explicitly (`X as X`)"
            names[alias.name] = node.module
    return names
