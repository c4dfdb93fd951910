"""Word boosts for grammar recognition (the ASR API's ``hints.words``): what a boost means.

A boost ``b`` given to a word changes the grammar probability of every arc of the active grammars
whose word is that word: the arc's cost (-ln p) goes down by ``b * BOOST_NATS`` nats, so its
probability is multiplied by ``exp(b * BOOST_NATS)`` (a positive boost makes the word more likely
wherever the grammar allows it, a negative one less likely; 0 changes nothing). It is the same
change as multiplying the weight of every alternative that says the word by that factor, without
editing the grammar, and each back end weighs it against the acoustics as it weighs the grammar's
own probabilities (pocketsphinx: its language weight; CTC: ``SearchParams.grammar_weight``). A word
said twice on a path gets the boost twice. Boosts are clamped to ``[-MAX_BOOST, MAX_BOOST]``.

Words are matched as the grammar's tokens are (``srgs.text.normalize_words``: case folded, NFC);
a hint that normalises to several words boosts each of them. Hint words that are not a word of
the active grammars change nothing: they are reported (``WordBoosts.ignored``), never an error.
The boosts change the search only (which sentence wins): the rejection score still measures the
acoustics, so boosting a word that was not said does not make the result any surer.

Scale, measured with espeak-ng "call X" against ``call (X | Y)`` (the boost on Y at which Y wins;
pocketsphinx / CTC): X = Y in sound (ann, anne) 1 / 1; bill, will 3 / 5; dan, don 12 / 8; mark,
mike 20 / 5; john, jean over 12 / 8. Pocketsphinx prunes paths whose grammar cost is far past
its beam (a boost of 20 made it lose the grammar's final state), hence ``MAX_BOOST``. Free speech
(``builtin:slm/general``, n-gram models) is not boosted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from decoder.base import DecoderError
from srgs.compile.symbols import ANY_LABEL, EPSILON_LABEL, UNKNOWN_LABEL
from srgs.text import normalize_words

BOOST_NATS = 1.0  # nats of grammar log-probability per unit of boost
MAX_BOOST = 10.0  # boosts are clamped to +-this many units (pocketsphinx prunes paths much past it)
DEFAULT_BOOST = 5.0  # a hint word given without a boost (``hints.words=john``)


@dataclass(frozen=True, slots=True)
class WordBoosts:
    """Boosts resolved against a grammar's words: ``labels`` (word label -> nats added to the log-
    probability of each of its arcs) and ``ignored`` (the hint words no active grammar has)."""

    labels: Mapping[int, float]
    ignored: tuple[str, ...]

    @property
    def key(self) -> tuple[tuple[int, float], ...]:
        """The boosts as a hashable key (sorted by label; empty when nothing is boosted)."""
        return tuple(sorted(self.labels.items()))

    def nats(self, word_ids: Mapping[str, int], words: Sequence[str]) -> float:
        """What the boosts added to a path that says ``words`` (their boosts, summed)."""
        if not self.labels:
            return 0.0
        return math.fsum(self.labels.get(word_ids.get(word, -1), 0.0) for word in words)


NO_BOOSTS = WordBoosts(labels={}, ignored=())


def checked_boosts(word_boosts: Mapping[str, float] | None) -> dict[str, float]:
    """``word_boosts`` checked (words are non-empty text, boosts finite numbers) and clamped to
    ``[-MAX_BOOST, MAX_BOOST]``; ``DecoderError`` naming the first bad entry."""
    out: dict[str, float] = {}
    for word, boost in (word_boosts or {}).items():
        if not isinstance(word, str) or not word.strip():
            raise DecoderError(f"word_boosts: {word!r} is not a word")
        if isinstance(boost, bool) or not isinstance(boost, (int, float)) or not math.isfinite(boost):
            raise DecoderError(f"word_boosts: the boost of {word!r} must be a finite number, got {boost!r}")
        out[word] = max(-MAX_BOOST, min(MAX_BOOST, float(boost)))
    return out


def resolve_boosts(words: Sequence[str], word_boosts: Mapping[str, float] | None) -> WordBoosts:
    """``word_boosts`` (hint word -> boost) against a constraint's ``words`` (its label table):
    the nats added per label, and the hint words that match none. A word given twice (after
    normalisation) keeps the last boost."""
    boosts = checked_boosts(word_boosts)
    if not boosts:
        return NO_BOOSTS
    special = (EPSILON_LABEL, ANY_LABEL, UNKNOWN_LABEL)
    ids = {word: label for label, word in enumerate(words) if label not in special}
    labels: dict[int, float] = {}
    ignored: list[str] = []
    for hint, boost in boosts.items():
        found = [ids[word] for word in normalize_words(hint) if word in ids]
        if not found:
            ignored.append(hint)
        for label in found:
            if boost:
                labels[label] = boost * BOOST_NATS
            else:
                labels.pop(label, None)
    return WordBoosts(labels=labels, ignored=tuple(ignored))


__all__ = ["BOOST_NATS", "DEFAULT_BOOST", "MAX_BOOST", "NO_BOOSTS", "WordBoosts", "checked_boosts",
           "resolve_boosts"]
