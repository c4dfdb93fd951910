"""One ASR WebSocket API 2.3 session, without I/O: bytes in, the messages to send out.

``Session.receive(data, now)`` reads one client message and returns the encoded messages to send
(RESPONSE, START_OF_SPEECH, END_OF_SPEECH, RECOGNITION_RESULT), in order. ``tick(now)`` runs the
timers (no-input, recognition, idle session) and ``next_deadline()`` says when it next has work.
``now`` is whatever clock the caller runs on (the event loop's, or a fake one in tests): the
session never reads a clock for its timers. When speech ends, the messages returned end with
END_OF_SPEECH and decoding the segment is left ``pending``: send them, then call ``work(now)``
for the RECOGNITION_RESULT (so the client hears END_OF_SPEECH before the decoder's work and stops
sending audio). ``close()`` frees what the session holds (its
``session:`` grammars, the decoder, its count against ``max_sessions``); call it when the client
goes away. The work may be CPU-heavy (compiling, decoding, interpreting): a server calls these
methods off its event loop, one at a time per session.

States (``cpqd-asr-websocket-2.3.md``, "States"), all transitions in ``TRANSITIONS``::

    (none) --CREATE_SESSION--> IDLE --START_RECOGNITION--> LISTENING --end of speech--> RECOGNIZING
    RECOGNIZING --final result--> IDLE          (continuous mode: --segment result--> LISTENING)
    LISTENING --timeout / LastPacket without speech / CANCEL_RECOGNITION--> IDLE
    any --RELEASE_SESSION--> CLOSED

A message the current state does not allow is answered ``INVALID_ACTION`` and changes nothing;
a message that cannot be read is answered ``INVALID_MESSAGE`` and the session goes on.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from decoder.base import DecoderError, DecoderSession, DecoderStream, Recognition
from decoder.endpointer import Endpointer, Event, SpeechAudio, SpeechEnded, SpeechStarted
from interpreter.results import Alternative, Interpretation, RecognitionResult
from interpreter.tree import ParseRule
from srgs.errors import SrgsError

from . import protocol as p
from .parameters import ParameterError, Parameters, RecognitionSettings
from .results import ResultBody, render

if TYPE_CHECKING:
    from interpreter.store import Activation, PreparedGrammar, SessionGrammars

    from .engine import ServerEngine

log = logging.getLogger("srgs.server")

# --- states and transitions -----------------------------------------------------------------

NONE = "NONE"  # the connection is open, no CREATE_SESSION yet (reported as IDLE)
IDLE, LISTENING, RECOGNIZING = p.IDLE, p.LISTENING, p.RECOGNIZING
CLOSED = "CLOSED"

# Internal events (what the audio and the timers cause).
END_OF_SPEECH = "end of speech"
SEGMENT_DONE = "segment result"  # continuous mode: one segment's result, more may follow
FINAL = "final result"

TRANSITIONS: dict[tuple[str, str], str] = {
    (NONE, p.CREATE_SESSION): IDLE,
    (NONE, p.RELEASE_SESSION): CLOSED,
    (IDLE, p.DEFINE_GRAMMAR): IDLE,
    (IDLE, p.SET_PARAMETERS): IDLE,
    (IDLE, p.GET_PARAMETERS): IDLE,
    (IDLE, p.INTERPRET_TEXT): IDLE,
    (IDLE, p.START_RECOGNITION): LISTENING,
    (IDLE, p.CANCEL_RECOGNITION): IDLE,  # nothing to cancel: SUCCESS (design choice)
    (IDLE, p.RELEASE_SESSION): CLOSED,
    (LISTENING, p.SEND_AUDIO): LISTENING,
    (LISTENING, p.START_INPUT_TIMERS): LISTENING,
    (LISTENING, p.GET_PARAMETERS): LISTENING,
    (LISTENING, p.CANCEL_RECOGNITION): IDLE,
    (LISTENING, p.RELEASE_SESSION): CLOSED,
    (LISTENING, END_OF_SPEECH): RECOGNIZING,
    (LISTENING, FINAL): IDLE,
    (RECOGNIZING, p.GET_PARAMETERS): RECOGNIZING,
    (RECOGNIZING, p.CANCEL_RECOGNITION): IDLE,
    (RECOGNIZING, p.RELEASE_SESSION): CLOSED,
    (RECOGNIZING, SEGMENT_DONE): LISTENING,
    (RECOGNIZING, FINAL): IDLE,
}

FREE_SPEECH_PREFIX = "builtin:slm/"
URI_LIST = "text/uri-list"
GRAMMAR_TYPES = frozenset({"", "application/srgs", "application/srgs+xml", "application/grammar+xml",
                           "application/xml", "text/xml", "text/plain", "application/x-srgs"})
# Headers of START_RECOGNITION / INTERPRET_TEXT that are the message's, not recognition parameters.
MESSAGE_HEADERS = frozenset({"accept", "content-type", "content-id", "content-length", "text", "handle", "user-agent"})

DecoderFactory = Callable[["Activation | None", tuple[str, ...]], DecoderSession]


class Refused(Exception):
    """A request the server cannot do: answered ``Result: FAILURE`` with ``code`` and the message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


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


