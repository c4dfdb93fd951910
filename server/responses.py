"""The JSON every HTTP endpoint answers with (the HTTP API's and the playground's alike)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from interpreter.formats import json_line
from srgs.errors import ErrorRecord


class ApiJSONResponse(JSONResponse):
    """JSON as one line of UTF-8 that stays valid for any value: lone surrogates (a client may
    send ``"\\ud800"``, a tag may return one) are written as escapes (``json_line``)."""

    def render(self, content: Any) -> bytes:
        return json_line(content).encode("utf-8")


def error_response(status: int, code: str, message: str, errors: list[ErrorRecord] | None = None) -> JSONResponse:
    """The error body of every endpoint: ``{"error": {"code", "message"}}``, plus ``errors``
    beside it (one record per problem: file, line, column, message) for a grammar."""
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if errors:
        body["errors"] = errors
    return ApiJSONResponse(body, status_code=status)
