"""Synthesised speech for the decoder tests: espeak-ng (en-us) resampled to 16-bit mono with sox.

sox runs with ``-R``: its dither is otherwise random, so every run heard slightly different audio
and a score near a threshold passed or failed by chance."""

from __future__ import annotations

import subprocess
from pathlib import Path


def synthesise(text: str, folder: Path, *, rate: int = 16000, voice: str = "en-us", speed: int = 150) -> Path:
    """``text`` spoken by espeak-ng into ``folder`` as 16-bit PCM mono WAV at ``rate`` Hz."""
    stem = "_".join(text.split()) + f"_{voice}_{speed}_{rate}"
    raw, out = folder / f"{stem}.raw.wav", folder / f"{stem}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True,
                   capture_output=True, timeout=60)
    subprocess.run(["sox", "-R", str(raw), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", str(out)],
                   check=True, capture_output=True, timeout=60)
    return out