# --- audio input ----------------------------------------------------------------------------


class AudioInput:
    """SEND_AUDIO bodies -> 16 kHz 16-bit mono PCM: a WAV header at the start of the stream is
    read and stripped (its rate wins); 8 kHz audio is upsampled by a windowed-sinc half-band
    filter that carries its history across packets (no seams at packet edges)."""

    TAPS = 16  # per side of the interpolation point
    MAX_HEADER = 64 * 1024

    def __init__(self, rate: int = 16000):
        self.rate = rate
        self._start = bytearray()  # the first bytes, while a WAV header may still be arriving
        self._started = False
        self._odd = b""
        self._history = np.zeros(2 * self.TAPS - 1, dtype=np.float64)
        offsets = np.arange(-self.TAPS + 1, self.TAPS + 1) - 0.5
        window = np.kaiser(2 * self.TAPS, 6.0)
        weights = np.sinc(offsets) * window
        self._weights = (weights / weights.sum())[::-1]

    @property
    def started(self) -> bool:
        """Whether the stream's first bytes (and a WAV header in them) have been read."""
        return self._started

    def feed(self, data: bytes) -> bytes:
        """16 kHz PCM for ``data`` (may be empty while a header is arriving); ValueError for a
        WAV that is not 16-bit PCM mono at 8 or 16 kHz."""
        if not self._started:
            self._start += data
            if len(self._start) < 4 and data:
                return b""
            if p.looks_like_wav(bytes(self._start)):
                found = p.wav_header(bytes(self._start))
                if found is None:
                    if len(self._start) > self.MAX_HEADER:
                        raise ValueError("WAV header without a data chunk in its first 64 KiB")
                    return b""
                if found.encoding != 1 or found.bits != 16 or found.channels != 1 or found.rate not in (8000, 16000):
                    raise ValueError(f"WAV audio is {found.bits}-bit, {found.channels} channel(s), {found.rate} Hz, "
                                     f"format {found.encoding}: send 16-bit PCM mono at 8 or 16 kHz")
                self.rate = found.rate
                data = bytes(self._start[found.data_offset:])
            else:
                data = bytes(self._start)
            self._started = True
            self._start = bytearray()
        data = self._odd + data
        if len(data) % 2:
            self._odd, data = data[-1:], data[:-1]
        else:
            self._odd = b""
        if self.rate == 16000 or not data:
            return data
        return self._upsample(np.frombuffer(data, dtype="<i2").astype(np.float64))

    def _upsample(self, samples: np.ndarray) -> bytes:
        buffer = np.concatenate([self._history, samples])
        taps = self.TAPS
        odd = np.convolve(buffer, self._weights, mode="valid")
        even = buffer[taps - 1: len(buffer) - taps]
        self._history = buffer[len(buffer) - 2 * taps + 1:]
        out = np.empty(2 * len(even), dtype=np.float64)
        out[0::2], out[1::2] = even, odd
        return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


def audio_rate(*types: str | None) -> int:
    """The sample rate a Media-Type / Content-Type names (``audio/raw; rate=8000``, ``audio/L16;
    rate=8000``, ``audio/pcm;samplerate=8000``); 16000 when none does."""
    for value in types:
        if not value:
            continue
        parameters = p.media_parameters(value)
        for name in ("rate", "samplerate", "sample-rate", "sample_rate"):
            if name in parameters:
                try:
                    rate = int(parameters[name])
                except ValueError:
                    raise ValueError(f"sample rate {parameters[name]!r} is not a number") from None
                if rate not in (8000, 16000):
                    raise ValueError(f"sample rate {rate} Hz: send 8000 or 16000")
                return rate
    return 16000


# --- one recognition ------------------------------------------------------------------------


