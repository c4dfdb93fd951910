"""Bounds on untrusted grammar input, in one place so that every reader enforces the same ones."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What a grammar source may cost before it is refused with an ``InputLimitError``."""

    max_grammar_bytes: int = 32 * 1024 * 1024  # one grammar document
    max_nesting: int = 200  # nested item / one-of / parentheses depth
    max_repeat: int = 100_000  # the largest finite repeat bound the compiler expands
    max_referenced_grammars: int = 256  # distinct grammars reachable through references
    fetch_timeout_s: float = 5.0  # one http(s) fetch
    max_fetch_bytes: int = 8 * 1024 * 1024  # one fetched grammar
    max_text_chars: int = 100_000  # one text to interpret or match


DEFAULT_LIMITS = Limits()
