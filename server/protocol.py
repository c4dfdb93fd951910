"""The ASR WebSocket API 2.3 message codec: bytes in, ``Message`` out, and back. Pure: no I/O.

Wire layout (one protocol message per WebSocket message)::

    ASR 2.3 NAME\\r\\n
    Header-Name: value\\r\\n
    ...
    \\r\\n
    BODY (exactly Content-Length bytes)

Parsing is lenient, as real clients need (``cpqd-asr-websocket-2.3.md``, "Parse leniently"):
LF-only line ends, no empty line when there is no body, no final newline, ``Name:value``
without the space, header names in any case, a 4th token on the start line, any ``ASR 2.x``
version, extra bytes after the body or a ``Content-Length`` larger than what came (what is there
is the body). Emission is strict ("Emit strictly"): CRLF, ``Name: value``, the empty line always,
an exact ``Content-Length``, version ``2.3``, and never the substring ``ASR`` in a header value
(``header_safe``) or a body line (``server.results`` escapes bodies).

Errors: ``ProtocolError`` (a message that cannot be read: answered with ``INVALID_MESSAGE``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

VERSION = "2.3"
MAGIC = "ASR"

# Client -> server (the seed's list; "CREATE SESSION" is CREATE_SESSION on the wire)
CREATE_SESSION = "CREATE_SESSION"
DEFINE_GRAMMAR = "DEFINE_GRAMMAR"
START_RECOGNITION = "START_RECOGNITION"
INTERPRET_TEXT = "INTERPRET_TEXT"
START_INPUT_TIMERS = "START_INPUT_TIMERS"
SET_PARAMETERS = "SET_PARAMETERS"
GET_PARAMETERS = "GET_PARAMETERS"
SEND_AUDIO = "SEND_AUDIO"
CANCEL_RECOGNITION = "CANCEL_RECOGNITION"
RELEASE_SESSION = "RELEASE_SESSION"
CLIENT_MESSAGES = frozenset({CREATE_SESSION, DEFINE_GRAMMAR, START_RECOGNITION, INTERPRET_TEXT, START_INPUT_TIMERS,
                             SET_PARAMETERS, GET_PARAMETERS, SEND_AUDIO, CANCEL_RECOGNITION, RELEASE_SESSION})

# Server -> client
RESPONSE = "RESPONSE"
RECOGNITION_RESULT = "RECOGNITION_RESULT"
START_OF_SPEECH = "START_OF_SPEECH"
END_OF_SPEECH = "END_OF_SPEECH"

# RESPONSE Result values
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
INVALID_ACTION = "INVALID_ACTION"
INVALID_MESSAGE = "INVALID_MESSAGE"

# Session-Status values
IDLE = "IDLE"
LISTENING = "LISTENING"
RECOGNIZING = "RECOGNIZING"

# Error-Code values (the reference's list)
ERR_GENERIC = "ERR_GENERIC"
ERR_INVALID_ARGUMENT = "ERR_INVALID_ARGUMENT"
ERR_INVALID_STATE = "ERR_INVALID_STATE"
ERR_INTERNAL_ERROR = "ERR_INTERNAL_ERROR"
ERR_BUFFER_OVERFLOW = "ERR_BUFFER_OVERFLOW"
ERR_FILE_OPEN = "ERR_FILE_OPEN"
ERR_NO_ACTIVE_LM = "ERR_NO_ACTIVE_LM"
ERR_CORRUPTED_LM = "ERR_CORRUPTED_LM"
ERR_NOT_LISTENING_AUDIO = "ERR_NOT_LISTENNING_AUDIO"  # (sic): the spelling clients know
ERR_MAX_LICENSES = "ERR_MAX_LICENSES"
ERROR_INVALID_PARAMETER = "ERROR_INVALID_PARAMETER"
ERROR_INVALID_PARAMETER_VALUE = "ERROR_INVALID_PARAMETER_VALUE"

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})

_START_LINE = re.compile(r"^ASR\s+2\.\d+\s+([A-Za-z_]+)(?:\s+\S+)*\s*$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # visible ASCII but ':'
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


class ProtocolError(ValueError):
    """A message that cannot be read (answered with ``Result: INVALID_MESSAGE``); ``method`` is the
    message name when the start line could be read."""

    def __init__(self, message: str, method: str | None = None):
        super().__init__(message)
        self.method = method


@dataclass(frozen=True, slots=True)
class Message:
    """One protocol message: its name, headers (in order, names as sent) and body bytes."""

    name: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    _index: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key, value in self.headers:
            self._index.setdefault(key.lower(), value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """A header's value by name, in any case (the first one when repeated)."""
        return self._index.get(name.lower(), default)

    def has(self, name: str) -> bool:
        return name.lower() in self._index

    @property
    def content_type(self) -> str:
        """The media type of the body, lower case, parameters dropped ('' when none)."""
        return media_type(self.get("Content-Type") or "")


