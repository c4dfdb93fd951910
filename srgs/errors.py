"""Errors of the grammar front end and compiler, each with a stable ``code`` a protocol can map.

Every error says where: ``str(error)`` is ``FILE:LINE:COL: message`` when the position is known.

    SrgsError                      ENGINE_ERROR         base of everything raised on bad input
    ├── GrammarSyntaxError         GRAMMAR_SYNTAX       not a well-formed grammar (XML or ABNF)
    │   └── InputLimitError        GRAMMAR_LIMIT        too large, too deep or hostile (also a limit)
    ├── GrammarValidationError     GRAMMAR_INVALID      well-formed, but breaks an SRGS rule
    ├── ResolveError               REFERENCE_FAILED     a reference cannot be fetched or read
    │   └── AccessDeniedError      ACCESS_DENIED        the access policy does not allow it
    ├── CompileError               COMPILE_FAILED       cannot be compiled
    │   └── CompileLimitError      COMPILE_LIMIT        over a compiler bound (also a limit)
    ├── LimitExceededError         LIMIT_EXCEEDED       over a configured limit (``limit`` names it)
    │   └── TextTooLongError       TEXT_TOO_LONG        a text to interpret is too long
    └── GrammarErrors              (its first error's)  several of the above at once (``.errors``)

The interpreter adds ``SemanticError`` (SEMANTICS_FAILURE), the configuration ``ConfigError``
(CONFIG_INVALID) and the cases runner ``CasesFileError`` (CASES_INVALID).
"""

from __future__ import annotations

import urllib.parse

from .model import SourceSpan

# One problem as JSON: file, line, column (null when not known), message, severity.
ErrorRecord = dict[str, str | int | None]


def display_source(source: str) -> str:
    """A source as a message shows it: a local ``file:`` URI as its path, anything else as is."""
    if source.startswith("file:"):
        parts = urllib.parse.urlsplit(source)
        if parts.netloc in ("", "localhost") and parts.path:
            return urllib.parse.unquote(parts.path)
    return source


class SrgsError(Exception):
    """Base class: a message and, when known, the source position it refers to."""

    code = "ENGINE_ERROR"

    def __init__(self, message: str, span: SourceSpan | None = None):
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        return f"{self._where()}{self.message}"

    def diagnostics(self) -> list[str]:
        """One ``FILE:LINE:COL: error: MESSAGE`` line per problem (the compiler convention)."""
        return [f"{self._where()}error: {self.message}"]

    def records(self, file: str | None = None) -> list[ErrorRecord]:
        """One JSON-ready object per problem: ``file``, ``line``, ``column`` (null when not
        known), ``message``, ``severity``; ``file`` is the span's source, else ``file``."""
        span = self.span
        known = span if span is not None and span.line > 0 else None
        return [{
            "file": display_source(span.source) if span is not None else file,
            "line": known.line if known is not None else None,
            "column": known.column if known is not None else None,
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

    code = "GRAMMAR_SYNTAX"


class LimitExceededError(SrgsError):
    """Over a configured limit; ``limit`` names it (``Limits.max_text_chars``, ...)."""

    code = "LIMIT_EXCEEDED"

    def __init__(self, message: str, span: SourceSpan | None = None, *, limit: str | None = None):
        super().__init__(message, span)
        self.limit = limit


class InputLimitError(GrammarSyntaxError, LimitExceededError):
    """Grammar input refused before or while parsing: over a size or nesting limit, a DTD, an
    entity bomb. Still a grammar problem (reported with the others), and a limit."""

    code = "GRAMMAR_LIMIT"


class TextTooLongError(LimitExceededError):
    """A text to interpret or match is longer than ``Limits.max_text_chars``: not a grammar error."""

    code = "TEXT_TOO_LONG"


class GrammarValidationError(SrgsError):
    """A well-formed grammar that breaks an SRGS constraint."""

    code = "GRAMMAR_INVALID"


class ResolveError(SrgsError):
    """An external grammar reference that cannot be resolved."""

    code = "REFERENCE_FAILED"


class AccessDeniedError(ResolveError):
    """A grammar location the access policy does not allow (``srgs.load.policy.AccessPolicy``)."""

    code = "ACCESS_DENIED"


class CompileError(SrgsError):
    """A grammar that cannot be turned into an FST."""

    code = "COMPILE_FAILED"


class CompileLimitError(CompileError, LimitExceededError):
    """A grammar over the compiler's bounds (repeat counts, states)."""

    code = "COMPILE_LIMIT"


class GrammarErrors(SrgsError):
    """Several problems found in one pass; ``errors`` keeps them in source order. ``code`` is the
    code of the first problem: what a protocol reports for the whole set."""

    code = "GRAMMAR_INVALID"  # the code of an empty set

    def __init__(self, errors: list[SrgsError] | tuple[SrgsError, ...]):
        self.errors = tuple(sorted(errors, key=_position_key))
        super().__init__("\n".join(str(e) for e in self.errors), self.errors[0].span if self.errors else None)
        if self.errors:
            self.code = self.errors[0].code

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def diagnostics(self) -> list[str]:
        return [line for error in self.errors for line in error.diagnostics()]

    def records(self, file: str | None = None) -> list[ErrorRecord]:
        return [record for error in self.errors for record in error.records(file)]


def _position_key(error: SrgsError) -> tuple[str, int, int]:
    span = error.span
    if span is None:
        return ("", 0, 0)
    return (span.source, span.line, span.column)
