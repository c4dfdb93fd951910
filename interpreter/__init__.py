"""INTERPRET TEXT: SISR semantic interpretation over compiled SRGS grammars.

``from interpreter import Interpreter`` is the API; the rest of the package is its parts
(parsing, SISR evaluation, the script sandbox, result formats, incremental matching).
"""

from __future__ import annotations

__all__ = ["MAX_NBEST", "Activation", "GrammarStore", "Hypothesis", "Interpreter", "InterpreterOptions",
           "MatchResult", "MatchStatus", "PreparedGrammar", "SessionGrammars"]
_STORE = {"Activation", "GrammarStore", "PreparedGrammar", "SessionGrammars"}


def __getattr__(name: str):
    # The API pulls in pynini and the script engine: import it on first use only.
    if name in _STORE:
        from . import store

        return getattr(store, name)
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
