"""The FST compiler (issue 3): a grammar bundle to a words->events transducer and a token acceptor.

    compile_bundle(bundle, *, options=None) -> CompiledGrammar
    CompiledGrammar.save(path) / CompiledGrammar.load(path)
    compile_cached(bundle, *, options=None, cache=None) -> CompiledGrammar
"""

from __future__ import annotations

from .artifact import CompiledGrammar
from .cache import CompileCache, bundle_hash, compile_cached, default_cache, grammar_hash
from .compiler import compile_bundle, describe
from .options import COMPILER_VERSION, CompileOptions

__all__ = [
    "COMPILER_VERSION",
    "CompileCache",
    "CompileOptions",
    "CompiledGrammar",
    "bundle_hash",
    "compile_bundle",
    "compile_cached",
    "default_cache",
    "describe",
    "grammar_hash",
]
