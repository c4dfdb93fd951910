"""decoder.audio: 16-bit PCM mono WAV at 8 or 16 kHz in, 16 kHz samples out; clear errors else."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from decoder.audio import AudioError, parse_wav, read_wav, resample


def wav_bytes(samples: np.ndarray, *, rate: int = 16000, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


def tone(rate: int, hz: float = 440.0, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (8000 * np.sin(2 * np.pi * hz * t)).astype("<i2")


def test_16k_mono_is_read_as_is(tmp_path):
    samples = tone(16000)
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(samples))
    audio = read_wav(path)
    assert audio.rate == 16000 and np.array_equal(audio.samples, samples)
    assert audio.seconds == pytest.approx(0.5)
    assert audio.pcm() == samples.tobytes()


def test_8k_is_resampled_to_16k_keeping_the_frequency():
    audio = parse_wav(wav_bytes(tone(8000, hz=440.0), rate=8000))
    assert audio.rate == 16000 and len(audio.samples) == 8000
    spectrum = np.abs(np.fft.rfft(audio.samples.astype(float)))
    peak_hz = np.argmax(spectrum) * 16000 / len(audio.samples)
    assert abs(peak_hz - 440.0) < 5
    # nothing above the 4 kHz band of the original
    assert spectrum[int(4100 * len(audio.samples) / 16000):].max() < 1e-3 * spectrum.max()
    expected = tone(16000, hz=440.0)
    assert np.abs(audio.samples.astype(int) - expected.astype(int))[100:-100].max() < 200


def test_resample_of_nothing_is_nothing():
    assert len(resample(np.zeros(0, dtype=np.int16), 8000, 16000)) == 0


@pytest.mark.parametrize("make, message", [
    (lambda: wav_bytes(np.zeros(100, dtype=np.uint8), width=1), "8-bit samples"),
    (lambda: wav_bytes(np.zeros(200, dtype="<i2"), channels=2), "2 channels"),
    (lambda: wav_bytes(np.zeros(200, dtype="<i2"), rate=22050), "sample rate 22050 Hz"),
    (lambda: b"ID3\x03 this is an mp3", "not a WAV file"),
    (lambda: b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00", "unreadable WAV"),
])
def test_other_formats_are_clear_errors(make, message):
    with pytest.raises(AudioError) as info:
        parse_wav(make(), name="in.wav")
    text = str(info.value)
    assert text.startswith("in.wav: ") and message in text and "\n" not in text
    assert "16-bit PCM mono WAV at 8 or 16 kHz" in text


def test_size_is_bounded(tmp_path):
    path = tmp_path / "big.wav"
    path.write_bytes(wav_bytes(tone(16000, seconds=1.0)))
    with pytest.raises(AudioError, match="over the limit of 1000"):
        read_wav(path, max_bytes=1000)
    with pytest.raises(AudioError, match="over the limit of 1000"):
        parse_wav(path.read_bytes(), max_bytes=1000)
