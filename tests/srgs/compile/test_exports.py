"""``srgs.compile`` exports its names lazily; the literal ``__all__`` and the TYPE_CHECKING imports
(what type checkers see) name exactly what ``__getattr__`` serves."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import srgs.compile

INIT = Path(srgs.compile.__file__)


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


def test_all_is_the_lazy_table_sorted():
    assert srgs.compile.__all__ == sorted(srgs.compile._WHERE)


def test_type_checking_imports_match_the_lazy_table():
    assert _type_checking_imports() == srgs.compile._WHERE


@pytest.mark.parametrize("name", sorted(srgs.compile._WHERE))
def test_each_name_comes_from_its_module(name):
    module = importlib.import_module(f"srgs.compile.{srgs.compile._WHERE[name]}")
    assert getattr(srgs.compile, name) is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        srgs.compile.nothing  # noqa: B018
