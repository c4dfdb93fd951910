"""Streaming for back ends that decode whole utterances: ``BufferedStream``.

A back end whose search needs the whole utterance (or that has no incremental API) still offers
``DecoderSession.stream()`` by returning a ``BufferedStream`` over its ``decode``: ``feed`` only
appends the audio, ``finish`` decodes all of it at once (so its result is exactly what ``decode``
gives for the same audio), and ``partial`` decodes what has arrived so far.

Cost of ``partial``: each call that computes a new hypothesis decodes *all* the audio so far, so
it is rate-limited by audio time: a new hypothesis is computed only when at least
``partial_interval`` seconds of audio (default 0.5 s) arrived since the last one; in between the
previous one is returned again. Over a T-second utterance polled continuously that is about
T / partial_interval decodes of growing length, ``RTF * T**2 / (2 * partial_interval)`` seconds
of CPU in all (for RTF 0.03 and T = 5 s: 0.75 s). Back ends with an incremental search (the
pocketsphinx back end) implement their own stream instead, where a partial costs a backtrace.
Pure: no threads and no clock; the audio is kept until ``finish`` or ``cancel``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from decoder.audio import Audio
from decoder.base import DecoderError, Recognition

DEFAULT_PARTIAL_INTERVAL = 0.5  # seconds of new audio between two partial decodes


class BufferedStream:
    """A ``DecoderStream`` that buffers 16-bit little-endian mono PCM and decodes it whole.

    ``decode`` makes the final result; ``partial_decode`` (default ``decode``) the partial ones:
    a back end may pass a cheaper one (no rejection pass, one hypothesis). ``max_seconds`` bounds
    the audio kept (a ``DecoderError`` beyond it); ``on_close`` runs once when the stream ends
    (finished or cancelled), for the session to know it is free again.
    """

    def __init__(self, decode: Callable[[Audio], Recognition], *, sample_rate: int = 16000,
                 partial_decode: Callable[[Audio], Recognition] | None = None,
                 partial_interval: float = DEFAULT_PARTIAL_INTERVAL, max_seconds: float | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        if not partial_interval >= 0:
            raise ValueError(f"partial_interval must be >= 0 seconds, got {partial_interval!r}")
        self._decode = decode
        self._partial_decode = partial_decode or decode
        self.sample_rate = sample_rate
        self.partial_interval = partial_interval
        self._max_bytes = None if max_seconds is None else int(max_seconds * sample_rate) * 2
        self._on_close = on_close
        self._audio = bytearray()
        self._partial: Recognition | None = None
        self._partial_bytes = 0  # audio the cached partial covers
        self._done = False
        self.partial_decodes = 0  # how many partials were really decoded (the cost)

    @property
    def seconds(self) -> float:
        """Audio fed so far."""
        return len(self._audio) // 2 / self.sample_rate

    def feed(self, pcm: bytes) -> None:
        self._check()
        if self._max_bytes is not None and len(self._audio) + len(pcm) > self._max_bytes:
            raise DecoderError(f"the utterance is over {self._max_bytes // 2 / self.sample_rate:g} seconds of audio")
        self._audio += pcm

    def partial(self) -> Recognition | None:
        """The best hypothesis of the audio so far (None before any word); see the module
        docstring for its cost and rate limit."""
        self._check()
        size = len(self._audio) - len(self._audio) % 2
        if size == 0:
            return None
        if self._partial_decodes_due(size):
            self._partial = self._partial_decode(self._audio_of(size))
            self._partial_bytes = size
            self.partial_decodes += 1
        if self._partial is None or not (self._partial.words or self._partial.hypotheses):
            return None
        return self._partial

    def finish(self) -> Recognition:
        """Decode the whole utterance: exactly ``decode`` of the same audio."""
        self._check()
        try:
            return self._decode(self._audio_of(len(self._audio) - len(self._audio) % 2))
        finally:
            self._close()

    def cancel(self) -> None:
        if not self._done:
            self._close()

    def _partial_decodes_due(self, size: int) -> bool:
        if self._partial_bytes == 0:
            return True
        return (size - self._partial_bytes) / 2 / self.sample_rate >= self.partial_interval

    def _audio_of(self, size: int) -> Audio:
        return Audio(samples=np.frombuffer(bytes(self._audio[:size]), dtype="<i2").astype(np.int16),
                     rate=self.sample_rate)

    def _check(self) -> None:
        if self._done:
            raise DecoderError("this audio stream has ended (finished or cancelled)")

    def _close(self) -> None:
        self._done = True
        self._audio = bytearray()
        self._partial = None
        if self._on_close is not None:
            self._on_close()


__all__ = ["BufferedStream", "DEFAULT_PARTIAL_INTERVAL"]
