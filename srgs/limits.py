"""Bounds on untrusted grammar input, in one place so that every reader enforces the same ones.

A grammar's size is bounded by where it comes from, one limit per kind of source:

    ``max_grammar_bytes``  a local file (a path or ``file:`` URI) or a ``builtin:`` grammar (32 MiB)
    ``max_fetch_bytes``    a grammar fetched over http(s) (8 MiB)
    ``max_inline_bytes``   a grammar given as text to the API: ``bundle_from_text``, and
                           ``parse_grammar``, ``read_xml``, ``read_abnf`` called directly (32 MiB)

Every command and API call reads its limits from the options it is given (``FetchOptions.limits``);
``DEFAULT_LIMITS`` only supplies the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import InputLimitError
from .model import SourceSpan

MiB = 1024 * 1024

SourceKind = Literal["file", "http", "inline"]

_KIND_FIELDS = {"file": "max_grammar_bytes", "http": "max_fetch_bytes", "inline": "max_inline_bytes"}
_KIND_NAMES = {"file": "local grammar file", "http": "http(s) grammar", "inline": "inline grammar text"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What a grammar source may cost before it is refused with an ``InputLimitError``."""

    max_grammar_bytes: int = 32 * MiB  # one grammar read from a local file or builtin:
    max_fetch_bytes: int = 8 * MiB  # one grammar fetched over http(s)
    max_inline_bytes: int = 32 * MiB  # one grammar given as text to the API
    max_nesting: int = 200  # nested item / one-of / parentheses depth
    max_repeat: int = 100_000  # the largest finite repeat bound the compiler expands
    max_referenced_grammars: int = 256  # distinct grammars reachable through references
    fetch_timeout_s: float = 5.0  # one http(s) fetch
    max_text_chars: int = 100_000  # one text to interpret or match

    def max_bytes(self, kind: SourceKind) -> int:
        """The size limit for a grammar from ``kind`` ("file", "http" or "inline")."""
        sizes = {"file": self.max_grammar_bytes, "http": self.max_fetch_bytes, "inline": self.max_inline_bytes}
        return sizes[kind]


DEFAULT_LIMITS = Limits()


def size_text(size: int) -> str:
    """``33554432`` -> ``"32 MiB"``; sizes that are not whole MiB in bytes."""
    if size >= MiB and size % MiB == 0:
        return f"{size // MiB} MiB"
    return f"{size} bytes"


def check_size(size: int | None, kind: SourceKind, limits: Limits, what: str, span: SourceSpan | None) -> None:
    """Refuse a grammar of ``size`` bytes (``None``: known only to be over) from a ``kind`` source."""
    limit = limits.max_bytes(kind)
    if size is not None and size <= limit:
        return
    amount = f"{size} bytes, " if size is not None else ""
    raise InputLimitError(
        f"{what} is {amount}over the {_KIND_NAMES[kind]} limit of {size_text(limit)} "
        f"(Limits.{_KIND_FIELDS[kind]})", span, limit=f"Limits.{_KIND_FIELDS[kind]}")
