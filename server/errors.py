"""How the session layer refuses a request, and which protocol Error-Code an engine error gets.

Exceptions (raised by the handlers, answered by ``server.session.Session.handle_message``)::

    Exception
    ├── Refused     a request the server cannot do: RESPONSE Result FAILURE with its Error-Code
    └── Malformed   headers or body that cannot be used as they are: INVALID_MESSAGE

``error_code`` and ``error_message`` turn an engine error (``srgs.errors.SrgsError``,
``decoder.base.DecoderError``) into the Error-Code and one-line Message of such a RESPONSE;
``engine_error_status`` maps the same errors to the HTTP API's status and code: one home for
what each front end answers to an engine error.
"""

from __future__ import annotations

from decoder.audio import AudioError
from decoder.base import DecoderError
from srgs.errors import LimitExceededError, SrgsError

from . import protocol as p


class Refused(Exception):
    """A request the server cannot do: answered ``Result: FAILURE`` with ``code`` and the message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Malformed(Exception):
    """A message whose headers or body cannot be used as they are (INVALID_MESSAGE)."""


def error_code(exc: BaseException) -> str:
    """The protocol's Error-Code for an engine error."""
    code = getattr(exc, "code", "")
    if code in ("REFERENCE_FAILED", "ACCESS_DENIED"):
        return p.ERR_FILE_OPEN
    if code in ("GRAMMAR_LIMIT", "COMPILE_LIMIT", "LIMIT_EXCEEDED", "TEXT_TOO_LONG"):
        return p.ERR_BUFFER_OVERFLOW
    if isinstance(exc, (SrgsError, DecoderError)):
        return p.ERR_CORRUPTED_LM  # the grammar (the "language model") cannot be used as written
    return p.ERR_INTERNAL_ERROR


def error_message(exc: BaseException) -> str:
    """One line: every ``FILE:LINE:COL: error: MESSAGE`` of a grammar error (at most three)."""
    if isinstance(exc, SrgsError):
        lines = exc.diagnostics()
        more = f" (and {len(lines) - 3} more)" if len(lines) > 3 else ""
        return "; ".join(lines[:3]) + more
    return str(exc) or type(exc).__name__


def refused(exc: BaseException) -> Refused:
    """An engine error as the ``Refused`` that answers it."""
    return Refused(error_code(exc), error_message(exc))


def engine_error_status(exc: SrgsError) -> tuple[int, str]:
    """The HTTP status and error code of an engine error (the HTTP API's answer to it)."""
    if isinstance(exc, AudioError):
        return 400, "AUDIO_INVALID"
    if isinstance(exc, DecoderError) and exc.code == SrgsError.code:
        return 400, "DECODER_FAILED"
    if exc.code == "ACCESS_DENIED":
        return 403, exc.code
    if isinstance(exc, LimitExceededError):
        return 413, exc.code
    return 422, exc.code  # a grammar that does not load, compile or check (as the playground answers)
