"""``interpreter`` exports its API lazily; the TYPE_CHECKING imports (what type checkers see) name
exactly ``__all__``, and each resolves to the object ``__getattr__`` serves."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import interpreter
from tests.lazy_exports import type_checking_imports

INIT = Path(interpreter.__file__)


def _type_checking_imports() -> dict[str, str]:
    return type_checking_imports(INIT)


def test_type_checking_imports_are_all():
    assert sorted(_type_checking_imports()) == sorted(interpreter.__all__)


@pytest.mark.parametrize("name", sorted(interpreter.__all__))
def test_each_name_is_the_one_type_checkers_see(name):
    module = importlib.import_module(f"interpreter.{_type_checking_imports()[name]}")
    assert getattr(interpreter, name) is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        interpreter.nothing  # noqa: B018
