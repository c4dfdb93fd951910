"""Grammar words missing from pocketsphinx's dictionary: digit tokens take their number words'
pronunciations, other words get one from hama's grapheme-to-phoneme model (IPA mapped to ARPAbet),
and a word neither handles is an error naming it."""

from __future__ import annotations

import pytest

from decoder.audio import read_wav
from decoder.pocketsphinx_backend import MissingWordsError, PocketsphinxModel, ipa_to_arpabet
from tests.decoder.speech import synthesise

ABNF = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $r;\npublic $r = {body};\n"
# the en-US acoustic model's phones (CMU/ARPAbet, no stress)
ARPABET = frozenset("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y "
                    "Z ZH".split())


def test_ipa_maps_to_arpabet_and_unknown_phones_do_not():
    assert ipa_to_arpabet(["z", "ɔ", "ɹ", "b", "l", "æ", "k", "s"]) == "Z AO R B L AE K S"
    assert ipa_to_arpabet(["h", " ", "ɛ", "ː", "l", "oʊ"]) == "HH EH L OW"  # spaces and length marks dropped
    assert ipa_to_arpabet(["i", "⁵", "¹"]) is None  # tone marks have no ARPAbet phone
    assert ipa_to_arpabet([" "]) is None


def test_an_invented_word_gets_arpabet_phones_in_this_model_only(model):
    assert model.spell("zorblax") is None
    assert model.pronounce("zorblax") == "zorblax"
    phones = model.added["zorblax"].split()
    assert phones[0] == "Z" and set(phones) <= ARPABET and len(phones) >= 5
    assert model.spell("zorblax") == "zorblax"  # now in this model's dictionary
    assert PocketsphinxModel().spell("zorblax") is None  # no process-wide state: another model lacks it


def test_an_invented_word_is_recognised_from_speech(store, model, speech):
    audio = read_wav(synthesise("zorblax", speech))
    with model.session(store.activate([store.prepare_text(ABNF.format(body="zorblax {out='z';} | yes | no"))])) as session:
        assert "zorblax" in session.conversion.words
        recognition = session.decode(audio)
    assert recognition.result.status == "RECOGNIZED"
    best = recognition.result.alternatives[0]
    assert best.text == "zorblax" and best.interpretations[0].value == "z"


def test_a_word_without_mappable_phones_is_an_error_naming_it(store, model):
    activation = store.activate([store.prepare_text(ABNF.format(body="yes | 一 | zorblax"))])
    with pytest.raises(MissingWordsError) as info:
        model.session(activation)
    assert info.value.words == ("一",)
    message = str(info.value)
    assert "'一'" in message and "grapheme-to-phoneme" in message and "\n" not in message


def test_digit_tokens_take_the_number_words_pronunciations(model):
    assert model.pronounce("7") == "7"
    assert model.added["7"] == model.spell_phones("seven")


def test_hyphenated_words_are_said_as_their_dictionary_parts(model):
    assert model.spell("seventy-two") is None  # not in the dictionary: added from its parts
    assert model.pronounce("seventy-two") == "seventy-two"
    assert model.added["seventy-two"] == f"{model.spell_phones('seventy')} {model.spell_phones('two')}"
    assert model.pronounce("forty-2") == "forty-2"
    assert model.added["forty-2"] == f"{model.spell_phones('forty')} {model.spell_phones('two')}"


def test_builtin_number_grammar_is_recognised_from_speech(store, model, speech):
    activation = store.activate(["builtin:grammar/number"])
    # what is tested is that the grammar's hyphenated words are searched at all (before, the
    # grammar could not be loaded): rejection, which is calibrated elsewhere, is off
    with model.session(activation, rejection_threshold=0) as session:
        recognition = session.decode(read_wav(synthesise("seventy two", speech)))
    assert recognition.result.status == "RECOGNIZED"
    assert recognition.result.alternatives[0].interpretations[0].value == "72"


@pytest.mark.parametrize("text, value", [("one two three", "123"), ("four five six", "456")])
def test_builtin_digits_grammar_is_recognised_from_speech(store, model, speech, text, value):
    audio = read_wav(synthesise(text, speech))
    with model.session(store.activate(["builtin:grammar/digits"])) as session:
        recognition = session.decode(audio)
    assert recognition.result.status == "RECOGNIZED"
    assert recognition.result.alternatives[0].interpretations[0].value == value
