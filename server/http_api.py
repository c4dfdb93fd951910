"""The HTTP front end: JSON over HTTP for pre-recorded audio and text (issue 11).

Stateless: every request brings its grammars (``builtin:`` URIs, or grammar text, defined for
that request only as ``session:NAME``) and nothing outlives the request except what the grammar
store keeps by content (compiled grammars, shared with the WebSocket sessions and, through the
compile-cache directory, with the other worker processes).

- ``POST /v1/recognize``: audio in the body -- a WAV file (``Content-Type: audio/wav``, or any
  body starting with a RIFF header) or raw 16-bit little-endian mono PCM (``audio/l16;rate=8000``,
  or ``application/octet-stream`` with ``?rate=8000|16000``, default 16000) -- and grammars as
  ``?grammar=URI`` (repeatable, with ``?weight=W`` in the same order); or a JSON body
  ``{"audio": BASE64, "rate": 16000, "grammars": [...], ...}``. The result is the WebSocket
  API's RECOGNITION_RESULT body with word details (``word_details`` 0, 1 -- the default: the
  best alternative's words with ``start_time``/``end_time`` -- or 2); ``rejection_threshold``
  (0-1) overrides the decoder's for grammars; ``hints`` (``?hints=bill:8,will:-2``, or in JSON
  that string or ``{"bill": 8}``) boosts grammar words as ``hints.words`` does
  (``decoder.word_boosts``). ``builtin:slm/general`` (free speech) may be named
  with or instead of grammars, as in START_RECOGNITION. A recognition counts against
  ``server.max_sessions`` while it runs (503 ``SERVER_FULL`` when every session is held).
- ``POST /v1/interpret``: JSON ``{"text": ..., "grammars": [...], "nbest": N,
  "confidence_threshold": N, "language": "pt-BR"}``, or a ``text/plain`` body with
  ``?grammar=URI``; the result is the ``srgs interpret`` JSON (the RECOGNITION_RESULT body; a
  free-speech model gives the text itself when no grammar matched, as INTERPRET_TEXT does).
- ``GET /v1/builtins``: the built-in grammar catalogue.
- ``GET /health``: 200 ``{"status": "ok", ...}``, 503 ``"full"`` when every session is held.
- ``GET /metrics``: Prometheus text (sessions, requests, recognitions, latencies, errors).

A grammar in a JSON ``grammars`` list is a URI string, ``{"uri": URI, "weight": W}`` or
``{"text": SOURCE, "id": NAME, "weight": W}`` (grammar text in either SRGS form, defined as
``session:NAME`` -- ``inlineN`` without an id -- and active). ``"definitions": {NAME: SOURCE}``
defines grammars that active ones reference as ``session:NAME`` without activating them.

Errors are JSON ``{"error": {"code": CODE, "message": MESSAGE}}`` with a 4xx status, never a
traceback: 400 a malformed request or audio, 403 a grammar reaching outside the access policy,
413 over a limit, 415 an unsupported body, 422 a grammar that does not load or compile (then
``"errors"`` beside ``"error"`` lists every problem with its line and column). Codes are the
engine's (``srgs.errors``: GRAMMAR_SYNTAX, ACCESS_DENIED, TEXT_TOO_LONG, ...) or this API's
(INVALID_REQUEST, UNSUPPORTED_MEDIA_TYPE, MESSAGE_TOO_LARGE, AUDIO_TOO_LONG, AUDIO_INVALID,
NOT_FOUND, METHOD_NOT_ALLOWED; INTERNAL_ERROR with status 500 for a bug, logged by the server).
Bodies over ``server.max_message_bytes`` and audio over ``server.max_audio_s`` are refused.
Compiling, interpreting and decoding run on the engine's worker threads (those of the WebSocket
sessions), never on the event loop.

This module holds the endpoints and their error handling; reading a request (body, JSON,
grammars, audio) is ``server.http_requests``, an engine error's status and code ``server.errors``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server.errors import engine_error_status
from server.http_requests import (
    ApiError,
    activate_request,
    decode_audio,
    grammars_from_json,
    grammars_from_query,
    hints_value,
    integer_value,
    media_type,
    number_value,
    parse_json,
    read_body,
    text_value,
)
from server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from server.responses import ApiJSONResponse, error_response
from srgs.errors import GrammarErrors, SrgsError

if TYPE_CHECKING:
    from server.engine import ServerEngine

log = logging.getLogger("srgs.server.http")

T = TypeVar("T")
STARTED = time.monotonic()


def engine_error_response(status: int, code: str, exc: SrgsError) -> JSONResponse:
    """An engine error: its first problem as the one-line message, every problem positioned."""
    several = isinstance(exc, GrammarErrors) and len(exc.errors) > 1
    first = exc.errors[0] if isinstance(exc, GrammarErrors) and exc.errors else exc
    message = " ".join(str(first).split("\n"))
    if several:
        message += f" (and {len(exc.errors) - 1} more: see errors)"  # type: ignore[attr-defined]
    positioned = several or exc.span is not None
    return error_response(status, code, message, exc.records() if positioned else None)


Handler = Callable[[Request], Awaitable[Response]]


def endpoint(name: str) -> Callable[[Handler], Handler]:
    """Wraps a handler: errors become JSON error responses, each request is counted and timed."""

    def wrap(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            began = time.perf_counter()
            code = ""
            try:
                response = await handler(request)
            except ApiError as exc:
                code = exc.code
                response = error_response(exc.status, code, exc.message)
            except SrgsError as exc:
                status, code = engine_error_status(exc)
                response = engine_error_response(status, code, exc)
            except Exception:  # a bug: logged with its traceback, the client gets one line
                log.exception("%s %s failed", request.method, request.url.path)
                code = "INTERNAL_ERROR"
                response = error_response(500, code, "internal error (logged by the server)")
            metrics = engine_of(request).metrics
            metrics.count("http_requests", route=name, status=str(response.status_code))
            metrics.observe("http_request", time.perf_counter() - began, route=name)
            if code:
                metrics.count("errors", code=code, api="http")
            return response

        run.__name__ = handler.__name__
        run.__doc__ = handler.__doc__
        return run

    return wrap


def engine_of(request: Request) -> ServerEngine:
    engine: ServerEngine = request.app.state.engine
    return engine


async def off_the_loop(engine: ServerEngine, work: Callable[[], T]) -> T:
    """``work()`` on the engine's worker threads (shared with the WebSocket sessions)."""
    return await asyncio.get_running_loop().run_in_executor(engine.executor, work)