def media_type(value: str) -> str:
    """``application/srgs; charset=utf-8`` -> ``application/srgs``."""
    return value.split(";", 1)[0].strip().lower()


def media_parameters(value: str) -> dict[str, str]:
    """``audio/raw; rate=8000`` -> ``{"rate": "8000"}`` (names lower case)."""
    out: dict[str, str] = {}
    for part in value.split(";")[1:]:
        name, sep, item = part.partition("=")
        if sep:
            out[name.strip().lower()] = item.strip().strip('"')
    return out


def parse_bool(value: str) -> bool:
    """``true/false``, ``True/False``, ``1/0``, ``yes/no``, ``on/off``; ValueError otherwise."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean: {value!r} (use true or false)")


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """The head (start line and headers) and what follows the first empty line (b'' when none);
    the empty line may end in CRLF or LF alone."""
    found = _BLANK_LINE.search(data)
    if found is None:
        return data, b""
    return data[:found.start()], data[found.end():]


def parse_message(data: bytes) -> Message:
    """Read one message leniently; ``ProtocolError`` when it is not an ``ASR 2.x`` message."""
    head, rest = _split_head(data)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the start line and headers are not UTF-8 text") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = lines[0].strip()
    matched = _START_LINE.match(start)
    if matched is None:
        shown = start[:60]
        raise ProtocolError(f"not an ASR 2.x start line: {shown!r} (expected 'ASR 2.3 MESSAGE_NAME')")
    name = matched.group(1).upper()
    headers: list[tuple[str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key or not _HEADER_NAME.match(key):
            raise ProtocolError(f"line {number}: not a 'Name: value' header: {line[:60]!r}", name)
        headers.append((key, value.strip()))
    message = Message(name, tuple(headers), b"")
    length_text = message.get("Content-Length")
    body = rest
    if length_text is not None:
        try:
            length = int(length_text)
        except ValueError:
            raise ProtocolError(f"Content-Length is not a number: {length_text!r}", name) from None
        if length < 0:
            raise ProtocolError(f"Content-Length is negative: {length}", name)
        body = rest[:length]  # extra bytes are dropped; a shorter body is what came
    if name not in CLIENT_MESSAGES:
        raise ProtocolError(f"unknown message {name!r}", name)
    return Message(name, tuple(headers), body)


def header_safe(value: str) -> str:
    """A header value as emitted: one line, and ``ASR`` written ``%41SR`` (one client takes any
    line holding ``ASR`` for a start line; percent-encoding is the URI convention, so a URI in a
    value stays a URI)."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split()).replace(MAGIC, "%41SR")


def encode_message(name: str, headers: Iterable[tuple[str, object]] | Mapping[str, object] = (),
                   body: bytes = b"") -> bytes:
    """One message as strictly emitted: ``ASR 2.3 NAME``, CRLF, ``Name: value`` headers (values
    through ``header_safe``; ``Content-Length`` always written when there is a body), the empty
    line, the body."""
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    lines = [f"{MAGIC} {VERSION} {name}"]
    for key, value in items:
        if key.lower() == "content-length":
            continue
        lines.append(f"{key}: {header_safe(_text(value))}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _text(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


# --- WAV ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WavFormat:
    """What a RIFF/WAVE header says about the samples that follow it."""

    channels: int
    rate: int
    bits: int
    encoding: int  # 1 = PCM
    data_offset: int  # where the samples start in the bytes given


def looks_like_wav(data: bytes) -> bool:
    return len(data) >= 4 and data[:4] == b"RIFF"


def wav_header(data: bytes) -> WavFormat | None:
    """The format of a WAV stream's first bytes and where its samples start; None when the
    ``data`` chunk has not arrived yet. ValueError when it is not a usable RIFF/WAVE header."""
    if len(data) < 12:
        return None
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("audio starts with RIFF but is not a RIFF/WAVE header")
    at = 12
    fmt: tuple[int, int, int, int] | None = None
    while at + 8 <= len(data):
        chunk, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        if chunk == b"data":
            if fmt is None:
                raise ValueError("WAV data chunk before its fmt chunk")
            encoding, channels, rate, bits = fmt
            return WavFormat(channels=channels, rate=rate, bits=bits, encoding=encoding, data_offset=at + 8)
        if chunk == b"fmt ":
            if at + 8 + 16 > len(data):
                return None
            encoding, channels, rate = struct.unpack("<HHI", data[at + 8:at + 16])
            bits = struct.unpack("<H", data[at + 22:at + 24])[0]
            fmt = (encoding, channels, rate, bits)
        at += 8 + size + (size & 1)
    return None


__all__ = [
    "CLIENT_MESSAGES", "Message", "ProtocolError", "VERSION", "WavFormat", "encode_message", "header_safe",
    "looks_like_wav", "media_parameters", "media_type", "parse_bool", "parse_message", "wav_header",
]
