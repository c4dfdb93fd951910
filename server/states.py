"""The session state machine of the ASR WebSocket API 2.3 (``cpqd-asr-websocket-2.3.md``,
"States"): every transition in one table, so that no handler tests the state itself.

::

    (none) --CREATE_SESSION--> IDLE --START_RECOGNITION--> LISTENING --end of speech--> RECOGNIZING
    RECOGNIZING --final result--> IDLE          (continuous mode: --segment result--> LISTENING)
    LISTENING --timeout / LastPacket without speech / CANCEL_RECOGNITION--> IDLE
    any --RELEASE_SESSION--> CLOSED

A key is (state, client message name or internal event); a message the table does not list for
the current state is answered ``INVALID_ACTION`` (``server.session``).
"""

from __future__ import annotations

from . import protocol as p

NONE = "NONE"  # the connection is open, no CREATE_SESSION yet (reported as IDLE)
IDLE, LISTENING, RECOGNIZING = p.IDLE, p.LISTENING, p.RECOGNIZING
CLOSED = "CLOSED"

# Internal events (what the audio and the timers cause).
END_OF_SPEECH = "end of speech"
SEGMENT_DONE = "segment result"  # continuous mode: one segment's result, more may follow
FINAL = "final result"

TRANSITIONS: dict[tuple[str, str], str] = {
    (NONE, p.CREATE_SESSION): IDLE,
    (NONE, p.RELEASE_SESSION): CLOSED,
    (IDLE, p.DEFINE_GRAMMAR): IDLE,
    (IDLE, p.SET_PARAMETERS): IDLE,
    (IDLE, p.GET_PARAMETERS): IDLE,
    (IDLE, p.INTERPRET_TEXT): IDLE,
    (IDLE, p.START_RECOGNITION): LISTENING,
    (IDLE, p.CANCEL_RECOGNITION): IDLE,  # nothing to cancel: SUCCESS (design choice)
    (IDLE, p.RELEASE_SESSION): CLOSED,
    (LISTENING, p.SEND_AUDIO): LISTENING,
    (LISTENING, p.START_INPUT_TIMERS): LISTENING,
    (LISTENING, p.GET_PARAMETERS): LISTENING,
    (LISTENING, p.CANCEL_RECOGNITION): IDLE,
    (LISTENING, p.RELEASE_SESSION): CLOSED,
    (LISTENING, END_OF_SPEECH): RECOGNIZING,
    (LISTENING, FINAL): IDLE,
    (RECOGNIZING, p.GET_PARAMETERS): RECOGNIZING,
    (RECOGNIZING, p.CANCEL_RECOGNITION): IDLE,
    (RECOGNIZING, p.RELEASE_SESSION): CLOSED,
    (RECOGNIZING, SEGMENT_DONE): LISTENING,
    (RECOGNIZING, FINAL): IDLE,
}

REPORTED = frozenset({IDLE, LISTENING, RECOGNIZING})  # the states a Session-Status header names
