"""INTERPRET TEXT: SISR semantic interpretation over compiled SRGS grammars.

``from interpreter import Interpreter`` is the API; the rest of the package is its parts
(parsing, SISR evaluation, the script sandbox, result formats, incremental matching).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what mypy sees; at run time ``__getattr__`` imports each name on first use
    from .api import MAX_NBEST as MAX_NBEST
    from .api import Hypothesis as Hypothesis
    from .api import Interpreter as Interpreter
    from .api import InterpreterOptions as InterpreterOptions
    from .match import MatchResult as MatchResult
    from .match import MatchStatus as MatchStatus
    from .store import Activation as Activation
    from .store import GrammarStore as GrammarStore
    from .store import PreparedGrammar as PreparedGrammar
    from .store import SessionGrammars as SessionGrammars

__all__ = ["MAX_NBEST", "Activation", "GrammarStore", "Hypothesis", "Interpreter", "InterpreterOptions",
           "MatchResult", "MatchStatus", "PreparedGrammar", "SessionGrammars"]
_STORE = {"Activation", "GrammarStore", "PreparedGrammar", "SessionGrammars"}


def __getattr__(name: str) -> object:
    # The API pulls in pynini and the script engine: import it on first use only.
    if name in _STORE:
        from . import store

        return getattr(store, name)
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
