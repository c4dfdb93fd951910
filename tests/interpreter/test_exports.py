"""``interpreter`` exports its API lazily; the TYPE_CHECKING imports (what type checkers see) name
exactly ``__all__``, and each resolves to the object ``__getattr__`` serves."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import interpreter

INIT = Path(interpreter.__file__)


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    names: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name} is not re-exported explicitly (`X as X`)"
            names[alias.name] = node.module
    return names


def test_type_checking_imports_are_all():
    assert sorted(_type_checking_imports()) == sorted(interpreter.__all__)


@pytest.mark.parametrize("name", sorted(interpreter.__all__))
def test_each_name_is_the_one_type_checkers_see(name):
    module = importlib.import_module(f"interpreter.{_type_checking_imports()[name]}")
    assert getattr(interpreter, name) is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        interpreter.nothing  # noqa: B018
