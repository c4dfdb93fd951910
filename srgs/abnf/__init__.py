"""SRGS ABNF form (SRGS 1.0 §4): ``read_abnf`` into the grammar model (lark LALR with a
per-state lexer, every syntax error of a grammar on request), ``write_abnf`` back to an equal
model. The reader's parts: ``lexer``, ``nodes``, ``builder`` (model from the parse),
``errors`` (messages), ``context`` (the state of one read)."""

from .reader import read_abnf
from .writer import write_abnf

__all__ = ["read_abnf", "write_abnf"]