@dataclass(slots=True)
class _Recognition:
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


class Session:
    """The sans-I/O ASR session (see the module docstring)."""

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
        self.recognition: _Recognition | None = None
        self.last_activity = now
        self.expired = False  # the idle timeout closed it
        self._counted = False  # holds one of engine.max_sessions
        self._pending: Callable[[], list[bytes]] | None = None  # decoding left for ``work``

    # --- the caller's interface -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """RELEASE_SESSION was answered, or the idle timeout ran out: close the connection."""
        return self.state == CLOSED

    @property
    def status(self) -> str:
        """The Session-Status every message carries."""
        return self.state if self.state in (IDLE, LISTENING, RECOGNIZING) else IDLE

    @property
    def pending(self) -> bool:
        """Work is left after the messages just returned (decoding after END_OF_SPEECH): send
        those, then call ``work``."""
        return self._pending is not None

    def work(self, now: float) -> list[bytes]:
        """Do the pending work (decode the ended segment); the messages it gives."""
        pending, self._pending = self._pending, None
        if pending is None or self.state == CLOSED:
            return []
        try:
            return pending()
        except Exception as exc:  # a fault of ours or of a back end: the session goes on
            return self._internal_error(p.SEND_AUDIO, exc)

    def receive(self, data: bytes, now: float) -> list[bytes]:
        """One client message as bytes; the messages to send, in order."""
        limit = self.config.server.max_message_bytes
        if len(data) > limit:
            name = _peek_name(data)
            self._note_error(p.ERR_BUFFER_OVERFLOW)
            return self._timers(now) + [self._response(name, p.INVALID_MESSAGE, p.ERR_BUFFER_OVERFLOW,
                                                       f"message of {len(data)} bytes is over the limit of {limit}")]
        try:
            message = p.parse_message(data)
        except p.ProtocolError as exc:
            self._note_error(p.ERR_INVALID_ARGUMENT)
            log.info("session %s: %s INVALID_MESSAGE: %s", self.handle, exc.method or "?", exc)
            return self._timers(now) + [self._response(exc.method or "UNKNOWN", p.INVALID_MESSAGE,
                                                       p.ERR_INVALID_ARGUMENT, str(exc))]
        return self.handle_message(message, now)

    def handle_message(self, message: p.Message, now: float) -> list[bytes]:
        """One parsed client message; the messages to send, in order."""
        if self.state == CLOSED:
            return []
        self.last_activity = now
        out = self.work(now) + self._timers(now)
        name = message.name
        if (self.state, name) not in TRANSITIONS:
            self.engine.metrics.count("requests", method=name, result=p.INVALID_ACTION)
            if name == p.SEND_AUDIO:
                return out + [self._response(name, p.INVALID_ACTION, p.ERR_NOT_LISTENING_AUDIO,
                                             f"no recognition is listening (session is {self.status})")]
            what = "no session: send CREATE_SESSION first" if self.state == NONE else f"not allowed while {self.status}"
            return out + [self._response(name, p.INVALID_ACTION, p.ERR_INVALID_STATE, f"{name}: {what}")]
        handler = getattr(self, "_on_" + name.lower())
        try:
            out += handler(message, now)
        except Refused as exc:
            self._note_error(exc.code)
            log.info("session %s: %s FAILURE %s: %s", self.handle, name, exc.code, exc)
            out.append(self._response(name, p.FAILURE, exc.code, str(exc)))
        except _Malformed as exc:
            self._note_error(p.ERR_INVALID_ARGUMENT)
            log.info("session %s: %s INVALID_MESSAGE: %s", self.handle, name, exc)
            out.append(self._response(name, p.INVALID_MESSAGE, p.ERR_INVALID_ARGUMENT, str(exc)))
        except Exception as exc:  # a fault of ours or of a back end: answered, and the session goes on
            out += self._internal_error(name, exc)
        if name != p.SEND_AUDIO:
            self.engine.metrics.count("requests", method=name, result=_result_of(out, name))
        return out

    def tick(self, now: float) -> list[bytes]:
        """Run the timers: results of timeouts; an idle session past its timeout is closed."""
        if self.state == CLOSED:
            return []
        out = self.work(now) + self._timers(now)
        if now - self.last_activity >= self.config.server.idle_timeout_s:  # nothing heard, in any state
            log.info("session %s: idle for %.0f s: closed", self.handle, now - self.last_activity)
            self.engine.metrics.count("sessions_expired")
            self.expired = True
            self.close()
        return out

    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do (the earliest timer), or None."""
        if self.state == CLOSED:
            return None
        deadlines = [self.last_activity + self.config.server.idle_timeout_s]
        recognition = self.recognition
        if recognition is not None and recognition.timers_from is not None:
            began = recognition.timers_from[0]
            settings = recognition.settings
            if settings.no_input_timeout_ms is not None and not recognition.speech_seen:
                deadlines.append(began + settings.no_input_timeout_ms / 1000)
            if settings.recognition_timeout_ms is not None:
                deadlines.append(began + settings.recognition_timeout_ms / 1000)
        return min(deadlines) if deadlines else None

    def close(self) -> None:
        """Free everything (idempotent): the recognition, the session's grammars, its licence."""
        self._end_recognition(cancel=True)
        if self.grammars is not None:
            self.grammars.release_all()
            self.grammars = None
        if self._counted:
            self._counted = False
            self.engine.close_session()
            log.info("session %s: closed", self.handle)
        self.state = CLOSED

    # --- handlers (one per message; the state check is done) ------------------------------

    def _on_create_session(self, message: p.Message, now: float) -> list[bytes]:
        if not self.engine.open_session():
            self.engine.metrics.count("sessions_refused")
            raise Refused(p.ERR_MAX_LICENSES, f"the server holds its maximum of {self.config.server.max_sessions} sessions")
        self._counted = True
        self.grammars = self.engine.store.session(f"asr-{self.handle}")
        self.engine.metrics.count("sessions")
        self._move(p.CREATE_SESSION)
        log.info("session %s: created (peer %s, user agent %s)", self.handle, self.peer,
                 message.get("User-Agent") or "-")
        return [self._response(message.name)]

    def _on_release_session(self, message: p.Message, now: float) -> list[bytes]:
        self._end_recognition(cancel=True)
        self.state = IDLE  # the RESPONSE reports IDLE, then the session closes
        response = self._response(message.name)
        log.info("session %s: released", self.handle)
        self.close()
        return [response]

    def _on_define_grammar(self, message: p.Message, now: float) -> list[bytes]:
        name = (message.get("Content-ID") or "").strip()
        if not name:
            raise _Malformed("DEFINE_GRAMMAR needs a Content-ID header (the grammar's name)")
        body = message.body
        if not body.strip():
            raise _Malformed("DEFINE_GRAMMAR needs a body: a grammar or a URI list")
        assert self.grammars is not None
        kind = message.content_type
        if kind == URI_LIST:
            uris = _uri_list(body)
            if any(uri.startswith(FREE_SPEECH_PREFIX) for uri in uris):
                raise Refused(p.ERR_INVALID_ARGUMENT, "a free-speech model cannot be defined as a session grammar")
            text: bytes = uri_list_grammar(uris).encode("utf-8")
        elif kind in GRAMMAR_TYPES:
            text = body
        else:
            raise Refused(p.ERR_INVALID_ARGUMENT, f"Content-Type {kind!r} is not a grammar type "
                          "(application/srgs, application/srgs+xml, text/uri-list, ...)")
        began = time.perf_counter()
        try:
            prepared = self.grammars.define(name, text)
        except (SrgsError, DecoderError, ValueError) as exc:
            raise Refused(error_code(exc), error_message(exc)) from None
        self.engine.metrics.observe("define_grammar", time.perf_counter() - began)
        log.info("session %s: grammar %s defined (%.3f s)", self.handle, prepared.name, time.perf_counter() - began)
        return [self._response(message.name)]

    def _on_set_parameters(self, message: p.Message, now: float) -> list[bytes]:
        items = [(key, value) for key, value in message.headers if key.lower() not in MESSAGE_HEADERS]
        try:
            names = self.parameters.update(items)
            self.parameters.settings()  # a combination the endpointer refuses is refused now
        except ParameterError as exc:
            raise Refused(exc.code, str(exc)) from None
        log.info("session %s: parameters set: %s", self.handle, ", ".join(names) or "none")
        return [self._response(message.name)]

    def _on_get_parameters(self, message: p.Message, now: float) -> list[bytes]:
        names = [key for key, _ in message.headers if key.lower() not in MESSAGE_HEADERS]
        try:
            values = self.parameters.render(names)
        except ParameterError as exc:
            raise Refused(exc.code, str(exc)) from None
        return [self._response(message.name, extra=values)]

    def _on_interpret_text(self, message: p.Message, now: float) -> list[bytes]:
        text = message.get("Text")
        if text is None:
            raise _Malformed("INTERPRET_TEXT needs a Text header (the text to interpret)")
        settings = self._settings_for(message)
        grammars, models = self._grammars_of(message)
        began = time.perf_counter()
        try:
            result = RecognitionResult(status="NO_MATCH")
            if grammars:
                activation = self.engine.store.activate(grammars, session=self.grammars, nbest=settings.max_sentences,
                                                        confidence_threshold=settings.confidence_threshold)
                result = activation.interpreter().interpret(text)
            if result.status == "NO_MATCH" and models and text.strip():
                result = free_speech_result(text, models[0])
        except (SrgsError, ValueError) as exc:
            raise Refused(error_code(exc), error_message(exc)) from None
        elapsed = time.perf_counter() - began
        self.engine.metrics.observe("interpret", elapsed)
        self.engine.metrics.count("interpretations", status=result.status)
        log.info("session %s: interpreted %d chars: %s (%.4f s)", self.handle, len(text), result.status, elapsed)
        body = ResultBody(status=result.status, result=result, text=text)
        return [self._response(message.name), self._result(body, message.get("Accept") or "")]

    def _on_start_recognition(self, message: p.Message, now: float) -> list[bytes]:
        settings = self._settings_for(message)
        try:
            rate = audio_rate(message.get("Media-Type"), settings.media_type)
        except ValueError as exc:
            raise Refused(p.ERROR_INVALID_PARAMETER_VALUE, f"Media-Type: {exc}") from None
        grammars, models = self._grammars_of(message)
        try:
            activation = self.engine.store.activate(grammars, session=self.grammars, nbest=settings.max_sentences,
                                                    confidence_threshold=settings.confidence_threshold) \
                if grammars else None
            decoder = self.decoders(activation, tuple(models))
        except (SrgsError, DecoderError, ValueError) as exc:
            raise Refused(error_code(exc), error_message(exc)) from None
        endpointer = Endpointer(replace(settings.endpointer, sample_rate=16000))
        self.recognition = _Recognition(settings=settings, accept=message.get("Accept") or "", decoder=decoder,
                                        endpointer=endpointer, audio=AudioInput(rate), started=now)
        if settings.start_input_timers:
            self.recognition.timers_from = (now, 0.0)
        self._move(p.START_RECOGNITION)
        names = [g.name for g in grammars] + list(models)
        log.info("session %s: recognition started with %s", self.handle, ", ".join(names))
        return [self._response(message.name)]

    def _on_start_input_timers(self, message: p.Message, now: float) -> list[bytes]:
        recognition = self.recognition
        assert recognition is not None
        if recognition.timers_from is None:
            recognition.timers_from = (now, recognition.seconds)
        return [self._response(message.name)]

    def _on_cancel_recognition(self, message: p.Message, now: float) -> list[bytes]:
        if self.recognition is None:
            return [self._response(message.name)]
        accept = self.recognition.accept
        index = self.recognition.segment_index
        self._end_recognition(cancel=True)
        self._move(p.CANCEL_RECOGNITION)
        self.engine.metrics.count("recognitions", status="CANCELED")
        log.info("session %s: recognition canceled", self.handle)
        # the RESPONSE, then a final CANCELED result with nothing in it: partial results are
        # discarded, and a client waiting for the final result is released (design choice)
        return [self._response(message.name),
                self._result(ResultBody(status="CANCELED", segment_index=index), accept)]

    def _on_send_audio(self, message: p.Message, now: float) -> list[bytes]:
        recognition = self.recognition
        assert recognition is not None
        last_text = message.get("LastPacket")
        try:
            last = p.parse_bool(last_text) if last_text is not None and last_text.strip() else False
        except ValueError:
            raise _Malformed(f"LastPacket: {last_text!r} is not a boolean (true or false)") from None
        try:
            if not recognition.audio.started and "rate" in (message.get("Content-Type") or "").lower():
                recognition.audio.rate = audio_rate(message.get("Content-Type"))
            pcm = recognition.audio.feed(message.body)
        except ValueError as exc:
            return self._fail_recognition(message.name, p.ERR_INVALID_ARGUMENT, str(exc))
        out: list[bytes] = []
        limit = self.config.server.max_audio_s
        room = max(0, int((limit - recognition.seconds) * 16000)) * 2
        over = len(pcm) > room
        pcm = pcm[:room]
        recognition.seconds += len(pcm) / 32000
        if recognition.timers_from is not None:
            out += self._timers(now)
            if self.recognition is not recognition:
                return out
        events = recognition.endpointer.feed(pcm) if pcm else []
        if last or over:
            events += recognition.endpointer.finish()
        return out + self._process(recognition, events, over=over, last=last)

    # --- the audio path -------------------------------------------------------------------

    def _process(self, recognition: _Recognition, events: list[Event], *, over: bool, last: bool) -> list[bytes]:
        """The endpointer's events in order. At an end of speech, END_OF_SPEECH is returned at
        once and decoding the segment (with the events after it) is left ``pending``, so that a
        server sends END_OF_SPEECH before the decoder's work and the client stops its audio."""
        out: list[bytes] = []
        for index, event in enumerate(events):
            if isinstance(event, SpeechEnded):
                out += self._feed(recognition, event.audio)
                if self.recognition is not recognition:
                    return out
                self._move(END_OF_SPEECH)
                log.info("session %s: end of speech at %.2f s (%s)", self.handle, event.at, event.reason)
                out.append(self._message(p.END_OF_SPEECH))
                self._pending = partial(self._segment_ended, recognition, event, events[index + 1:], over=over, last=last)
                return out
            out += self._on_speech_event(recognition, event)
            if self.recognition is not recognition:
                return out
        if over or last:  # no segment was open: nothing (more) to decode
            return out + self._final_without_speech(recognition, "MAX_SPEECH" if over else "NO_SPEECH")
        return out + self._partial(recognition)

    def _segment_ended(self, recognition: _Recognition, event: SpeechEnded, rest: list[Event], *, over: bool,
                       last: bool) -> list[bytes]:
        """Decode the segment that ``event`` ended, then go on with the events after it."""
        continuous = recognition.settings.continuous_mode
        status = "MAX_SPEECH" if over or (event.reason == "max_segment" and not continuous) else None
        out = self._finish_segment(recognition, status, end=event.at,
                                   last=not continuous or over or event.reason == "end_of_stream")
        if self.recognition is recognition:  # continuous mode: the recognition goes on
            out += self._process(recognition, rest, over=over, last=last)
        return out

    def _on_speech_event(self, recognition: _Recognition, event: Event) -> list[bytes]:
        if isinstance(event, SpeechStarted):
            head = recognition.settings.endpointer.head_margin_ms / 1000
            recognition.speech_seen = True
            recognition.segment_start = event.at
            recognition.segment_offset = max(0.0, event.at - head, recognition.last_end)
            recognition.segment_bytes = 0
            recognition.partial_mark = 0.0
            try:
                recognition.stream = recognition.decoder.stream(nbest=recognition.settings.max_sentences)
            except (DecoderError, NotImplementedError) as exc:
                return self._fail_recognition(p.SEND_AUDIO, p.ERR_INTERNAL_ERROR, f"the decoder cannot stream: {exc}")
            log.info("session %s: start of speech at %.2f s", self.handle, event.at)
            return self._feed(recognition, event.audio) + [self._message(p.START_OF_SPEECH)]
        if isinstance(event, SpeechAudio):
            return self._feed(recognition, event.audio)
        return []

    def _feed(self, recognition: _Recognition, audio: bytes) -> list[bytes]:
        if not audio or recognition.stream is None:
            return []
        try:
            recognition.stream.feed(audio)
        except DecoderError as exc:
            return self._fail_recognition(p.SEND_AUDIO, p.ERR_INTERNAL_ERROR, str(exc))
        recognition.segment_bytes += len(audio)
        return []

    def _partial(self, recognition: _Recognition) -> list[bytes]:
        interval = recognition.settings.partial_interval_ms
        stream = recognition.stream
        if interval is None or stream is None or self.state != LISTENING:
            return []
        fed = recognition.segment_bytes / 32000
        if fed - recognition.partial_mark < interval / 1000:
            return []
        recognition.partial_mark = fed
        try:
            found = stream.partial()
        except DecoderError as exc:
            log.warning("session %s: partial result failed: %s", self.handle, exc)
            return []
        if found is None:
            return []
        body = self._body_of(recognition, found, status="PROCESSING", final=False, last=False,
                             end=recognition.segment_offset + fed)
        return [self._result(body, recognition.accept)]

    def _finish_segment(self, recognition: _Recognition, status: str | None, *, end: float,
                        last: bool) -> list[bytes]:
        """Decode the open segment: its RECOGNITION_RESULT; the recognition ends when ``last``."""
        stream, recognition.stream = recognition.stream, None
        began = time.perf_counter()
        try:
            if stream is None:
                raise DecoderError("no audio reached the decoder")
            found = stream.finish()
        except (DecoderError, SrgsError, ValueError) as exc:
            log.warning("session %s: decoding failed: %s", self.handle, exc)
            self._note_error(p.ERR_INTERNAL_ERROR)
            found = None
        elapsed = time.perf_counter() - began
        recognition.last_end = recognition.segment_offset + recognition.segment_bytes / 32000
        if found is None:
            body = ResultBody(status="FAILURE", segment_index=recognition.segment_index, last_segment=last,
                              start_time=recognition.segment_start, end_time=end)
        else:
            body = self._body_of(recognition, found, status=status, final=True, last=last, end=end)
        self.engine.metrics.observe("recognition", elapsed)
        self.engine.metrics.count("recognitions", status=body.status)
        log.info("session %s: segment %d: %s (decoded in %.3f s)", self.handle, recognition.segment_index,
                 body.status, elapsed)
        recognition.segment_index += 1
        if last:
            self._end_recognition(cancel=False)
            self._move(FINAL)
        else:
            self._move(SEGMENT_DONE)
        return [self._result(body, recognition.accept)]

    def _final_without_speech(self, recognition: _Recognition, status: str) -> list[bytes]:
        """End the recognition with a result that holds no speech (timeouts, no speech, the
        last of a continuous recognition)."""
        if self.recognition is not recognition:
            return []
        self._end_recognition(cancel=True)
        self._move(FINAL)
        self.engine.metrics.count("recognitions", status=status)
        log.info("session %s: recognition ended: %s", self.handle, status)
        body = ResultBody(status=status, segment_index=recognition.segment_index, last_segment=True)
        return [self._result(body, recognition.accept)]

    def _body_of(self, recognition: _Recognition, found: Recognition, *, status: str | None, final: bool,
                 last: bool, end: float) -> ResultBody:
        result = _thresholded(found.result, recognition.settings.confidence_threshold)
        if status is None:
            status = result.status
        return ResultBody(status=status, result=result, words=found.words,
                          word_details=recognition.settings.word_details, segment_index=recognition.segment_index,
                          last_segment=last, final=final, start_time=recognition.segment_start, end_time=end,
                          time_offset=recognition.segment_offset)

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

    def _timers(self, now: float) -> list[bytes]:
        recognition = self.recognition
        if recognition is None or recognition.timers_from is None:
            return []
        began, audio_began = recognition.timers_from
        elapsed = max(now - began, recognition.seconds - audio_began)  # audio sent faster than real time counts
        settings = recognition.settings
        if settings.no_input_timeout_ms is not None and not recognition.speech_seen \
                and elapsed >= settings.no_input_timeout_ms / 1000:
            return self._final_without_speech(recognition, "NO_INPUT_TIMEOUT")
        if settings.recognition_timeout_ms is not None and elapsed >= settings.recognition_timeout_ms / 1000:
            if recognition.stream is not None:
                self._move(END_OF_SPEECH)
                end = recognition.endpointer.seconds
                self._pending = lambda: self._finish_segment(recognition, "RECOGNITION_TIMEOUT", end=end, last=True)
                return [self._message(p.END_OF_SPEECH)]
            return self._final_without_speech(recognition, "RECOGNITION_TIMEOUT")
        return []

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

    # --- grammars and parameters ----------------------------------------------------------

    def _settings_for(self, message: p.Message) -> RecognitionSettings:
        """The session's parameters with the message's own on top (for this request only)."""
        items = [(key, value) for key, value in message.headers
                 if key.lower() not in MESSAGE_HEADERS and ("." in key or self.parameters.lookup(key) is not None)]
        try:
            return self.parameters.overlaid(items).settings()
        except ParameterError as exc:
            raise Refused(exc.code, str(exc)) from None

    def _grammars_of(self, message: p.Message) -> tuple[list[PreparedGrammar], list[str]]:
        """The grammars a START_RECOGNITION / INTERPRET_TEXT names (prepared) and its free-speech models."""
        body = message.body
        if not body.strip():
            raise Refused(p.ERR_NO_ACTIVE_LM, f"{message.name} names no grammar: send a URI list "
                          "(Content-Type: text/uri-list) or an inline grammar")
        kind = message.content_type
        began = time.perf_counter()
        try:
            if kind == URI_LIST:
                prepared: list[PreparedGrammar] = []
                models: list[str] = []
                for uri in _uri_list(body):
                    if uri.startswith(FREE_SPEECH_PREFIX):
                        models.append(uri)
                    elif uri.startswith("session:") and (self.grammars is None or self.grammars.get(uri) is None):
                        raise Refused(p.ERR_FILE_OPEN, f"{uri}: no grammar of that name was defined in this session")
                    else:
                        prepared.append(self.engine.store.prepare(uri, session=self.grammars))
                if not prepared and not models:
                    raise Refused(p.ERR_NO_ACTIVE_LM, "the URI list names no grammar")
                return prepared, models
            if kind not in GRAMMAR_TYPES:
                raise Refused(p.ERR_INVALID_ARGUMENT, f"Content-Type {kind!r} is not a grammar type "
                              "(text/uri-list, application/srgs, application/srgs+xml, ...)")
            name = (message.get("Content-ID") or "").strip() or "inline"
            return [self.engine.store.prepare_text(body, name=name, session=self.grammars)], []
        except (SrgsError, DecoderError, ValueError) as exc:
            raise Refused(error_code(exc), error_message(exc)) from None
        finally:
            self.engine.metrics.observe("prepare_grammars", time.perf_counter() - began)

    # --- messages -------------------------------------------------------------------------

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