# --- endpoints ----------------------------------------------------------------------------


@endpoint("interpret")
async def interpret(request: Request) -> Response:
    """Interpret a text with grammars: the RECOGNITION_RESULT JSON."""
    engine = engine_of(request)
    body = await read_body(request, engine.config.server.max_message_bytes)
    kind, _ = media_type(request)
    if kind == "application/json":
        data = parse_json(body)
        spec = grammars_from_json(data)
        text = text_value(data.get("text"), '"text"')
    elif kind in ("text/plain", ""):
        spec = grammars_from_query(request)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "INVALID_REQUEST", "the text is not UTF-8") from None
    else:
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"Content-Type {kind!r}: send application/json or text/plain")

    def work() -> dict[str, object]:
        from interpreter.formats import to_json_dict
        from server.activation import interpret_text

        active = activate_request(engine.store, spec)
        try:
            began = time.perf_counter()
            result = interpret_text(active.activation, active.models, text)  # as INTERPRET_TEXT does
            engine.metrics.observe("interpret", time.perf_counter() - began, api="http")
        finally:
            active.session.release_all()
        engine.metrics.count("interpretations", status=result.status, api="http")
        return to_json_dict(result)

    return ApiJSONResponse(await off_the_loop(engine, work))


@endpoint("recognize")
async def recognize(request: Request) -> Response:
    """Recognise pre-recorded audio under grammars: the RECOGNITION_RESULT JSON with word details."""
    engine = engine_of(request)
    settings = engine.config.server
    body = await read_body(request, settings.max_message_bytes)
    kind, params = media_type(request)
    if kind == "application/json":
        data = parse_json(body)
        spec = grammars_from_json(data)
        encoded = text_value(data.get("audio"), '"audio" (base64 of a WAV file or of raw PCM)')
        try:
            audio_bytes = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "INVALID_REQUEST", '"audio" is not valid base64') from None
        rate = data.get("rate")
        rejection = data.get("rejection_threshold")
        details = data.get("word_details")
        hints = hints_value(data.get("hints"))
    else:
        spec = grammars_from_query(request)
        audio_bytes = body
        rate = params.get("rate") or request.query_params.get("rate")
        rejection = request.query_params.get("rejection_threshold")
        details = request.query_params.get("word_details")
        given = request.query_params.getlist("hints")
        hints = hints_value(", ".join(given)) if given else None
        if kind not in ("", "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/l16",
                        "audio/raw", "application/octet-stream"):
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"Content-Type {kind!r}: send audio/wav, audio/l16;rate=N, "
                           "application/octet-stream (raw PCM, ?rate=N) or application/json")
    threshold = None if rejection is None else number_value(rejection, "rejection_threshold")
    if threshold is not None and not 0 <= threshold <= 1:
        raise ApiError(400, "INVALID_REQUEST", f"rejection_threshold must be from 0 to 1, got {rejection!r}")
    word_details = integer_value(details, "word_details", 0, 2)
    audio = decode_audio(audio_bytes, rate, settings.max_message_bytes)
    if audio.seconds > settings.max_audio_s:
        raise ApiError(413, "AUDIO_TOO_LONG", f"{audio.seconds:.1f} s of audio is over the limit of "
                       f"{settings.max_audio_s:g} s (server.max_audio_s)")

    def work() -> dict[str, object]:
        from server.results import ResultBody, result_dict

        active = activate_request(engine.store, spec)
        try:
            if threshold is not None and active.models:
                raise ApiError(400, "INVALID_REQUEST", "rejection_threshold applies to grammars, not to "
                               f"free-speech models ({active.models[0]})")
            decoder = engine.decoder_session(active.activation, active.models, rejection_threshold=threshold,
                                             word_boosts=hints)
            try:
                recognition = decoder.decode(audio)
            finally:
                decoder.close()
        finally:
            active.session.release_all()
        engine.metrics.observe("recognition", recognition.decode_seconds, api="http")
        engine.metrics.count("recognitions", status=recognition.result.status, api="http")
        words = recognition.words
        return result_dict(ResultBody(status=recognition.result.status, result=recognition.result, words=words,
                                      word_details=1 if word_details is None else word_details,
                                      start_time=words[0].start if words else None,
                                      end_time=words[-1].end if words else None))

    # a recognition holds a decoder like a WebSocket session does: it counts against max_sessions
    if not engine.open_session():
        raise ApiError(503, "SERVER_FULL", f"the server holds its maximum of {settings.max_sessions} sessions: "
                       "try again later")
    try:
        return ApiJSONResponse(await off_the_loop(engine, work))
    finally:
        engine.close_session()


