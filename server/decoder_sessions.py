"""Decoder sessions the engine composes from the back ends' own (``decoder.base`` protocols).

``BufferedSession`` gives streaming to a back end that only decodes whole utterances;
``EitherSession`` runs the grammar search and the free-speech search over the same audio when a
recognition names both. Kept apart from ``server.engine`` (what a process holds) because they are
decoding behaviour, the same whatever the engine shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from decoder.audio import Audio
from decoder.base import DecoderSession, DecoderStream, Recognition


@dataclass(frozen=True, slots=True)
class BufferedSession:
    """A back end without its own ``stream()``: streams buffered and decoded whole at the end
    (``decoder.stream.BufferedStream``)."""

    session: Any

    def decode(self, audio: Audio, *, nbest: int | None = None) -> Recognition:
        return self.session.decode(audio, nbest=nbest)  # type: ignore[no-any-return]

    def stream(self, *, nbest: int | None = None) -> DecoderStream:
        from decoder.stream import BufferedStream

        return BufferedStream(lambda audio: self.session.decode(audio, nbest=nbest))

    def close(self) -> None:
        self.session.close()


@dataclass(frozen=True, slots=True)
class EitherSession:
    """Grammars and a free-speech model active together: both decode the same audio, and the
    result is the first one (grammars first) that recognised something (design choice: a
    grammar's sentence, with its semantics, wins over free speech)."""

    sessions: tuple[DecoderSession, ...]

    def decode(self, audio: Audio, *, nbest: int | None = None) -> Recognition:
        return _first_recognized([session.decode(audio, nbest=nbest) for session in self.sessions])

    def stream(self, *, nbest: int | None = None) -> DecoderStream:
        return EitherStream(tuple(session.stream(nbest=nbest) for session in self.sessions))

    def close(self) -> None:
        for session in self.sessions:
            session.close()


@dataclass(frozen=True, slots=True)
class EitherStream:
    """The streams of an ``EitherSession`` fed together."""

    streams: tuple[DecoderStream, ...]

    def feed(self, pcm: bytes) -> None:
        for stream in self.streams:
            stream.feed(pcm)

    def partial(self) -> Recognition | None:
        found = [r for r in (stream.partial() for stream in self.streams) if r is not None]
        return _first_recognized(found) if found else None

    def finish(self) -> Recognition:
        return _first_recognized([stream.finish() for stream in self.streams])

    def cancel(self) -> None:
        for stream in self.streams:
            stream.cancel()


def _first_recognized(found: Sequence[Recognition]) -> Recognition:
    for recognition in found:
        if recognition.result.status == "RECOGNIZED":
            return recognition
    return found[0]
