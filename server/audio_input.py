"""SEND_AUDIO bodies as the decoder's audio: 16 kHz 16-bit mono PCM, whatever the client sends.

The ASR WebSocket API 2.3 lets a client send raw PCM at 8 or 16 kHz (the rate named by the
Media-Type / Content-Type) or a WAV file whose header comes with the first packets; the endpointer
and the decoders want one format, so the conversion is kept here, apart from the session.
"""

from __future__ import annotations

import numpy as np

from . import protocol as p


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
