"""What one ASR session holds, and how it speaks: the base of ``server.session.Session``.

The session's state (``server.states``), its parameters, its ``session:`` grammars and the
recognition in progress (``ActiveRecognition``); the messages it sends (RESPONSE, the speech
events, RECOGNITION_RESULT), each with its handle and Session-Status; and how a recognition ends
or fails. The audio path (``server.audio_path``) and the request handlers (``server.session``)
build on it, so that each stays a readable size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from decoder.base import DecoderError, DecoderSession, DecoderStream
from decoder.endpointer import Endpointer

from . import protocol as p
from .audio_input import AudioInput
from .parameters import Parameters, RecognitionSettings
from .results import ResultBody, render
from .states import CLOSED, IDLE, NONE, REPORTED, TRANSITIONS

if TYPE_CHECKING:
    from interpreter.store import Activation, SessionGrammars

    from .engine import ServerEngine

log = logging.getLogger("srgs.server")

class DecoderFactory(Protocol):
    """What makes a recognition's decoder: the active grammars, the free-speech models and the
    ``hints.words`` boosts (``ServerEngine.decoder_session``; tests pass fakes)."""

    def __call__(self, activation: Activation | None, models: tuple[str, ...], *,
                 word_boosts: Mapping[str, float] | None = None) -> DecoderSession: ...


@dataclass(slots=True)
class ActiveRecognition:
    """What a START_RECOGNITION holds until its final result."""

    settings: RecognitionSettings
    accept: str
    decoder: DecoderSession
    endpointer: Endpointer
    audio: AudioInput
    started: float  # ``now`` of START_RECOGNITION
    timers_from: tuple[float, float] | None = None  # (now, audio seconds) when the input timers started
    stream: DecoderStream | None = None  # the open segment's decoder stream
    speech_seen: bool = False
    segment_index: int = 0
    segment_start: float = 0.0  # speech start of the open segment (seconds of audio)
    segment_offset: float = 0.0  # where the open segment's decoder audio begins
    segment_bytes: int = 0  # decoder audio fed for the open segment
    last_end: float = 0.0  # where the previous segment's audio ended
    partial_mark: float = 0.0  # decoder seconds at the last partial result
    seconds: float = 0.0  # 16 kHz audio received


class SessionState:
    """A session's state and messages (see the module docstring)."""

    def __init__(self, engine: ServerEngine, *, decoders: DecoderFactory | None = None, handle: int | None = None,
                 now: float = 0.0, peer: str = "-"):
        self.engine = engine
        self.config = engine.config
        self.decoders: DecoderFactory = decoders or engine.decoder_session
        self.handle = handle if handle is not None else engine.next_handle()
        self.peer = peer
        self.state = NONE
        self.parameters = Parameters(self.config)
        self.grammars: SessionGrammars | None = None
        self.recognition: ActiveRecognition | None = None
        self.last_activity = now
        self.expired = False  # the idle timeout closed it
        self._counted = False  # holds one of engine.max_sessions
        self._pending: Callable[[], list[bytes]] | None = None  # decoding left for ``work``

    @property
    def closed(self) -> bool:
        """RELEASE_SESSION was answered, or the idle timeout ran out: close the connection."""
        return self.state == CLOSED

    @property
    def status(self) -> str:
        """The Session-Status every message carries."""
        return self.state if self.state in REPORTED else IDLE

    # --- what it sends --------------------------------------------------------------------

    def _move(self, event: str) -> None:
        self.state = TRANSITIONS[(self.state, event)]

    def _response(self, method: str, result: str = p.SUCCESS, code: str | None = None, message: str | None = None,
                  extra: Sequence[tuple[str, str]] = ()) -> bytes:
        headers: list[tuple[str, object]] = [("Handle", self.handle), ("Method", method), ("Result", result),
                                             ("Session-Status", self.status)]
        if result != p.SUCCESS:
            headers += [("Error-Code", code or p.ERR_GENERIC), ("Message", message or result)]
        headers += extra
        return p.encode_message(p.RESPONSE, headers)

    def _message(self, name: str) -> bytes:
        return p.encode_message(name, [("Handle", self.handle), ("Session-Status", self.status)])

    def _result(self, body: ResultBody, accept: str) -> bytes:
        content_type, data = render(body, accept)
        return p.encode_message(p.RECOGNITION_RESULT, [("Handle", self.handle), ("Result-Status", body.status),
                                                       ("Session-Status", self.status),
                                                       ("Content-Type", content_type)], data)

    def _note_error(self, code: str) -> None:
        self.engine.metrics.count("errors", code=code)

    # --- how a recognition ends -----------------------------------------------------------

    def _end_recognition(self, *, cancel: bool) -> None:
        self._pending = None
        recognition, self.recognition = self.recognition, None
        if recognition is None:
            return
        if cancel and recognition.stream is not None:
            try:
                recognition.stream.cancel()
            except DecoderError:
                pass
        recognition.stream = None
        try:
            recognition.decoder.close()
        except DecoderError:
            pass

    def _internal_error(self, method: str, exc: Exception) -> list[bytes]:
        """An unexpected exception: logged with its traceback; the client gets one line, and a
        recognition in progress ends with a FAILURE result."""
        log.exception("session %s: %s failed", self.handle, method)
        self._pending = None
        return self._fail_recognition(method, p.ERR_INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}")

    def _fail_recognition(self, method: str, code: str, message: str) -> list[bytes]:
        """The audio cannot be used: a FAILURE RESPONSE and a final FAILURE result."""
        recognition = self.recognition
        self._note_error(code)
        log.info("session %s: recognition failed: %s", self.handle, message)
        response = self._response(method, p.FAILURE, code, message)
        if recognition is None:
            return [response]
        self._end_recognition(cancel=True)
        self.state = IDLE
        self.engine.metrics.count("recognitions", status="FAILURE")
        body = ResultBody(status="FAILURE", segment_index=recognition.segment_index)
        return [response, self._result(body, recognition.accept)]
