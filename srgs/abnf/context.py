"""The state of one ABNF read (SRGS 1.0 §4), shared by the lexer, the model builder and the
error translation while lark drives them.

lark calls the lexer and the builder's callbacks without a handle for per-read state, so the
current read lives in a thread-local (``STATE.ctx``) that ``read_abnf`` sets and deletes.
"""

from __future__ import annotations

import re
import threading

from lark import Token as LarkToken

from ..errors import GrammarSyntaxError, InputLimitError
from ..limits import Limits
from ..model import Lexicon, Meta, Rule, SourceSpan, Tag


class ReadContext:
    """Everything one ``read_abnf`` call accumulates while lark drives the builder.

    ``phrase_parts`` selects the lexer's fast mode, which reads a run of plain expansions as one
    ``PHRASE`` token (see ``abnf_lexer``); the token-by-token mode reproduces every diagnostic.

    Error recovery (``abnf_reader``) reads a grammar in pieces: the lexer starts at ``begin``
    (offset, line, offset of that line's start), stops at ``stop`` when set, and records the end
    of every top-level ``;`` in ``semis`` when that is a list.
    """

    __slots__ = ("source", "limits", "phrases", "phrase_parts", "open", "docs", "doc_index", "last_end",
                 "header", "seen", "lexicons", "metas", "tags", "rules", "begin", "stop", "semis")

    def __init__(self, source: str, limits: Limits, phrase_parts: re.Pattern[str] | None = None):
        self.source = source
        self.limits = limits
        self.phrases = phrase_parts is not None
        self.phrase_parts = phrase_parts  # splits a PHRASE token into its units
        self.open: list[LarkToken] = []  # the ( and [ not yet closed
        self.docs: list[LarkToken] = []
        self.doc_index = 0
        self.last_end = 0
        self.header: dict[str, str] = {"mode": "voice"}
        self.seen: dict[str, SourceSpan] = {}
        self.lexicons: list[Lexicon] = []
        self.metas: list[Meta] = []
        self.tags: list[Tag] = []
        self.rules: list[Rule] = []
        self.begin: tuple[int, int, int] = (0, 1, 0)
        self.stop: int | None = None
        self.semis: list[int] | None = None

    def span(self, token: LarkToken) -> SourceSpan:
        line, column = token.line, token.column
        assert line is not None and column is not None  # the lexer gives every token its position
        return SourceSpan(self.source, line, column)

    def error(self, message: str, token: LarkToken) -> GrammarSyntaxError:
        return GrammarSyntaxError(message, self.span(token))

    def check_nesting(self, depth: int, span: SourceSpan) -> None:
        """Refuse expansions nested deeper than the limits allow (SRGS imposes no bound)."""
        if depth > self.limits.max_nesting:
            raise InputLimitError(f"expansions nested deeper than {self.limits.max_nesting} levels", span)


def start_of(token: LarkToken) -> int:
    """The offset ``token`` starts at (the lexer gives every token its position)."""
    offset = token.start_pos
    assert offset is not None
    return offset


def end_of(token: LarkToken) -> int:
    """The offset after ``token`` (the lexer gives every token its position)."""
    offset = token.end_pos
    assert offset is not None
    return offset


class _ReadState(threading.local):
    """The read in progress on this thread: ``ctx`` exists from ``read_abnf``'s start to its end."""

    ctx: ReadContext


STATE = _ReadState()
