"""The audio path of a recognition: endpointer events -> decoder streams -> RECOGNITION_RESULTs.

SEND_AUDIO audio goes through the endpointer (``decoder.endpointer``); at a start of speech a
decoder stream opens for the segment (START_OF_SPEECH), speech feeds it (with partial results
every ``partialResultInterval``), and at an end of speech END_OF_SPEECH is sent at once and the
segment's decoding is left pending (``Session.work``), so the client stops its audio before the
decoder's work. In continuous mode a segment's result goes back to LISTENING for the next one.
The input timers (``server.timers``) end a recognition the same way. The state changes are the
table's (``server.states``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from functools import partial

from decoder.base import DecoderError, Recognition
from decoder.endpointer import Event, SpeechAudio, SpeechEnded, SpeechStarted
from interpreter.results import RecognitionResult
from srgs.errors import SrgsError

from . import protocol as p
from .results import ResultBody
from .session_state import ActiveRecognition, SessionState
from .states import END_OF_SPEECH, FINAL, LISTENING, SEGMENT_DONE
from .timers import expired_timer

log = logging.getLogger("srgs.server")


class AudioPath(SessionState):
    """A session's recognition: its audio, speech segments, results and timers."""

    def _timers(self, now: float) -> list[bytes]:
        """Act on an input timer that has run out: the recognition ends with its Result-Status
        (a recognition timeout with speech open decodes what was heard, after END_OF_SPEECH)."""
        recognition = self.recognition
        if recognition is None:
            return []
        expired = expired_timer(recognition, now)
        if expired == "RECOGNITION_TIMEOUT" and recognition.stream is not None:
            self._move(END_OF_SPEECH)
            end = recognition.endpointer.seconds
            self._pending = lambda: self._finish_segment(recognition, "RECOGNITION_TIMEOUT", end=end, last=True)
            return [self._message(p.END_OF_SPEECH)]
        if expired is not None:
            return self._final_without_speech(recognition, expired)
        return []

    def _process(self, recognition: ActiveRecognition, events: list[Event], *, over: bool, last: bool) -> list[bytes]:
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

    def _segment_ended(self, recognition: ActiveRecognition, event: SpeechEnded, rest: list[Event], *, over: bool,
                       last: bool) -> list[bytes]:
        """Decode the segment that ``event`` ended, then go on with the events after it."""
        continuous = recognition.settings.continuous_mode
        status = "MAX_SPEECH" if over or (event.reason == "max_segment" and not continuous) else None
        out = self._finish_segment(recognition, status, end=event.at,
                                   last=not continuous or over or event.reason == "end_of_stream")
        if self.recognition is recognition:  # continuous mode: the recognition goes on
            out += self._process(recognition, rest, over=over, last=last)
        return out

    def _on_speech_event(self, recognition: ActiveRecognition, event: Event) -> list[bytes]:
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

    def _feed(self, recognition: ActiveRecognition, audio: bytes) -> list[bytes]:
        if not audio or recognition.stream is None:
            return []
        try:
            recognition.stream.feed(audio)
        except DecoderError as exc:
            return self._fail_recognition(p.SEND_AUDIO, p.ERR_INTERNAL_ERROR, str(exc))
        recognition.segment_bytes += len(audio)
        return []

    def _partial(self, recognition: ActiveRecognition) -> list[bytes]:
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

    def _finish_segment(self, recognition: ActiveRecognition, status: str | None, *, end: float,
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

    def _final_without_speech(self, recognition: ActiveRecognition, status: str) -> list[bytes]:
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

    def _body_of(self, recognition: ActiveRecognition, found: Recognition, *, status: str | None, final: bool,
                 last: bool, end: float) -> ResultBody:
        result = _thresholded(found.result, recognition.settings.confidence_threshold)
        if status is None:
            status = result.status
        return ResultBody(status=status, result=result, words=found.words,
                          word_details=recognition.settings.word_details, segment_index=recognition.segment_index,
                          last_segment=last, final=final, start_time=recognition.segment_start, end_time=end,
                          time_offset=recognition.segment_offset)


def _thresholded(result: RecognitionResult, threshold: int) -> RecognitionResult:
    """Alternatives under ``decoder.confidenceThreshold`` dropped (none left: NO_MATCH)."""
    if result.status != "RECOGNIZED" or threshold <= 0:
        return result
    kept = tuple(alt for alt in result.alternatives if alt.score >= threshold)
    if kept:
        return replace(result, alternatives=kept)
    return replace(result, status="NO_MATCH", alternatives=())
