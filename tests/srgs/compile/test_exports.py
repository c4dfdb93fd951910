"""``srgs.compile`` exports its names lazily; the literal ``__all__`` and the TYPE_CHECKING imports
(what type checkers see) name exactly what ``__getattr__`` serves."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import srgs.compile
from tests.lazy_exports import type_checking_imports

INIT = Path(srgs.compile.__file__)


def _type_checking_imports() -> dict[str, str]:
    return type_checking_imports(INIT)


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
