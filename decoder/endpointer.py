"""Endpointing: where speech starts and ends in a stream of audio (energy-based voice activity).

An ``Endpointer`` takes 16-bit little-endian mono PCM in chunks of any size (``feed``) and returns
events: ``SpeechStarted`` when a segment of speech opens (with the head margin and the speech so
far), ``SpeechAudio`` with more audio of the open segment, ``SpeechEnded`` when it closes (after
``wait_end_ms`` of silence, at ``max_segment_ms``, or at ``finish()``, the end of the stream).
Concatenating the audio of one segment's events gives that segment's audio, contiguous, from
``head_margin_ms`` before the speech to ``tail_margin_ms`` after it. After a ``SpeechEnded`` more
audio may open a new segment (continuous mode). It is pure: no threads, no clock, no globals;
times are seconds of audio from the start of the stream.

How it decides:

- The audio is cut into 10 ms frames (80 samples at 8 kHz, 160 at 16 kHz, any rate that is a
  multiple of 100 Hz); a frame's *level* is its RMS in dB relative to full scale (dBFS: a
  full-scale square wave is 0 dB, a full-scale sine -3 dB, digital silence -100 dB).
- ``level_mode`` 2 (*fixed*, the default): a frame is loud when its level is at least
  ``level_threshold`` dBFS (default -40 dBFS: telephone speech is usually -30..-10 dBFS and a
  quiet line below -50).
- ``level_mode`` 1 (*automatic*): the threshold follows the noise: it is the noise floor plus
  ``auto_margin_db`` (default 12 dB), but never below ``AUTO_MIN_THRESHOLD_DB`` (-60 dBFS, so that
  the hiss over digital silence is not speech). The noise floor is the lowest 50 ms average level
  of the last ``auto_level_len_ms`` of audio (minimum statistics: speech has pauses, so the
  minimum over a few seconds is the background), so it rises with a louder background after at
  most that long and falls at once when the background quietens. ``level_threshold`` is not used.
- ``level_mode`` 0 or ``enabled=False``: no detection; all audio is speech from the first sample
  (one segment, still cut at ``max_segment_ms``).
- Speech starts when loud frames add up to ``MIN_SPEECH_MS`` (50 ms) with gaps of at most
  ``MAX_START_GAP_MS`` (20 ms) between them, so a click does not open a segment; the start time
  (``SpeechStarted.at``) is the first of those frames. Inside a segment any loud frame is speech;
  ``wait_end_ms`` of frames that are not loud end it, and ``SpeechEnded.at`` is the end of the
  last loud frame. A segment longer than ``max_segment_ms`` (counted from its start) is ended
  there (reason ``"max_segment"``) and, if the speech goes on, the next one starts at once.

Cost: one numpy pass per ``feed`` over its complete frames plus a few Python operations per
frame: measured 8 (fixed) to 10 (automatic) microseconds of CPU per 10 ms frame fed in 20 ms
chunks, 0.1 % of a core per real-time stream (``benchmarks/bench_endpointer.py``).
Memory: the audio not yet returned, at most the head margin plus ``MIN_SPEECH_MS`` outside speech
and up to ``wait_end_ms`` inside it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

FRAME_MS = 10
MIN_SPEECH_MS = 50  # loud frames that open a segment
MAX_START_GAP_MS = 20  # longest quiet gap inside the frames that open a segment
SMOOTH_MS = 50  # the automatic noise floor is the lowest average level over this long
AUTO_MIN_THRESHOLD_DB = -60.0
SILENCE_DB = -100.0  # the level of digital silence
_FULL_SCALE_POWER = 32768.0 * 32768.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointerSettings:
    """The ``endpointer.*`` parameters (milliseconds and dBFS); see the module docstring."""

    enabled: bool = True  # False: all audio is speech from the first sample
    head_margin_ms: int = 200  # audio kept before the detected start
    tail_margin_ms: int = 400  # audio kept after the detected end
    wait_end_ms: int = 1000  # silence that ends speech
    level_mode: int = 2  # 0 off (= enabled False), 1 automatic (adaptive noise floor), 2 fixed threshold
    level_threshold: float = -40.0  # fixed mode: a frame at least this loud (dBFS) is speech
    auto_level_len_ms: int = 5000  # automatic mode: the noise floor is the minimum over this window
    max_segment_ms: int = 60000  # longest speech segment, then SpeechEnded(reason="max_segment")
    sample_rate: int = 16000
    auto_margin_db: float = 12.0  # automatic mode: speech is this far above the noise floor

    def __post_init__(self) -> None:
        for name in ("head_margin_ms", "tail_margin_ms", "wait_end_ms", "auto_level_len_ms", "max_segment_ms",
                     "sample_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"endpointer {name} must be a whole number >= 0, got {value!r}")
        if self.level_mode not in (0, 1, 2) or isinstance(self.level_mode, bool):
            raise ValueError(f"endpointer level_mode must be 0 (off), 1 (automatic) or 2 (fixed), got {self.level_mode!r}")
        for name in ("level_threshold", "auto_margin_db"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"endpointer {name} must be a finite number of dB, got {value!r}")
        if self.sample_rate <= 0 or self.sample_rate % 100:
            raise ValueError(f"endpointer sample_rate must be a positive multiple of 100 Hz, got {self.sample_rate}")
        if self.max_segment_ms < FRAME_MS:
            raise ValueError(f"endpointer max_segment_ms must be at least {FRAME_MS}, got {self.max_segment_ms}")
        if self.wait_end_ms < FRAME_MS:
            raise ValueError(f"endpointer wait_end_ms must be at least {FRAME_MS}, got {self.wait_end_ms}")

    @property
    def detects(self) -> bool:
        """Whether speech is detected (False: all audio is speech)."""
        return self.enabled and self.level_mode != 0


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """A segment opened: ``at`` its start (seconds); ``audio`` the head margin and the speech so far."""

    at: float
    audio: bytes


@dataclass(frozen=True, slots=True)
class SpeechAudio:
    """More audio of the open segment."""

    audio: bytes


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """The segment closed: ``at`` the end of its speech (seconds; for ``"max_segment"`` where it was
    cut); ``audio`` the rest of the segment, tail margin included."""

    at: float
    audio: bytes
    reason: Literal["silence", "max_segment", "end_of_stream"]


Event = SpeechStarted | SpeechAudio | SpeechEnded


class Endpointer:
    """Voice activity detection over a stream of 16-bit little-endian mono PCM."""

    def __init__(self, settings: EndpointerSettings) -> None:
        self.settings = settings
        rate = settings.sample_rate
        self._frame = rate // 100  # samples per 10 ms frame

        def frames(ms: int) -> int:
            return max(0, (ms + FRAME_MS - 1) // FRAME_MS)

        self._head = settings.head_margin_ms * rate // 1000  # samples
        self._tail = settings.tail_margin_ms * rate // 1000
        self._wait_frames = frames(settings.wait_end_ms)
        self._tail_frames = frames(settings.tail_margin_ms)
        self._max_samples = settings.max_segment_ms * rate // 1000
        self._min_frames = frames(MIN_SPEECH_MS)
        self._max_gap = frames(MAX_START_GAP_MS)
        self._smooth = max(1, frames(SMOOTH_MS))
        self._window = max(self._smooth, frames(settings.auto_level_len_ms))
        # the stream
        self._audio = bytearray()  # samples [_base, _pos + pending) as bytes
        self._base = 0  # sample index of _audio[0]
        self._pos = 0  # samples cut into frames so far
        self._odd = b""  # a trailing odd byte
        self._finished = False
        # the segment and the frames that may open one
        self._open = False
        self._start = 0  # sample where the open segment's speech started
        self._sent = 0  # samples of the open segment already returned
        self._last_loud = 0  # sample after the last loud frame of the open segment
        self._boundary = 0  # no segment's audio reaches before this sample (the previous one's end)
        self._run_start = -1  # first loud frame (sample) of a run that may open a segment; -1 none
        self._run_loud = 0  # loud frames in that run
        self._run_last = 0  # sample after the run's last loud frame
        # the automatic level: recent frame powers (for the 50 ms average) and a sliding minimum
        self._recent: deque[float] = deque(maxlen=self._smooth)
        self._minima: deque[tuple[int, float]] = deque()  # (frame index, average level), increasing
        self._frames = 0

    # --- public -------------------------------------------------------------------------------

    @property
    def seconds(self) -> float:
        """Seconds of audio fed so far."""
        return (self._pos + self._pending()) / self.settings.sample_rate

    @property
    def in_speech(self) -> bool:
        """Whether a segment is open."""
        return self._open

    @property
    def noise_floor(self) -> float | None:
        """The automatic mode's current noise floor (dBFS); None before the first frame."""
        return self._minima[0][1] if self._minima else None

    def feed(self, pcm: bytes) -> list[Event]:
        """Add audio; the events it causes, in order."""
        if self._finished:
            raise ValueError("the endpointer has finished: make a new one for a new stream")
        data = self._odd + bytes(pcm)
        if len(data) % 2:
            self._odd, data = data[-1:], data[:-1]
        else:
            self._odd = b""
        self._audio += data
        events: list[Event] = []
        if not self.settings.detects:
            self._pass_through(events, final=False)
            return events
        complete = self._pending() // self._frame
        if complete:
            self._frames_of(complete, events)
        self._flush(events)
        self._trim()
        return events

    def finish(self) -> list[Event]:
        """End of the stream: the last partial frame is judged and an open segment is closed
        (reason ``"end_of_stream"``). The endpointer takes no more audio afterwards."""
        if self._finished:
            return []
        self._finished = True
        self._odd = b""
        events: list[Event] = []
        if not self.settings.detects:
            self._pass_through(events, final=True)
            return events
        if self._pending():
            self._frames_of(1, events, partial=True)
        if self._open:
            self._close(events, "end_of_stream")
        self._trim()
        return events

    # --- frames ---------------------------------------------------------------------------------

    def _pending(self) -> int:
        """Samples fed but not yet cut into frames."""
        return self._base + len(self._audio) // 2 - self._pos

    def _bytes(self, start: int, end: int) -> bytes:
        return bytes(self._audio[2 * (start - self._base): 2 * (end - self._base)])

    def _frames_of(self, count: int, events: list[Event], *, partial: bool = False) -> None:
        """Judge ``count`` frames from ``_pos`` (one short frame when ``partial``)."""
        size = self._pending() if partial else self._frame
        offset = 2 * (self._pos - self._base)
        samples = np.frombuffer(bytes(self._audio[offset: offset + 2 * size * count]), dtype="<i2")
        powers = np.square(samples.astype(np.float64)).reshape(count, size).mean(axis=1) / _FULL_SCALE_POWER
        levels = 10.0 * np.log10(np.maximum(powers, 10.0 ** (SILENCE_DB / 10.0)))
        automatic = self.settings.level_mode == 1
        fixed = float(self.settings.level_threshold)
        for index in range(count):
            level = float(levels[index])
            if automatic:
                threshold = max(self._track_floor(float(powers[index])) + self.settings.auto_margin_db,
                                AUTO_MIN_THRESHOLD_DB)
            else:
                threshold = fixed
            start = self._pos
            self._pos += size
            self._frame_done(start, level >= threshold, events)

    def _track_floor(self, power: float) -> float:
        """Add a frame to the automatic level; the noise floor (dBFS) including it."""
        self._recent.append(power)
        average = 10.0 * math.log10(max(sum(self._recent) / len(self._recent), 10.0 ** (SILENCE_DB / 10.0)))
        index = self._frames
        self._frames += 1
        while self._minima and self._minima[-1][1] >= average:
            self._minima.pop()
        self._minima.append((index, average))
        while self._minima[0][0] <= index - self._window:
            self._minima.popleft()
        return self._minima[0][1]

    def _frame_done(self, start: int, loud: bool, events: list[Event]) -> None:
        end = self._pos
        if self._open:
            if loud:
                self._last_loud = end
            elif end - self._last_loud >= self._wait_frames * self._frame and \
                    end - self._last_loud >= self._tail_frames * self._frame:
                self._close(events, "silence")
                return
            if end - self._start >= self._max_samples:
                self._close(events, "max_segment")
            return
        if loud:
            if self._run_start < 0 or start - self._run_last > self._max_gap * self._frame:
                self._run_start, self._run_loud = start, 0
            self._run_loud += 1
            self._run_last = end
            if self._run_loud >= self._min_frames:
                self._open_segment(events)
        elif self._run_start >= 0 and end - self._run_last > self._max_gap * self._frame:
            self._run_start = -1

    def _open_segment(self, events: list[Event]) -> None:
        self._open = True
        self._start = self._run_start
        self._last_loud = self._run_last
        self._run_start = -1
        begin = max(self._start - self._head, self._boundary, self._base)
        self._sent = self._pos
        events.append(SpeechStarted(at=self._start / self.settings.sample_rate, audio=self._bytes(begin, self._pos)))
        if self._pos - self._start >= self._max_samples:
            self._close(events, "max_segment")

    def _close(self, events: list[Event], reason: Literal["silence", "max_segment", "end_of_stream"]) -> None:
        if reason == "max_segment":
            end = at = self._pos
        else:
            end, at = min(self._pos, self._last_loud + self._tail), self._last_loud
        end = max(end, self._sent)
        events.append(SpeechEnded(at=at / self.settings.sample_rate, audio=self._bytes(self._sent, end), reason=reason))
        self._open = False
        self._boundary = end
        self._sent = end
        self._run_start = -1

    def _flush(self, events: list[Event]) -> None:
        """Return the open segment's new audio, holding back silence past the tail margin."""
        if not self._open:
            return
        end = min(self._pos, self._last_loud + self._tail)
        if end > self._sent:
            events.append(SpeechAudio(audio=self._bytes(self._sent, end)))
            self._sent = end

    def _trim(self) -> None:
        """Forget audio no segment can need any more."""
        if self._open:
            keep = self._sent
        else:
            keep = self._run_start if self._run_start >= 0 else self._pos
            keep = max(self._boundary, keep - self._head)
        keep = min(keep, self._pos)
        if keep > self._base:
            del self._audio[: 2 * (keep - self._base)]
            self._base = keep

    def _pass_through(self, events: list[Event], *, final: bool) -> None:
        """No detection: every sample is speech, cut at ``max_segment_ms``."""
        total = self._base + len(self._audio) // 2
        while self._pos < total:
            if not self._open:
                self._open, self._start, self._sent = True, self._pos, self._pos
                end = min(total, self._start + self._max_samples)
                self._pos = end
                events.append(SpeechStarted(at=self._start / self.settings.sample_rate, audio=self._bytes(self._start, end)))
            else:
                end = min(total, self._start + self._max_samples)
                self._pos = end
                events.append(SpeechAudio(audio=self._bytes(self._sent, end)))
            self._sent = end
            self._last_loud = end
            if end - self._start >= self._max_samples:
                self._close(events, "max_segment")
        if final and self._open:
            self._close(events, "end_of_stream")
        del self._audio[: 2 * (self._pos - self._base)]
        self._base = self._pos


__all__ = ["AUTO_MIN_THRESHOLD_DB", "Endpointer", "EndpointerSettings", "Event", "SpeechAudio", "SpeechEnded",
           "SpeechStarted"]
