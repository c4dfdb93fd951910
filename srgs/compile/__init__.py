"""The FST compiler (issue 3): a grammar bundle to a words->events transducer and a token acceptor.

    compile_bundle(bundle, *, options=None) -> CompiledGrammar
    CompiledGrammar.save(path) / CompiledGrammar.load(path)
    compile_cached(bundle, *, options=None, cache=None) -> CompiledGrammar
    GrammarConstraint([ConstraintGrammar(name, compiled, weight), ...])   a decoder's search graph

Names are loaded on first use: importing ``srgs.compile.options`` (the command line's help does)
must not load OpenFst.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "CompiledGrammar": "artifact",
    "CompileCache": "cache",
    "bundle_hash": "cache",
    "compile_cached": "cache",
    "default_cache": "cache",
    "grammar_hash": "cache",
    "compile_bundle": "compiler",
    "describe": "compiler",
    "COMPILER_VERSION": "options",
    "CompileOptions": "options",
    "ConstraintGrammar": "constraint",
    "GrammarConstraint": "constraint",
}

if TYPE_CHECKING:
    from .artifact import CompiledGrammar
    from .cache import CompileCache, bundle_hash, compile_cached, default_cache, grammar_hash
    from .compiler import compile_bundle, describe
    from .constraint import ConstraintGrammar, GrammarConstraint
    from .options import COMPILER_VERSION, CompileOptions


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_WHERE)
