"""A real ASR WebSocket API 2.3 client for the tests (``websockets``' synchronous client).

It sends messages as a client would and reads the server's strictly: every message it receives
must have the ``ASR 2.3`` start line, CRLF line ends, ``Name: value`` headers, the empty line, a
body of exactly ``Content-Length`` bytes, a numeric ``Handle``, a ``Session-Status``, no
``Error-Code``/``Message`` on a success and no ``ASR`` in a header value or body line; anything
else fails the test that received it (``StrictnessError``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from websockets.sync.client import ClientConnection, connect

STATUSES = {"IDLE", "LISTENING", "RECOGNIZING"}
FINAL_STATUSES = {"RECOGNIZED", "NO_MATCH", "NO_INPUT_TIMEOUT", "NO_SPEECH", "RECOGNITION_TIMEOUT", "MAX_SPEECH",
                  "EARLY_SPEECH", "CANCELED", "FAILURE"}


class StrictnessError(AssertionError):
    """The server sent something the strict emission rules forbid."""


@dataclass(frozen=True)
class Reply:
    """One server message, read strictly."""

    name: str
    headers: dict[str, str]
    body: bytes = b""
    raw: bytes = field(default=b"", repr=False)

    def __getitem__(self, name: str) -> str:
        return self.headers[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    @property
    def result(self) -> str | None:
        return self.headers.get("Result")

    def json(self) -> dict:
        return json.loads(self.body.decode("utf-8"))


def read_strictly(data: bytes) -> Reply:
    """Parse a server message, failing on anything the strict emission rules forbid."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise StrictnessError(f"no CRLF empty line after the headers: {data[:200]!r}")
    text = head.decode("utf-8")
    if "\n" in text.replace("\r\n", ""):
        raise StrictnessError(f"a bare LF in the head: {text!r}")
    lines = text.split("\r\n")
    start = re.fullmatch(r"ASR 2\.3 ([A-Z_]+)", lines[0])
    if start is None:
        raise StrictnessError(f"bad start line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        found = re.fullmatch(r"([A-Za-z0-9.\-_]+): (.*)", line)
        if found is None:
            raise StrictnessError(f"header line not 'Name: value': {line!r}")
        name, value = found.groups()
        if "ASR" in value:
            raise StrictnessError(f"'ASR' in the value of {name}: {value!r}")
        headers[name] = value
    length = int(headers.get("Content-Length", "0"))
    if length != len(body):
        raise StrictnessError(f"Content-Length {length} but {len(body)} bytes of body")
    if body:
        for line in body.split(b"\n"):
            if b"ASR" in line:
                raise StrictnessError(f"'ASR' in a body line: {line[:200]!r}")
    if not headers.get("Handle", "").isdigit():
        raise StrictnessError(f"Handle is not numeric: {headers.get('Handle')!r}")
    if headers.get("Session-Status") not in STATUSES:
        raise StrictnessError(f"Session-Status missing or unknown: {headers.get('Session-Status')!r}")
    name = start.group(1)
    if name == "RESPONSE":
        if "Method" not in headers or "Result" not in headers:
            raise StrictnessError(f"RESPONSE without Method or Result: {headers}")
        if headers["Result"] == "SUCCESS" and ("Error-Code" in headers or "Message" in headers):
            raise StrictnessError(f"Error-Code or Message on a SUCCESS: {headers}")
    if name == "RECOGNITION_RESULT":
        if "Result-Status" not in headers:
            raise StrictnessError("RECOGNITION_RESULT without Result-Status")
        if headers.get("Content-Type") == "application/json" and b"\n" in body:
            raise StrictnessError("JSON body on more than one line")
    return Reply(name, headers, body, data)


def message(name: str, headers: Iterable[tuple[str, object]] = (), body: bytes = b"", *, version: str = "2.3",
            eol: str = "\r\n") -> bytes:
    """A client message (``eol="\\n"`` writes it as the LF-only clients do)."""
    lines = [f"ASR {version} {name}"] + [f"{key}: {value}" for key, value in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return (eol.join(lines) + eol + eol).encode("utf-8") + body


class AsrClient:
    """One connection to an ASR 2.3 server."""

    def __init__(self, url: str, *, timeout: float = 20.0):
        self.url = url
        self.timeout = timeout
        self._stack = ExitStack()
        self.connection: ClientConnection = self._stack.enter_context(
            connect(url, max_size=None, open_timeout=timeout, additional_headers={"Authorization": "Basic Og=="}))
        self.handle: str | None = None

    # --- raw ------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.connection.send(data)

    def send(self, name: str, headers: Iterable[tuple[str, object]] = (), body: bytes = b"") -> None:
        self.send_raw(message(name, headers, body))

    def receive(self, timeout: float | None = None) -> Reply:
        data = self.connection.recv(timeout=self.timeout if timeout is None else timeout)
        if isinstance(data, str):
            raise StrictnessError("a text frame (the protocol sends binary frames)")
        return read_strictly(data)

    def request(self, name: str, headers: Iterable[tuple[str, object]] = (), body: bytes = b"") -> Reply:
        """Send a message and read the RESPONSE to it."""
        self.send(name, headers, body)
        reply = self.receive()
        assert reply.name == "RESPONSE" and reply["Method"] == name, reply
        return reply

    def until_final(self, timeout: float | None = None) -> list[Reply]:
        """Every message up to and including a final RECOGNITION_RESULT."""
        out = []
        while True:
            reply = self.receive(timeout)
            out.append(reply)
            if _is_final(reply):
                return out

    # --- the messages ---------------------------------------------------------------------

    def create_session(self) -> Reply:
        reply = self.request("CREATE_SESSION", [("User-Agent", "srgs-tests/1.0")])
        if reply.result == "SUCCESS":
            self.handle = reply["Handle"]
        return reply

    def define_grammar(self, name: str, body: str, content_type: str = "application/srgs") -> Reply:
        return self.request("DEFINE_GRAMMAR", [("Content-ID", name), ("Content-Type", content_type)],
                            body.encode("utf-8"))

    def start_recognition(self, uris: Sequence[str] = (), *, grammar: str | None = None,
                          parameters: Sequence[tuple[str, object]] = (), accept: str = "application/json",
                          media_type: str = "audio/raw") -> Reply:
        if grammar is not None:
            headers = [("Content-Type", "application/srgs"), ("Content-ID", "inline")]
            body = grammar.encode("utf-8")
        else:
            headers, body = [("Content-Type", "text/uri-list")], "\n".join(uris).encode("utf-8")
        return self.request("START_RECOGNITION", [("Accept", accept), ("Media-Type", media_type), *headers,
                                                  *parameters], body)

    def interpret(self, text: str, uris: Sequence[str], *, accept: str = "application/json",
                  parameters: Sequence[tuple[str, object]] = ()) -> tuple[Reply, Reply | None]:
        """INTERPRET_TEXT: the RESPONSE and the RECOGNITION_RESULT (None when it failed)."""
        response = self.request("INTERPRET_TEXT", [("Text", text), ("Accept", accept),
                                                   ("Content-Type", "text/uri-list"), *parameters],
                                "\n".join(uris).encode("utf-8"))
        return response, (self.receive() if response.result == "SUCCESS" else None)

    def send_audio(self, chunk: bytes, *, last: bool = False, content_type: str = "application/octet-stream") -> None:
        self.send("SEND_AUDIO", [("LastPacket", "true" if last else "false"), ("Content-Type", content_type)], chunk)

    def stream(self, pcm: bytes, *, chunk_bytes: int = 6400, last: bool = True) -> None:
        """Audio in chunks (200 ms at 16 kHz by default), LastPacket on the last."""
        chunks = list(chunks_of(pcm, chunk_bytes)) or [b""]
        for index, chunk in enumerate(chunks):
            self.send_audio(chunk, last=last and index == len(chunks) - 1)

    def recognize(self, pcm: bytes, *, chunk_bytes: int = 3200, pace: float = 0.0, last: bool = True,
                  content_type: str = "application/octet-stream", continuous: bool = False) -> list[Reply]:
        """Stream audio as a live client does: in chunks (``pace`` seconds apart), reading what
        the server sends between them, no more audio after END_OF_SPEECH unless ``continuous``
        (LastPacket on the last chunk otherwise); every message up to the final result."""
        replies: list[Reply] = []
        chunks = list(chunks_of(pcm, chunk_bytes)) or [b""]
        for index, chunk in enumerate(chunks):
            self.send_audio(chunk, last=last and index == len(chunks) - 1, content_type=content_type)
            if pace:
                time.sleep(pace)
            while True:
                try:
                    replies.append(self.receive(timeout=0))
                except TimeoutError:
                    break
            if any((r.name == "END_OF_SPEECH" and not continuous) or _is_final(r) for r in replies):
                break
        if not any(_is_final(r) for r in replies):
            replies += self.until_final()
        return replies

    def set_parameters(self, parameters: Sequence[tuple[str, object]]) -> Reply:
        return self.request("SET_PARAMETERS", parameters)

    def get_parameters(self, names: Sequence[str] = ()) -> Reply:
        return self.request("GET_PARAMETERS", [(name, "") for name in names])

    def release(self) -> Reply:
        return self.request("RELEASE_SESSION")

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> AsrClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_final(reply: Reply) -> bool:
    """A RECOGNITION_RESULT that ends the recognition."""
    return reply.name == "RECOGNITION_RESULT" and reply["Result-Status"] != "PROCESSING" \
        and reply["Session-Status"] == "IDLE"


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]
