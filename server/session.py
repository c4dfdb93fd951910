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

The states and every transition are the table of ``server.states``: a message the current state
does not allow is answered ``INVALID_ACTION`` and changes nothing; a message that cannot be read
is answered ``INVALID_MESSAGE`` and the session goes on.

This module is the caller's interface and one handler per client message. The rest is built
underneath: ``server.session_state`` (what a session holds, the messages it sends),
``server.audio_path`` (endpointer events, decoder streams, partial and segment results, acting
on ``server.timers``), ``server.audio_input`` (SEND_AUDIO bodies to 16 kHz PCM),
``server.activation`` (URI lists, activation, free speech) and ``server.errors``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from decoder.base import DecoderError, DecoderSession
from decoder.endpointer import Endpointer
from srgs.errors import SrgsError

from . import protocol as p
from .activation import (
    GRAMMAR_TYPES,
    URI_LIST,
    activate,
    free_speech_result,
    interpret_text,
    is_free_speech,
    prepare_grammars,
    uri_list,
    uri_list_grammar,
)
from .audio_input import AudioInput, audio_rate
from .audio_path import AudioPath
from .errors import Malformed, Refused, error_code, refused
from .parameters import ParameterError, RecognitionSettings
from .results import ResultBody
from .session_state import ActiveRecognition, DecoderFactory
from .states import CLOSED, IDLE, NONE, TRANSITIONS
from .timers import deadlines as timer_deadlines

if TYPE_CHECKING:
    from interpreter.store import Activation, PreparedGrammar

log = logging.getLogger("srgs.server")


# Headers of START_RECOGNITION / INTERPRET_TEXT that are the message's, not recognition parameters.
MESSAGE_HEADERS = frozenset({"accept", "content-type", "content-id", "content-length", "text", "handle", "user-agent"})


class Session(AudioPath):
    """The sans-I/O ASR session (see the module docstring)."""

    # --- the caller's interface -----------------------------------------------------------

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
        except Malformed as exc:
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
        idle = self.last_activity + self.config.server.idle_timeout_s
        recognition = self.recognition
        return min([idle, *(timer_deadlines(recognition) if recognition is not None else [])])

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
            raise Malformed("DEFINE_GRAMMAR needs a Content-ID header (the grammar's name)")
        body = message.body
        if not body.strip():
            raise Malformed("DEFINE_GRAMMAR needs a body: a grammar or a URI list")
        assert self.grammars is not None
        kind = message.content_type
        if kind == URI_LIST:
            uris = uri_list(body)
            if any(is_free_speech(uri) for uri in uris):
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
            raise refused(exc) from None
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
            raise Malformed("INTERPRET_TEXT needs a Text header (the text to interpret)")
        settings = self._settings_for(message)
        grammars, models = self._grammars_of(message)
        began = time.perf_counter()
        try:
            result = interpret_text(self._activate(grammars, settings), models, text)
        except (SrgsError, ValueError) as exc:
            raise refused(exc) from None
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
            decoder = self._decoder_for(self._activate(grammars, settings), tuple(models), settings)
        except (SrgsError, DecoderError, ValueError) as exc:
            raise refused(exc) from None
        endpointer = Endpointer(replace(settings.endpointer, sample_rate=16000))
        self.recognition = ActiveRecognition(settings=settings, accept=message.get("Accept") or "",
                                             decoder=decoder, endpointer=endpointer, audio=AudioInput(rate), started=now)
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
            raise Malformed(f"LastPacket: {last_text!r} is not a boolean (true or false)") from None
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

    # --- grammars and parameters ----------------------------------------------------------

    def _settings_for(self, message: p.Message) -> RecognitionSettings:
        """The session's parameters with the message's own on top (for this request only)."""
        items = [(key, value) for key, value in message.headers
                 if key.lower() not in MESSAGE_HEADERS and ("." in key or self.parameters.lookup(key) is not None)]
        try:
            return self.parameters.overlaid(items).settings()
        except ParameterError as exc:
            raise Refused(exc.code, str(exc)) from None

    def _decoder_for(self, activation: Activation | None, models: tuple[str, ...],
                     settings: RecognitionSettings) -> DecoderSession:
        """The recognition's decoder; ``hints.words`` go to it as ``word_boosts`` when there are any
        (a factory that takes no boosts is called as before)."""
        if not settings.word_boosts:
            return self.decoders(activation, models)
        return self.decoders(activation, models, word_boosts=dict(settings.word_boosts))

    def _activate(self, grammars: list[PreparedGrammar], settings: RecognitionSettings) -> Activation | None:
        return activate(self.engine.store, grammars, session=self.grammars, nbest=settings.max_sentences,
                        confidence_threshold=settings.confidence_threshold)

    def _grammars_of(self, message: p.Message) -> tuple[list[PreparedGrammar], list[str]]:
        """The grammars a START_RECOGNITION / INTERPRET_TEXT names (prepared) and its free-speech models."""
        body = message.body
        if not body.strip():
            raise Refused(p.ERR_NO_ACTIVE_LM, f"{message.name} names no grammar: send a URI list "
                          "(Content-Type: text/uri-list) or an inline grammar")
        began = time.perf_counter()
        try:
            return prepare_grammars(self.engine.store, body, message.content_type,
                                    name=(message.get("Content-ID") or "").strip() or "inline", session=self.grammars)
        except (SrgsError, DecoderError, ValueError) as exc:
            raise refused(exc) from None
        finally:
            self.engine.metrics.observe("prepare_grammars", time.perf_counter() - began)


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


# Importable from here as before the session layer was split in modules.
__all__ = ["AudioInput", "DecoderFactory", "Refused", "Session", "TRANSITIONS", "audio_rate", "error_code",
           "free_speech_result", "uri_list_grammar"]
