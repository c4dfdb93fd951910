"""Word boosts (``hints.words``): parsing, resolving against a grammar's words, the pocketsphinx
FSG they give, the CTC graph cache key, and on espeak-ng speech a boost that moves the result
toward a word on both back ends (and a negative one away from it)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from decoder.audio import Audio, read_wav
from decoder.base import DecoderError
from decoder.ctc_backend import CtcModel
from decoder.lexicon import TextLexicon, read_lexicon_text
from decoder.pocketsphinx_backend import boosted_costs, constraint_to_fsg
from decoder.word_boosts import DEFAULT_BOOST, MAX_BOOST, resolve_boosts
from server.parameters import word_boosts
from tests.decoder.speech import synthesise

NAMES = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $r;\npublic $r = call (bill {out='b'} | will {out='w'});"
LOOP = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $r;\npublic $r = call (bill | will)<1->;"


# --- parsing and resolving ------------------------------------------------------------------------


def test_hints_words_parse_to_word_boosts():
    assert word_boosts("john:3, Mary, x:-2.5,y:+1, john:4") == {"john": 4.0, "Mary": DEFAULT_BOOST, "x": -2.5, "y": 1.0}
    assert word_boosts("") == {} and word_boosts(" , ") == {}
    for bad in ("john:lots", "two words:1", "a:1:2"):
        with pytest.raises(ValueError):
            word_boosts(bad)


def test_boosts_resolve_to_the_grammar_words_as_its_tokens_are_normalised(store):
    words = store.activate([store.prepare_text(NAMES)]).constraint().words
    bill, will = words.index("bill"), words.index("will")
    resolved = resolve_boosts(words, {"BILL": 2.0, "will": 100.0, "nobody": 3.0, "call": 0.0})
    assert resolved.labels == {bill: 2.0, will: MAX_BOOST}  # case folded, clamped; a 0 boost is no boost
    assert resolved.ignored == ("nobody",)
    assert resolve_boosts(words, {"nobody": 3.0}).key == resolve_boosts(words, None).key == ()
    for bad in ({"bill": math.nan}, {"bill": "3"}, {"": 1.0}):
        with pytest.raises(DecoderError):
            resolve_boosts(words, bad)  # type: ignore[arg-type]


# --- pocketsphinx: the FSG --------------------------------------------------------------------------


def _transitions(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        match = re.match(r"TRANSITION \d+ \d+ (\S+) (\S+)$", line)
        if match:
            found[match.group(2)] = float(match.group(1))
    return found


def test_a_boost_raises_the_words_fsg_probability_against_its_alternatives(store):
    constraint = store.activate([store.prepare_text(NAMES)]).constraint()
    plain = _transitions(constraint_to_fsg(constraint).text)
    assert plain["bill"] == pytest.approx(plain["will"])
    will = constraint.words.index("will")
    boosted = _transitions(constraint_to_fsg(constraint, boosts={will: 3.0}).text)
    assert boosted["will"] / boosted["bill"] == pytest.approx(math.exp(3.0), rel=1e-6)
    assert max(boosted.values()) <= 1.0  # still probabilities: pushed, not raised past 1
    lowered = _transitions(constraint_to_fsg(constraint, boosts={will: -3.0}).text)
    assert lowered["bill"] / lowered["will"] == pytest.approx(math.exp(3.0), rel=1e-6)


def test_a_boosted_word_on_a_cycle_keeps_its_advantage_without_the_cycle_gaining(store):
    constraint = store.activate([store.prepare_text(LOOP)]).constraint()
    will = constraint.words.index("will")
    arcs, finals = boosted_costs(constraint, {will: 5.0}, garbage_cost=None)
    assert all(cost >= 0 for out in arcs for _, _, cost in out) and all(f >= 0 for f in finals)
    for out in arcs:  # at each choice, will is e^5 times as likely as bill
        costs = {constraint.words[label]: cost for label, _, cost in out}
        if "will" in costs and "bill" in costs:
            assert costs["bill"] - costs["will"] == pytest.approx(5.0)


# --- CTC: the graph and its cache key ---------------------------------------------------------------

UNITS = ["<blank>", "<wb>", "a", "b", "c"]


def _toy_model(spelled: str) -> CtcModel:
    """A made-up CTC model whose best unit per frame spells ``spelled`` ('_' blank); 'b' is a
    little likelier than 'c' in every frame that shows either."""
    def emissions(samples: np.ndarray) -> np.ndarray:
        out = np.full((len(spelled), len(UNITS)), -8.0, dtype=np.float32)
        for frame, char in enumerate(spelled):
            out[frame, 0 if char == "_" else UNITS.index(char)] = -0.05
            if char == "b":
                out[frame, UNITS.index("c")] = -0.7
        return out
    table = TextLexicon(read_lexicon_text(["call\ta", "bill\tb", "will\tc"]), language="en-US")
    return CtcModel(emissions=emissions, units=UNITS, lexicons={"en": table})


def test_ctc_boosts_move_the_search_and_key_its_graph_cache(store):
    activation = store.activate([store.prepare_text(NAMES)], nbest=2)
    model = _toy_model("__a__bb__")
    audio = Audio(samples=np.zeros(16000, dtype=np.int16))

    def best(boosts):
        session = model.session(activation, rejection_threshold=0.0, word_boosts=boosts)
        return session, session.decode(audio).result.alternatives[0].text

    plain, text = best(None)
    assert text == "call bill"
    boosted, text = best({"will": 4.0})
    assert text == "call will"  # 4 x grammar weight 0.5 = 2 nats outweigh 'b' over 'c' (1.3 nats over 2 frames)
    assert best({"bill": -4.0})[1] == "call will"
    assert best({"will": 1.0})[1] == "call bill"  # too little
    assert boosted.graph is not plain.graph and boosted.graph_key != plain.graph_key
    assert best({"will": 4.0})[0].graph is boosted.graph  # same boosts: the cached graph
    ignored, _ = best({"nobody": 4.0})
    assert ignored.graph is plain.graph and ignored.boosts.ignored == ("nobody",)


# --- espeak-ng speech: the boost flips confusable names ---------------------------------------------


@pytest.fixture(scope="module")
def call_bill(speech):
    return read_wav(str(synthesise("call bill", speech)))


@pytest.fixture(scope="module")
def ctc_model() -> CtcModel:
    return CtcModel()


@pytest.mark.parametrize("backend", ["pocketsphinx", "ctc"])
def test_a_boost_flips_confusable_names_toward_the_boosted_one(backend, store, model, ctc_model, call_bill):
    """'call bill' is heard as bill; will boosted (or bill penalised) by 8 the result is will (measured
    flip points: pocketsphinx 3, CTC 5)."""
    activation = store.activate([store.prepare_text(NAMES)])
    decoder = model if backend == "pocketsphinx" else ctc_model

    def value(boosts):
        with decoder.session(activation, rejection_threshold=0.0, word_boosts=boosts) as session:
            return session.decode(call_bill).result.alternatives[0].interpretations[0].value

    assert value(None) == "b"
    assert value({"will": 8}) == "w"
    assert value({"bill": -8}) == "w"
    assert value({"nobody": 8}) == "b"
