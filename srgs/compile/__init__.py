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
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # what mypy sees; at run time ``__getattr__`` imports each name on first use
    from .artifact import CompiledGrammar as CompiledGrammar
    from .cache import CompileCache as CompileCache
    from .cache import bundle_hash as bundle_hash
    from .cache import compile_cached as compile_cached
    from .cache import default_cache as default_cache
    from .cache import grammar_hash as grammar_hash
    from .compiler import compile_bundle as compile_bundle
    from .compiler import describe as describe
    from .constraint import ConstraintGrammar as ConstraintGrammar
    from .constraint import GrammarConstraint as GrammarConstraint
    from .options import COMPILER_VERSION as COMPILER_VERSION
    from .options import CompileOptions as CompileOptions

def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


# the names of _WHERE, sorted (a literal, so that type checkers see the exports)
__all__ = [
    "COMPILER_VERSION",
    "CompileCache",
    "CompileOptions",
    "CompiledGrammar",
    "ConstraintGrammar",
    "GrammarConstraint",
    "bundle_hash",
    "compile_bundle",
    "compile_cached",
    "default_cache",
    "describe",
    "grammar_hash",
]
