"""Audio input for the decoders: WAV files of 16-bit PCM mono at 8 or 16 kHz, as 16 kHz samples.

``read_wav(path)`` and ``parse_wav(data)`` return an ``Audio`` (int16 samples at 16 kHz; 8 kHz
input is resampled with numpy). Anything else (another sample width, stereo, another rate,
compressed WAV, not a WAV at all, a file over ``max_bytes``) is an ``AudioError`` with a
one-line message.
"""

from __future__ import annotations

import io
import os
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from srgs.errors import SrgsError

TARGET_RATE = 16000
SUPPORTED_RATES = (8000, 16000)
DEFAULT_MAX_BYTES = 32 * 1024 * 1024  # about 17 minutes of 16 kHz 16-bit mono


class AudioError(SrgsError):
    """Audio the decoders cannot take (message names the file and the problem)."""


@dataclass(frozen=True, slots=True)
class Audio:
    """Mono 16-bit samples at ``rate`` Hz (always 16000 after reading)."""

    samples: npt.NDArray[np.int16]
    rate: int = TARGET_RATE

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def pcm(self) -> bytes:
        """Little-endian 16-bit PCM bytes (what pocketsphinx's ``process_raw`` reads)."""
        return self.samples.astype("<i2", copy=False).tobytes()


def read_wav(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Audio:
    """The samples of a WAV file at 16 kHz; ``AudioError`` for what is not 16-bit PCM mono 8/16 kHz."""
    name = os.fspath(path)
    size = os.path.getsize(name)
    if size > max_bytes:
        raise AudioError(f"{name}: audio file is {size} bytes, over the limit of {max_bytes}")
    with open(name, "rb") as handle:
        data = handle.read(max_bytes + 1)
    return parse_wav(data, name=name, max_bytes=max_bytes)


def parse_wav(data: bytes, *, name: str = "<audio>", max_bytes: int = DEFAULT_MAX_BYTES) -> Audio:
    """``read_wav`` for WAV bytes already in memory."""
    if len(data) > max_bytes:
        raise AudioError(f"{name}: audio is over the limit of {max_bytes} bytes")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(f"{name}: not a WAV file (expected a RIFF/WAVE header): give 16-bit PCM mono WAV at 8 or 16 kHz")
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"{name}: unreadable WAV ({exc}): give 16-bit PCM mono WAV at 8 or 16 kHz") from None
    if width != 2:
        raise AudioError(f"{name}: {8 * width}-bit samples: give 16-bit PCM mono WAV at 8 or 16 kHz")
    if channels != 1:
        raise AudioError(f"{name}: {channels} channels: give 16-bit PCM mono WAV at 8 or 16 kHz")
    if rate not in SUPPORTED_RATES:
        raise AudioError(f"{name}: sample rate {rate} Hz: give 16-bit PCM mono WAV at 8 or 16 kHz")
    samples = np.frombuffer(frames[: len(frames) - len(frames) % 2], dtype="<i2").astype(np.int16)
    if rate != TARGET_RATE:
        samples = resample(samples, rate, TARGET_RATE)
    return Audio(samples=samples, rate=TARGET_RATE)


def resample(samples: npt.NDArray[np.int16], rate: int, target: int) -> npt.NDArray[np.int16]:
    """Band-limited resampling by an FFT (zero-padding the spectrum): 8 kHz -> 16 kHz keeps the
    telephone band and adds nothing above 4 kHz."""
    if rate == target or len(samples) == 0:
        return samples.copy()
    count = int(round(len(samples) * target / rate))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    size = count // 2 + 1
    padded = np.zeros(size, dtype=np.complex128)
    keep = min(size, len(spectrum))
    padded[:keep] = spectrum[:keep]
    out = np.fft.irfft(padded, n=count) * (count / len(samples))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


__all__ = ["Audio", "AudioError", "DEFAULT_MAX_BYTES", "TARGET_RATE", "parse_wav", "read_wav", "resample"]
