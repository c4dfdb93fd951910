"""Dependencies point one way: srgs <- interpreter <- decoder <- server, the command line
(``srgs.cli``) on top of them all, and no library module importing a layer above it."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ORDER = ["srgs", "interpreter", "decoder", "server"]
CLI = REPO / "srgs" / "cli"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module)
            elif node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join(base + ([node.module] if node.module else [])))
    return names


def library_files(package: str) -> list[Path]:
    root = REPO / package
    return sorted(p for p in root.rglob("*.py") if CLI not in p.parents) if root.is_dir() else []


def test_lower_packages_never_import_higher_ones():
    offenders = []
    for index, package in enumerate(ORDER):
        higher = set(ORDER[index + 1:])
        for path in library_files(package):
            bad = {name.split(".")[0] for name in imported_modules(path)} & higher
            if bad:
                offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert offenders == []
    assert len(library_files("srgs")) > 20 and library_files("interpreter")  # the scan did look


def test_no_library_module_imports_the_command_line():
    offenders = []
    for package in ORDER:
        for path in library_files(package):
            if any(name == "srgs.cli" or name.startswith("srgs.cli.") for name in imported_modules(path)):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_the_command_line_is_where_the_layers_meet():
    imported = set().union(*(imported_modules(p) for p in CLI.rglob("*.py")))
    assert any(name.startswith("interpreter") for name in imported)
    assert not any("import_module(" in p.read_text(encoding="utf-8") for p in CLI.rglob("*.py"))
