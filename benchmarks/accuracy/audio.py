"""The benchmark's audio: espeak-ng speech, a noisy copy and a telephone-band copy, cached on disk.

- clean: ``espeak-ng -v VOICE -s SPEED`` converted by sox to 16-bit mono 16 kHz.
- noisy: the clean samples plus white Gaussian noise at ``SNR_DB`` (15 dB) below the speech's
  active level (the mean power of the 10 ms frames within 30 dB of the loudest one, so the
  silences espeak leaves around the words do not lower it); the noise is seeded by the
  utterance, so a copy is the same on every run.
- telephone: the clean 16 kHz file through sox ``sinc 300-3400`` (band-pass) at 8 kHz; the
  decoders read it as 8 kHz WAV and resample it (``decoder.audio.read_wav``).

Files are named by a hash of (voice, speed, condition, text) under the work folder.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")


def write_wav(path: Path, samples: npt.NDArray[np.int16], rate: int = SAMPLE_RATE) -> None:
    """16-bit mono WAV, written to a unique temporary name first, then renamed into place."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
    os.close(handle)
    with wave.open(name, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    Path(name).replace(path)


def read_samples(path: Path) -> npt.NDArray[np.int16]:
    with wave.open(str(path), "rb") as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.int16)


def active_level(samples: npt.NDArray[np.int16], rate: int = SAMPLE_RATE) -> float:
    """Mean power of the 10 ms frames within 30 dB of the loudest frame (0.0 for silence)."""
    frame = rate // 100
    usable = len(samples) - len(samples) % frame
    if usable == 0:
        return 0.0
    frames = samples[:usable].astype(np.float64).reshape(-1, frame)
    power = (frames ** 2).mean(axis=1)
    loudest = float(power.max())
    if loudest <= 0:
        return 0.0
    return float(power[power >= loudest * 10 ** -3].mean())


def add_noise(samples: npt.NDArray[np.int16], snr_db: float, seed: int) -> npt.NDArray[np.int16]:
    """``samples`` plus white noise ``snr_db`` below their active level."""
    level = active_level(samples)
    rng = np.random.default_rng(seed)
    noise: npt.NDArray[np.float64] = rng.standard_normal(len(samples)) * float(np.sqrt(level / 10 ** (snr_db / 10)))
    mixed: npt.NDArray[np.float64] = np.clip(np.round(samples.astype(np.float64) + noise), -32768, 32767)
    return mixed.astype(np.int16)


def measured_snr(clean: npt.NDArray[np.int16], noisy: npt.NDArray[np.int16]) -> float:
    """The SNR of ``noisy`` against ``clean`` in dB, by the same active level."""
    noise = noisy.astype(np.float64) - clean.astype(np.float64)
    return float(10 * np.log10(active_level(clean) / float((noise ** 2).mean())))


def telephone_band(source: Path, target: Path) -> None:
    """``source`` band-passed to 300-3400 Hz (sox ``sinc``) and written at 8 kHz to ``target``."""
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".wav")
    os.close(handle)
    _run(["sox", "-R", str(source), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", tmp, "sinc", "300-3400"])
    Path(tmp).replace(target)


def _stem(voice: str, speed: int, condition: str, text: str) -> str:
    digest = hashlib.sha256(f"{voice}|{speed}|{condition}|{text}".encode()).hexdigest()[:20]
    return f"{condition}-{voice.replace('+', '_')}-{speed}-{digest}"


def speech_file(folder: Path, text: str, *, voice: str, speed: int, condition: str, snr_db: float = 15.0) -> Path:
    """The WAV of ``text`` under ``condition`` (clean, noisy, telephone), made once in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / (_stem(voice, speed, condition, text) + ".wav")
    if out.exists():
        return out
    if condition == "clean":
        with tempfile.TemporaryDirectory(dir=folder, prefix=".tmp-") as scratch:  # parallel makers never collide
            raw, tmp = Path(scratch) / "raw.wav", Path(scratch) / "out.wav"
            _run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text])
            _run(["sox", "-R", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp)])
            tmp.replace(out)
        return out
    clean = speech_file(folder, text, voice=voice, speed=speed, condition="clean")
    if condition == "noisy":
        seed = int(hashlib.sha256(out.name.encode()).hexdigest()[:8], 16)
        write_wav(out, add_noise(read_samples(clean), snr_db, seed))
        return out
    if condition == "telephone":
        telephone_band(clean, out)
        return out
    raise ValueError(f"unknown condition {condition!r}")


__all__ = ["SAMPLE_RATE", "active_level", "add_noise", "measured_snr", "read_samples", "speech_file", "telephone_band",
           "write_wav"]
