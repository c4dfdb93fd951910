"""Dependencies point one way: srgs <- interpreter (the command line loads commands by name)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ORDER = ["srgs", "interpreter"]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_lower_packages_never_import_higher_ones():
    offenders = []
    for index, package in enumerate(ORDER):
        higher = set(ORDER[index + 1:])
        for path in sorted((REPO / package).rglob("*.py")):
            bad = imported_packages(path) & higher
            if bad:
                offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert offenders == []
    assert (REPO / "srgs" / "model.py").is_file()  # the scan did look at the packages
