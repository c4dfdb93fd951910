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
  (0-1) overrides the decoder's for grammars. ``builtin:slm/general`` (free speech) may be named
  with or instead of grammars, as in START_RECOGNITION.
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
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from srgs.errors import ErrorRecord, GrammarErrors, LimitExceededError, SrgsError

if TYPE_CHECKING:
    from decoder.audio import Audio
    from interpreter.store import Activation, GrammarStore, PreparedGrammar, SessionGrammars
    from server.engine import ServerEngine

log = logging.getLogger("srgs.server.http")

T = TypeVar("T")
MAX_GRAMMARS = 32  # grammars active in one request
STARTED = time.monotonic()


class ApiJSONResponse(JSONResponse):
    """JSON as one line of UTF-8 that stays valid for any value: lone surrogates (a client may
    send ``"\\ud800"``) are written as escapes (``interpreter.formats.json_line``)."""

    def render(self, content: Any) -> bytes:
        from interpreter.formats import json_line

        return json_line(content).encode("utf-8")


class ApiError(Exception):
    """A request this API refuses: HTTP ``status``, error ``code`` and a one-line ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, errors: list[ErrorRecord] | None = None) -> JSONResponse:
    """The JSON error body every endpoint returns: ``{"error": {"code", "message"}}``, plus
    ``errors`` beside it (one record per problem: file, line, column, message) for a grammar
    (as the playground's endpoints answer)."""
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if errors:
        body["errors"] = errors
    return ApiJSONResponse(body, status_code=status)


def engine_error_response(status: int, code: str, exc: SrgsError) -> JSONResponse:
    """An engine error: its first problem as the one-line message, every problem positioned."""
    several = isinstance(exc, GrammarErrors) and len(exc.errors) > 1
    first = exc.errors[0] if isinstance(exc, GrammarErrors) and exc.errors else exc
    message = " ".join(str(first).split("\n"))
    if several:
        message += f" (and {len(exc.errors) - 1} more: see errors)"  # type: ignore[attr-defined]
    positioned = several or exc.span is not None
    return error_response(status, code, message, exc.records() if positioned else None)


def engine_error_status(exc: SrgsError) -> tuple[int, str]:
    """The HTTP status and error code of an engine error."""
    from decoder.audio import AudioError
    from decoder.base import DecoderError

    if isinstance(exc, AudioError):
        return 400, "AUDIO_INVALID"
    if isinstance(exc, DecoderError) and exc.code == SrgsError.code:
        return 400, "DECODER_FAILED"
    if exc.code == "ACCESS_DENIED":
        return 403, exc.code
    if isinstance(exc, LimitExceededError):
        return 413, exc.code
    return 422, exc.code  # a grammar that does not load, compile or check (as the playground answers)


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


# --- request parsing ----------------------------------------------------------------------


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is over ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "MESSAGE_TOO_LARGE", f"request body of {declared} bytes is over the limit of {limit} "
                       "(server.max_message_bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "MESSAGE_TOO_LARGE", f"request body is over the limit of {limit} bytes "
                           "(server.max_message_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> tuple[str, dict[str, str]]:
    """The request's media type (lower case) and its parameters."""
    header = request.headers.get("content-type", "")
    kind, *rest = header.split(";")
    params: dict[str, str] = {}
    for piece in rest:
        key, _, value = piece.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "INVALID_REQUEST", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "INVALID_REQUEST", "the JSON body is nested too deep") from None
    if not isinstance(value, dict):
        raise ApiError(400, "INVALID_REQUEST", "the JSON body must be an object")
    return value


@dataclass
class GrammarRequest:
    """The grammars of one request and how to interpret them."""

    grammars: list[tuple[str, str, float]] = field(default_factory=list)  # (kind "uri"/"text", value or name, weight)
    definitions: dict[str, str] = field(default_factory=dict)  # session name -> grammar text
    nbest: int | None = None
    confidence_threshold: int | None = None
    language: str | None = None