@endpoint("builtins")
async def builtins(request: Request) -> Response:
    """The built-in grammar catalogue."""
    return ApiJSONResponse({"builtins": await off_the_loop(engine_of(request), builtin_catalogue)})


def builtin_catalogue() -> list[dict[str, object]]:
    """Every built-in grammar: URI, kind, mode, languages and the parameters it takes (defaults)."""
    from srgs.load.builtins import BUILTIN_DIR, BUILTIN_SUFFIXES, builtin_languages, builtin_names, declared_params

    found: list[dict[str, object]] = []
    for entry in builtin_names():
        kind, name = entry.split("/", 1)
        folders = [BUILTIN_DIR / "voice" / lang for lang in builtin_languages()] if kind == "grammar" \
            else [BUILTIN_DIR / kind]
        files = [folder / f"{name}{suffix}" for folder in folders for suffix in BUILTIN_SUFFIXES
                 if (folder / f"{name}{suffix}").is_file()]
        params: dict[str, str] = {}
        for path in files:
            params.update(declared_params(path.read_bytes()))
        found.append({
            "uri": f"builtin:{entry}",
            "kind": kind,
            "name": name,
            "mode": "dtmf" if kind == "dtmf" else "voice",
            "languages": [path.parent.name for path in files] if kind == "grammar" else [],
            "params": dict(sorted(params.items())),
        })
    return found


@endpoint("health")
async def health(request: Request) -> Response:
    """200 while this worker takes sessions, 503 when all are held."""
    engine = engine_of(request)
    held, most = engine.sessions, engine.config.server.max_sessions
    full = held >= most
    return ApiJSONResponse({"status": "full" if full else "ok", "sessions": held, "max_sessions": most,
                         "pid": os.getpid(), "uptime_s": round(time.monotonic() - STARTED, 3)},
                        status_code=503 if full else 200)


@endpoint("metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text: counters, latency histograms and this worker's gauges."""
    engine = engine_of(request)
    store = engine.store
    gauges: dict[str, float] = {
        "sessions": engine.sessions,
        "max_sessions": engine.config.server.max_sessions,
        "grammars_prepared": len(store),
        "grammar_store_hits": store.hits,
        "grammar_store_misses": store.misses,
        "uptime_seconds": round(time.monotonic() - STARTED, 3),
    }
    resident = resident_bytes()
    if resident is not None:
        gauges["resident_memory_bytes"] = resident
    return Response(engine.metrics.render(gauges), media_type=METRICS_CONTENT_TYPE)


def resident_bytes() -> int | None:
    """This process's resident memory (Linux ``/proc``), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@endpoint("openapi")
async def openapi(request: Request) -> Response:
    """The OpenAPI 3 description of this server's HTTP routes."""
    from server.openapi import openapi_document

    return ApiJSONResponse(openapi_document(request.app.routes))


routes: Sequence[BaseRoute] = (
    Route("/v1/recognize", recognize, methods=["POST"]),
    Route("/v1/interpret", interpret, methods=["POST"]),
    Route("/v1/builtins", builtins, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
)
