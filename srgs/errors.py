"""Errors of the grammar front end and compiler.

Every error says where: ``str(error)`` is ``FILE:LINE:COL: message`` when the position is known
(a local ``file:`` URI, as referenced grammars are keyed, is shown as its path).

    SrgsError                      base of everything this package raises on bad input
    ├── GrammarSyntaxError         the text is not a well-formed grammar (XML or ABNF)
    │   └── InputLimitError        the input is too large, too deep or hostile (DTD, entities)
    ├── GrammarValidationError     well-formed, but breaks an SRGS rule (undefined rule, ...)
    ├── ResolveError               an external reference cannot be fetched or is not allowed
    ├── CompileError               the grammar cannot be compiled (size or recursion bounds)
    └── GrammarErrors              several of the above at once (``.errors``)
"""

from __future__ import annotations

import urllib.parse

from .model import SourceSpan


def display_source(source: str) -> str:
    """A source as a message shows it: a local ``file:`` URI as its path, anything else as is."""
    if source.startswith("file:"):
        parts = urllib.parse.urlsplit(source)
        if parts.netloc in ("", "localhost") and parts.path:
            return urllib.parse.unquote(parts.path)
    return source


class SrgsError(Exception):
    """Base class: a message and, when known, the source position it refers to."""

    def __init__(self, message: str, span: SourceSpan | None = None):
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        return f"{self._where()}{self.message}"

    def diagnostics(self) -> list[str]:
        """One ``FILE:LINE:COL: error: MESSAGE`` line per problem (the compiler convention)."""
        return [f"{self._where()}error: {self.message}"]

    def records(self, file: str | None = None) -> list[dict]:
        """One JSON-ready object per problem: ``file``, ``line``, ``column`` (null when not
        known), ``message``, ``severity``; ``file`` is the span's source, else ``file``."""
        span = self.span
        known = span is not None and span.line > 0
        return [{
            "file": display_source(span.source) if span is not None else file,
            "line": span.line if known else None,
            "column": span.column if known else None,
            "message": self.message,
            "severity": "error",
        }]

    def _where(self) -> str:
        span = self.span
        if span is None:
            return ""
        if span.line <= 0:
            return f"{display_source(span.source)}: "
        return f"{display_source(span.source)}:{span.line}:{span.column}: "


class GrammarSyntaxError(SrgsError):
    """Malformed XML or ABNF."""


class InputLimitError(GrammarSyntaxError):
    """Input refused before parsing: over a size limit, a DTD, an entity bomb."""


class GrammarValidationError(SrgsError):
    """A well-formed grammar that breaks an SRGS constraint."""


class ResolveError(SrgsError):
    """An external grammar reference that cannot be resolved."""


class CompileError(SrgsError):
    """A grammar that cannot be turned into an FST within the compiler's bounds."""


class GrammarErrors(SrgsError):
    """Several problems found in one pass; ``errors`` keeps them in source order."""

    def __init__(self, errors: list[SrgsError] | tuple[SrgsError, ...]):
        self.errors = tuple(sorted(errors, key=_position_key))
        super().__init__("\n".join(str(e) for e in self.errors), self.errors[0].span if self.errors else None)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def diagnostics(self) -> list[str]:
        return [line for error in self.errors for line in error.diagnostics()]

    def records(self, file: str | None = None) -> list[dict]:
        return [record for error in self.errors for record in error.records(file)]


def _position_key(error: SrgsError):
    span = error.span
    if span is None:
        return ("", 0, 0)
    return (span.source, span.line, span.column)
