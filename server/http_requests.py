"""Reading an HTTP API request (``server.http_api``): its body within the size limit, its media
type, its JSON, the grammars it names (activated in a namespace of its own) and its audio.

Every problem is an ``ApiError`` (HTTP status, error code, one-line message), which the
endpoint wrapper answers as the JSON error body; the endpoints stay about what they do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from server.activation import activate, is_free_speech

if TYPE_CHECKING:
    from decoder.audio import Audio
    from interpreter.store import Activation, GrammarStore, PreparedGrammar, SessionGrammars

MAX_GRAMMARS = 32  # grammars active in one request


class ApiError(Exception):
    """A request this API refuses: HTTP ``status``, error ``code`` and a one-line ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


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


def integer_value(value: Any, name: str, low: int, high: int) -> int | None:
    """``value`` (a number, or its text) as an integer from ``low`` to ``high``; None stays None."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def number_value(value: Any, name: str) -> float:
    """``value`` (a number, or its text) as a finite float."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ApiError(400, "INVALID_REQUEST", f"{name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be a finite number, got {value!r}")
    return float(value)


def hints_value(value: Any, name: str = "hints") -> dict[str, float] | None:
    """Word boosts (``hints.words``): ``"word:boost, ..."`` or, in JSON, ``{"word": boost}``; None
    when not given."""
    if value is None:
        return None
    if isinstance(value, str):
        from server.parameters import word_boosts

        try:
            return word_boosts(value)
        except ValueError as exc:
            raise ApiError(400, "INVALID_REQUEST", f"{name}: {str(exc)[:40]!r} is not word or word:boost "
                           "(hints are 'word:boost, ...')") from None
    if isinstance(value, Mapping):
        out: dict[str, float] = {}
        for word, boost in value.items():
            if not isinstance(word, str) or not word.strip() or any(ch.isspace() or ch in ":," for ch in word):
                raise ApiError(400, "INVALID_REQUEST", f"{name}: {str(word)[:40]!r} is not a word")
            out[word] = number_value(boost, f"{name}[{word[:40]!r}]")
        return out
    raise ApiError(400, "INVALID_REQUEST", f"{name} must be a string ('word:boost, ...') or an object of word: boost")


def _weight(value: Any) -> float:
    weight = 1.0 if value is None else number_value(value, "weight")
    if weight <= 0:
        raise ApiError(400, "INVALID_REQUEST", f"weight must be greater than 0, got {value!r}")
    return weight


def text_value(value: Any, name: str) -> str:
    """``value``, which must be a string (``name`` says which field in the error)."""
    if not isinstance(value, str):
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be a string")
    return value


def grammars_from_json(body: Mapping[str, Any]) -> GrammarRequest:
    """The ``grammars``, ``definitions``, ``nbest``, ``confidence_threshold`` and ``language`` of
    a JSON body."""
    from interpreter.api import MAX_NBEST

    spec = GrammarRequest(nbest=integer_value(body.get("nbest"), "nbest", 1, MAX_NBEST),
                          confidence_threshold=integer_value(body.get("confidence_threshold"), "confidence_threshold", 0, 100))
    language = body.get("language")
    spec.language = None if language is None else text_value(language, "language")
    entries = body.get("grammars")
    if not isinstance(entries, list) or not entries:
        raise ApiError(400, "INVALID_REQUEST", 'give "grammars": a list of URIs, {"uri": URI} or {"text": GRAMMAR}')
    definitions = body.get("definitions") or {}
    if not isinstance(definitions, dict):
        raise ApiError(400, "INVALID_REQUEST", '"definitions" must map names to grammar text')
    for name, text in definitions.items():
        spec.definitions[name] = text_value(text, f"definitions.{name}")
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            spec.grammars.append(("uri", entry, 1.0))
        elif isinstance(entry, dict) and isinstance(entry.get("uri"), str) and "text" not in entry:
            spec.grammars.append(("uri", entry["uri"], _weight(entry.get("weight"))))
        elif isinstance(entry, dict) and isinstance(entry.get("text"), str) and "uri" not in entry:
            name = entry.get("id", f"inline{index}")
            name = text_value(name, "grammar id")
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
    spec = GrammarRequest(nbest=integer_value(query.get("nbest"), "nbest", 1, MAX_NBEST),
                          confidence_threshold=integer_value(query.get("confidence_threshold"),
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


def activate_request(store: GrammarStore, spec: GrammarRequest) -> Activated:
    """Defines the request's grammars in a namespace of its own and activates the active ones
    (runs in a worker thread: it may compile). Release ``session`` when done."""
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
        activation = activate(store, entries, session=session, nbest=spec.nbest,
                                       confidence_threshold=spec.confidence_threshold)
    except ValueError as exc:
        session.release_all()
        raise ApiError(400, "INVALID_REQUEST", str(exc)) from None
    except BaseException:
        session.release_all()
        raise
    return Activated(activation, models, session)


def decode_audio(data: bytes, rate: Any, limit: int) -> Audio:
    """WAV bytes (detected by their RIFF header) or raw 16-bit PCM at ``rate`` (8000 or 16000)."""
    import numpy as np

    from decoder.audio import SUPPORTED_RATES, TARGET_RATE, Audio, parse_wav, resample

    if not data:
        raise ApiError(400, "AUDIO_INVALID", "no audio in the request")
    if data[:4] == b"RIFF":
        return parse_wav(data, name="<request>", max_bytes=limit)
    hertz = 16000 if rate is None else integer_value(rate, "rate", 1, 10**6)
    if hertz not in SUPPORTED_RATES:
        raise ApiError(400, "AUDIO_INVALID", f"raw PCM at {hertz} Hz: give 8000 or 16000 (rate=N), or a WAV file")
    if len(data) % 2:
        raise ApiError(400, "AUDIO_INVALID", "raw PCM has an odd number of bytes: give 16-bit little-endian mono samples")
    samples = np.frombuffer(data, dtype="<i2").astype(np.int16)
    if hertz != TARGET_RATE:
        samples = resample(samples, hertz, TARGET_RATE)
    return Audio(samples=samples, rate=TARGET_RATE)