def _integer(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ApiError(400, "INVALID_REQUEST", f"{name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be a finite number, got {value!r}")
    return float(value)


def _weight(value: Any) -> float:
    weight = 1.0 if value is None else _number(value, "weight")
    if weight <= 0:
        raise ApiError(400, "INVALID_REQUEST", f"weight must be greater than 0, got {value!r}")
    return weight


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be a string")
    return value


def grammars_from_json(body: Mapping[str, Any]) -> GrammarRequest:
    """The ``grammars``, ``definitions``, ``nbest``, ``confidence_threshold`` and ``language`` of
    a JSON body."""
    from interpreter.api import MAX_NBEST

    spec = GrammarRequest(nbest=_integer(body.get("nbest"), "nbest", 1, MAX_NBEST),
                          confidence_threshold=_integer(body.get("confidence_threshold"), "confidence_threshold", 0, 100))
    language = body.get("language")
    spec.language = None if language is None else _text(language, "language")
    entries = body.get("grammars")
    if not isinstance(entries, list) or not entries:
        raise ApiError(400, "INVALID_REQUEST", 'give "grammars": a list of URIs, {"uri": URI} or {"text": GRAMMAR}')
    definitions = body.get("definitions") or {}
    if not isinstance(definitions, dict):
        raise ApiError(400, "INVALID_REQUEST", '"definitions" must map names to grammar text')
    for name, text in definitions.items():
        spec.definitions[name] = _text(text, f"definitions.{name}")
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            spec.grammars.append(("uri", entry, 1.0))
        elif isinstance(entry, dict) and isinstance(entry.get("uri"), str) and "text" not in entry:
            spec.grammars.append(("uri", entry["uri"], _weight(entry.get("weight"))))
        elif isinstance(entry, dict) and isinstance(entry.get("text"), str) and "uri" not in entry:
            name = entry.get("id", f"inline{index}")
            name = _text(name, "grammar id")
            spec.definitions[name] = entry["text"]
            spec.grammars.append(("text", name, _weight(entry.get("weight"))))
        else:
            raise ApiError(400, "INVALID_REQUEST", f"grammars[{index}] must be a URI string, "
                           '{"uri": URI[, "weight": W]} or {"text": GRAMMAR[, "id": NAME][, "weight": W]}')
    _check_count(spec)
    return spec


def grammars_from_query(request: Request) -> GrammarRequest:
    """``?grammar=URI&weight=W&nbest=N&confidence_threshold=N&language=L`` (grammars repeatable)."""
    from interpreter.api import MAX_NBEST

    query = request.query_params
    uris = query.getlist("grammar")
    weights = query.getlist("weight")
    if not uris:
        raise ApiError(400, "INVALID_REQUEST", "give at least one ?grammar=URI (builtin:..., or session: with "
                       "the JSON body's definitions)")
    if weights and len(weights) != len(uris):
        raise ApiError(400, "INVALID_REQUEST", f"{len(weights)} weights for {len(uris)} grammars: give one per grammar")
    spec = GrammarRequest(nbest=_integer(query.get("nbest"), "nbest", 1, MAX_NBEST),
                          confidence_threshold=_integer(query.get("confidence_threshold"),
                                                        "confidence_threshold", 0, 100),
                          language=query.get("language"))
    for index, uri in enumerate(uris):
        spec.grammars.append(("uri", uri, _weight(weights[index]) if weights else 1.0))
    _check_count(spec)
    return spec


def _check_count(spec: GrammarRequest) -> None:
    if len(spec.grammars) > MAX_GRAMMARS or len(spec.definitions) > MAX_GRAMMARS:
        raise ApiError(400, "INVALID_REQUEST", f"at most {MAX_GRAMMARS} grammars in one request")


@dataclass
class Activated:
    """A request's grammars ready to use: the activation (None when only free-speech models are
    named), the free-speech models (``builtin:slm/...``) and the request's namespace."""

    activation: Activation | None
    models: list[str]
    session: SessionGrammars


def activate(store: GrammarStore, spec: GrammarRequest) -> Activated:
    """Defines the request's grammars in a namespace of its own and activates the active ones
    (runs in a worker thread: it may compile). Release ``session`` when done."""
    from server.activation import activate as activate_grammars
    from server.activation import is_free_speech

    session = store.session("http", language=spec.language)
    try:
        for name, text in spec.definitions.items():
            session.define(name, text)
        entries: list[PreparedGrammar | str | tuple[PreparedGrammar | str, float]] = []
        models: list[str] = []
        for kind, value, weight in spec.grammars:
            if kind == "uri" and is_free_speech(value):
                models.append(value)
            else:
                entries.append((f"session:{value}" if kind == "text" else value, weight))
        activation = activate_grammars(store, entries, session=session, nbest=spec.nbest,
                                       confidence_threshold=spec.confidence_threshold)
    except ValueError as exc:
        session.release_all()
        raise ApiError(400, "INVALID_REQUEST", str(exc)) from None
    except BaseException:
        session.release_all()
        raise
    return Activated(activation, models, session)


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
        text = _text(data.get("text"), '"text"')
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

        active = activate(engine.store, spec)
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
        encoded = _text(data.get("audio"), '"audio" (base64 of a WAV file or of raw PCM)')
        try:
            audio_bytes = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "INVALID_REQUEST", '"audio" is not valid base64') from None
        rate = data.get("rate")
        rejection = data.get("rejection_threshold")
        details = data.get("word_details")
    else:
        spec = grammars_from_query(request)
        audio_bytes = body
        rate = params.get("rate") or request.query_params.get("rate")
        rejection = request.query_params.get("rejection_threshold")
        details = request.query_params.get("word_details")
        if kind not in ("", "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/l16",
                        "audio/raw", "application/octet-stream"):
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"Content-Type {kind!r}: send audio/wav, audio/l16;rate=N, "
                           "application/octet-stream (raw PCM, ?rate=N) or application/json")
    threshold = None if rejection is None else _number(rejection, "rejection_threshold")
    if threshold is not None and not 0 <= threshold <= 1:
        raise ApiError(400, "INVALID_REQUEST", f"rejection_threshold must be from 0 to 1, got {rejection!r}")
    word_details = _integer(details, "word_details", 0, 2)
    audio = decode_audio(audio_bytes, rate, settings.max_message_bytes)
    if audio.seconds > settings.max_audio_s:
        raise ApiError(413, "AUDIO_TOO_LONG", f"{audio.seconds:.1f} s of audio is over the limit of "
                       f"{settings.max_audio_s:g} s (server.max_audio_s)")

    def work() -> dict[str, object]:
        from server.results import ResultBody, result_dict

        active = activate(engine.store, spec)
        try:
            if threshold is not None and active.models:
                raise ApiError(400, "INVALID_REQUEST", "rejection_threshold applies to grammars, not to "
                               f"free-speech models ({active.models[0]})")
            decoder = engine.decoder_session(active.activation, active.models, rejection_threshold=threshold)
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

    return ApiJSONResponse(await off_the_loop(engine, work))


def decode_audio(data: bytes, rate: Any, limit: int) -> Audio:
    """WAV bytes (detected by their RIFF header) or raw 16-bit PCM at ``rate`` (8000 or 16000)."""
    import numpy as np

    from decoder.audio import SUPPORTED_RATES, TARGET_RATE, Audio, parse_wav, resample

    if not data:
        raise ApiError(400, "AUDIO_INVALID", "no audio in the request")
    if data[:4] == b"RIFF":
        return parse_wav(data, name="<request>", max_bytes=limit)
    hertz = 16000 if rate is None else _integer(rate, "rate", 1, 10**6)
    if hertz not in SUPPORTED_RATES:
        raise ApiError(400, "AUDIO_INVALID", f"raw PCM at {hertz} Hz: give 8000 or 16000 (rate=N), or a WAV file")
    if len(data) % 2:
        raise ApiError(400, "AUDIO_INVALID", "raw PCM has an odd number of bytes: give 16-bit little-endian mono samples")
    samples = np.frombuffer(data, dtype="<i2").astype(np.int16)
    if hertz != TARGET_RATE:
        samples = resample(samples, hertz, TARGET_RATE)
    return Audio(samples=samples, rate=TARGET_RATE)


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
