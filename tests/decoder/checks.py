"""Checks every decoder test of recognised speech makes: the words and their times, the n-best."""

from __future__ import annotations

from decoder.base import Recognition


def assert_words_timed(recognition: Recognition, text: str, seconds: float) -> None:
    """The best path says ``text``, each word within the audio (``seconds`` long, 50 ms slack), in
    order without overlap, with a confidence from 0 to 100."""
    words = recognition.words
    assert [w.word for w in words] == text.split()
    assert all(0 <= w.start < w.end <= seconds + 0.05 for w in words)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:], strict=False))
    assert all(0 <= w.confidence <= 100 for w in words)


def assert_alternatives_ranked(recognition: Recognition, most: int) -> None:
    """At most ``most`` alternatives, distinct texts, best score first."""
    alternatives = recognition.result.alternatives
    assert 1 <= len(alternatives) <= most
    assert len({a.text for a in alternatives}) == len(alternatives)
    assert [a.score for a in alternatives] == sorted((a.score for a in alternatives), reverse=True)