class _Malformed(Exception):
    """A message whose headers or body cannot be used as they are (INVALID_MESSAGE)."""


def _peek_name(data: bytes) -> str:
    first = data[:200].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    return first[2].upper() if len(first) >= 3 and first[2].replace("_", "").isalpha() else "UNKNOWN"


def _result_of(out: list[bytes], method: str) -> str:
    """The Result of the RESPONSE to ``method`` among the messages ``out``."""
    for encoded in out:
        head = encoded.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
        if head[0].endswith(p.RESPONSE) and f"Method: {method}" in head:
            return next((line[8:] for line in head if line.startswith("Result: ")), "")
    return ""


def _uri_list(body: bytes) -> list[str]:
    """The URIs of a ``text/uri-list`` body (RFC 2483: one a line, ``#`` lines are comments)."""
    text = body.decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def uri_list_grammar(uris: Sequence[str]) -> str:
    """A grammar that is any of ``uris`` with its value (what DEFINE_GRAMMAR with a URI list defines)."""
    if not uris:
        raise Refused(p.ERR_NO_ACTIVE_LM, "the URI list names no grammar")
    for uri in uris:
        if any(ch in uri for ch in "<> \t"):
            raise Refused(p.ERR_INVALID_ARGUMENT, f"not a grammar URI: {uri[:80]!r}")
    mode = "dtmf" if all(uri.startswith("builtin:dtmf/") for uri in uris) else "voice"
    language = next((found.group(1) for uri in uris if (found := re.search(r"[?;]lang=([A-Za-z-]+)", uri))), "en-US")
    alternatives = " | ".join(f"$<{uri}> {{out = rules.latest();}}" for uri in uris)
    return (f"#ABNF 1.0 UTF-8;\nlanguage {language};\nmode {mode};\ntag-format <semantics/1.0>;\nroot $main;\n"
            f"public $main = {alternatives};\n")


def free_speech_result(text: str, model: str) -> RecognitionResult:
    """INTERPRET_TEXT against a free-speech model: the text is its own interpretation."""
    words = " ".join(text.split())
    reading = Interpretation(value=words, score=100, tree=ParseRule(name=model, label=f"$<{model}>", grammar=model,
                                                                    children=()))
    return RecognitionResult(status="RECOGNIZED", alternatives=(
        Alternative(text=words, score=100, lm=model, interpretations=(reading,)),))


def _thresholded(result: RecognitionResult, threshold: int) -> RecognitionResult:
    """Alternatives under ``decoder.confidenceThreshold`` dropped (none left: NO_MATCH)."""
    if result.status != "RECOGNIZED" or threshold <= 0:
        return result
    kept = tuple(alt for alt in result.alternatives if alt.score >= threshold)
    if kept:
        return replace(result, alternatives=kept)
    return replace(result, status="NO_MATCH", alternatives=())


__all__ = ["AudioInput", "DecoderFactory", "Refused", "Session", "TRANSITIONS", "audio_rate", "error_code",
           "free_speech_result", "uri_list_grammar"]
