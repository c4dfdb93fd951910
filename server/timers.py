"""The input timers of a recognition (ASR WebSocket API 2.3, ``noInputTimeout`` and
``recognitionTimeout``): which one has run out, and when the next one will.

Pure functions of the recognition and ``now`` (the caller's clock): the session acts on what they
say (``server.audio_path``) and a server sleeps until ``deadlines`` (``Session.next_deadline``).
The timers run from START_INPUT_TIMERS (or START_RECOGNITION with ``decoder.startInputTimers``);
audio sent faster than real time counts by its length, so a test or a file client times out too.
"""

from __future__ import annotations

from typing import Literal

from .session_state import ActiveRecognition


def expired_timer(recognition: ActiveRecognition,
                  now: float) -> Literal["NO_INPUT_TIMEOUT", "RECOGNITION_TIMEOUT"] | None:
    """The timer that has run out at ``now`` (its Result-Status), or None."""
    if recognition.timers_from is None:
        return None
    began, audio_began = recognition.timers_from
    elapsed = max(now - began, recognition.seconds - audio_began)  # audio sent faster than real time counts
    settings = recognition.settings
    if settings.no_input_timeout_ms is not None and not recognition.speech_seen \
            and elapsed >= settings.no_input_timeout_ms / 1000:
        return "NO_INPUT_TIMEOUT"
    if settings.recognition_timeout_ms is not None and elapsed >= settings.recognition_timeout_ms / 1000:
        return "RECOGNITION_TIMEOUT"
    return None


def deadlines(recognition: ActiveRecognition) -> list[float]:
    """When the running timers run out (on the caller's clock); none before the timers start."""
    if recognition.timers_from is None:
        return []
    began = recognition.timers_from[0]
    settings = recognition.settings
    found: list[float] = []
    if settings.no_input_timeout_ms is not None and not recognition.speech_seen:
        found.append(began + settings.no_input_timeout_ms / 1000)
    if settings.recognition_timeout_ms is not None:
        found.append(began + settings.recognition_timeout_ms / 1000)
    return found
