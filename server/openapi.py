"""The OpenAPI 3.1 description of the server's HTTP routes (``GET /openapi.json``).

The routes of ``server.http_api`` are described here by hand; any other HTTP route of the app
(the playground's) gets an entry from its methods and its endpoint's docstring, so the document
lists every route the server answers. The WebSocket API (``/asr-server/asr``) is not HTTP and is
named in the description only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Mount, Route

from srgs import version

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "malformed request or audio", 403: "a grammar reaches outside the access policy",
            413: "body, text, audio or grammar over a limit", 415: "unsupported Content-Type",
            422: "a grammar that does not load, compile or check (errors: every problem positioned)",
            500: "internal error", 503: "every session is held: try again later (server.max_sessions)"}
    return {str(status): {"description": text[status], "content": _json(_ref("Error"))} for status in statuses}


_GRAMMAR_QUERY = [
    {"name": "grammar", "in": "query", "required": False, "explode": True,
     "schema": {"type": "array", "items": {"type": "string"}},
     "description": "a grammar URI (builtin:..., builtin:grammar/digits?length=4); repeatable: active together"},
    {"name": "weight", "in": "query", "required": False, "explode": True,
     "schema": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}},
     "description": "each grammar's weight, in order (default equal)"},
    {"name": "nbest", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    {"name": "confidence_threshold", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": 100}},
    {"name": "language", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "language of builtin:grammar/ URIs without ?lang= (en-US, pt-BR)"},
]

_HINTS = ("word boosts, as the WebSocket API's hints.words: 'word:boost, ...' (or, in JSON, an object of word: "
          "boost). A boost b multiplies the grammar probability of the word wherever the active grammars allow it by "
          "e^b (negative: less likely; clamped to -10..10; a word without a boost gets 5); words no active grammar "
          "has are ignored. Free speech is not boosted.")

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {
            "error": {"type": "object", "required": ["code", "message"],
                      "properties": {"code": {"type": "string", "examples": ["GRAMMAR_SYNTAX", "INVALID_REQUEST"]},
                                     "message": {"type": "string"}}},
            "errors": {"type": "array", "items": {"type": "object", "properties": {
                "file": {"type": ["string", "null"]}, "line": {"type": ["integer", "null"]},
                "column": {"type": ["integer", "null"]}, "message": {"type": "string"},
                "severity": {"type": "string"}}}}},
    },
    "Grammar": {
        "oneOf": [
            {"type": "string", "description": "a grammar URI"},
            {"type": "object", "required": ["uri"],
             "properties": {"uri": {"type": "string"}, "weight": {"type": "number", "exclusiveMinimum": 0}}},
            {"type": "object", "required": ["text"],
             "properties": {"text": {"type": "string", "description": "SRGS XML or ABNF source"},
                            "id": {"type": "string", "description": "defined as session:ID (default inlineN)"},
                            "weight": {"type": "number", "exclusiveMinimum": 0}}},
        ],
    },
    "GrammarRequest": {
        "type": "object", "required": ["grammars"],
        "properties": {
            "grammars": {"type": "array", "minItems": 1, "items": _ref("Grammar")},
            "definitions": {"type": "object", "additionalProperties": {"type": "string"},
                            "description": "grammars referenced as session:NAME, not active themselves"},
            "nbest": {"type": "integer", "minimum": 1, "maximum": 100},
            "confidence_threshold": {"type": "integer", "minimum": 0, "maximum": 100},
            "language": {"type": "string"},
        },
    },
    "InterpretRequest": {"allOf": [_ref("GrammarRequest"), {
        "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}]},
    "RecognizeRequest": {"allOf": [_ref("GrammarRequest"), {
        "type": "object", "required": ["audio"],
        "properties": {"audio": {"type": "string", "contentEncoding": "base64",
                                 "description": "a WAV file, or raw 16-bit little-endian mono PCM at rate"},
                       "rate": {"type": "integer", "enum": [8000, 16000]},
                       "rejection_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                       "word_details": {"type": "integer", "enum": [0, 1, 2], "default": 1},
                       "hints": {"description": _HINTS, "oneOf": [
                           {"type": "string", "examples": ["bill:8, will:-2"]},
                           {"type": "object", "additionalProperties": {"type": "number"}}]}}}]},
    "Result": {
        "type": "object", "required": ["alternatives", "result_status"],
        "description": "the RECOGNITION_RESULT body of the ASR WebSocket API 2.3 (srgs interpret --format json)",
        "properties": {
            "alternatives": {"type": "array", "items": {
                "type": "object",
                "properties": {"text": {"type": "string"}, "score": {"type": "integer"}, "lm": {"type": "string"},
                               "interpretations": {"type": "array", "items": {}},
                               "interpretation_scores": {"type": "array", "items": {"type": "integer"}}}}},
            "segment_index": {"type": "integer"}, "last_segment": {"type": "boolean"},
            "final_result": {"type": "boolean"},
            "result_status": {"type": "string", "enum": ["RECOGNIZED", "NO_MATCH", "FAILURE"]},
            "error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
    "RecognizeResult": {"allOf": [_ref("Result"), {"type": "object", "properties": {
        "start_time": {"type": "number", "description": "seconds: the first word's start"},
        "end_time": {"type": "number", "description": "seconds: the last word's end"},
        "alternatives": {"type": "array", "items": {"type": "object", "properties": {"words": {
            "type": "array", "description": "with word_details 1 (the best alternative) or 2 (every one)",
            "items": {"type": "object", "properties": {
                "text": {"type": "string"}, "score": {"type": "integer"},
                "start_time": {"type": "number"}, "end_time": {"type": "number"}}}}}}}}}]},
}

_PATHS: dict[str, dict[str, Any]] = {
    "/v1/recognize": {"post": {
        "operationId": "recognize",
        "summary": "recognise pre-recorded audio under grammars",
        "description": "The body is a WAV file (audio/wav), raw PCM (audio/l16;rate=8000, or "
                       "application/octet-stream with ?rate=) with grammars in the query, or JSON with base64 audio. "
                       "builtin:slm/general (free speech) may be named with or instead of grammars.",
        "parameters": [*_GRAMMAR_QUERY,
                       {"name": "rate", "in": "query", "required": False, "schema": {"type": "integer", "enum": [8000, 16000]}},
                       {"name": "rejection_threshold", "in": "query", "required": False,
                        "schema": {"type": "number", "minimum": 0, "maximum": 1}},
                       {"name": "word_details", "in": "query", "required": False,
                        "schema": {"type": "integer", "enum": [0, 1, 2], "default": 1}},
                       {"name": "hints", "in": "query", "required": False, "description": _HINTS,
                        "schema": {"type": "string", "examples": ["bill:8, will:-2"]}}],
        "requestBody": {"required": True, "content": {
            "audio/wav": {"schema": {"type": "string", "format": "binary"}},
            "audio/l16": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": _ref("RecognizeRequest")}}},
        "responses": {"200": {"description": "the recognition result", "content": _json(_ref("RecognizeResult"))},
                      **_errors(400, 403, 413, 415, 422, 500, 503)}}},
    "/v1/interpret": {"post": {
        "operationId": "interpret",
        "summary": "interpret a text with grammars",
        "parameters": _GRAMMAR_QUERY,
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _ref("InterpretRequest")},
            "text/plain": {"schema": {"type": "string"}}}},
        "responses": {"200": {"description": "the interpretation", "content": _json(_ref("Result"))},
                      **_errors(400, 403, 413, 415, 422, 500)}}},
    "/v1/builtins": {"get": {
        "operationId": "builtins",
        "summary": "the built-in grammar catalogue",
        "responses": {"200": {"description": "every built-in grammar", "content": _json({
            "type": "object", "properties": {"builtins": {"type": "array", "items": {
                "type": "object", "properties": {
                    "uri": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"},
                    "mode": {"type": "string", "enum": ["voice", "dtmf"]},
                    "languages": {"type": "array", "items": {"type": "string"}},
                    "params": {"type": "object", "additionalProperties": {"type": "string"}}}}}}})}}}},
    "/health": {"get": {
        "operationId": "health",
        "summary": "whether this worker takes sessions (for a load balancer)",
        "responses": {
            "200": {"description": "taking sessions", "content": _json({"type": "object", "properties": {
                "status": {"type": "string", "enum": ["ok"]}, "sessions": {"type": "integer"},
                "max_sessions": {"type": "integer"}, "pid": {"type": "integer"}, "uptime_s": {"type": "number"}}})},
            "503": {"description": "every session is held (status full)"}}}},
    "/metrics": {"get": {
        "operationId": "metrics",
        "summary": "Prometheus text: sessions, requests, recognitions, latencies, errors",
        "responses": {"200": {"description": "text exposition format 0.0.4",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/openapi.json": {"get": {
        "operationId": "openapi",
        "summary": "this document",
        "responses": {"200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}}}},
}


def openapi_document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (an app's ``routes``)."""
    paths: dict[str, dict[str, Any]] = {}
    for path, methods, doc in _http_routes(routes, ""):
        known = _PATHS.get(path)
        if known is not None:
            paths[path] = known
            continue
        template = re.sub(r"\{(\w+)(?::\w+)?\}", r"{\1}", path)
        entry = paths.setdefault(template, {})
        summary = (doc or "").strip().splitlines()[0] if (doc or "").strip() else f"{template}"
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in re.findall(r"\{(\w+)\}", template)]
        for method in sorted(methods - {"HEAD"}):
            operation: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "OK"}}}
            if parameters:
                operation["parameters"] = parameters
            entry[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "srgs-engine speech server", "version": version(),
                 "description": "SRGS grammars and SISR interpretation over HTTP. Streaming recognition is the "
                                "ASR WebSocket API 2.3 at /asr-server/asr (not described here)."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": _SCHEMAS},
    }


def _http_routes(routes: Iterable[BaseRoute], prefix: str) -> list[tuple[str, set[str], str | None]]:
    found: list[tuple[str, set[str], str | None]] = []
    for route in routes:
        if isinstance(route, Route):
            found.append((prefix + route.path, set(route.methods or {"GET"}), route.endpoint.__doc__))
        elif isinstance(route, Mount):
            inner = route.routes
            if inner:
                found.extend(_http_routes(inner, prefix + route.path))
            else:  # a mounted app (static files): one GET entry for its prefix
                found.append((prefix + route.path + "/{path}", {"GET"}, None))
    return found
