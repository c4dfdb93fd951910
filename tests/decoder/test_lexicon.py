"""Pronunciation lexicons of the CTC back end: unit sets, optional positions, the text form, the
en-US lexicon (CMU dictionary + hama G2P), the pt-BR respelling and the shipped pt-BR lexicon."""

from __future__ import annotations

import unicodedata

import pytest

from decoder.base import DecoderError
from decoder.lexicon import (
    EnglishLexicon,
    MissingPronunciationsError,
    Position,
    RuleLexicon,
    TextLexicon,
    format_pronunciation,
    parse_pronunciation,
    pt_br_spelling_to_ipa,
    pt_br_variants,
    read_lexicon_text,
    respell_pt_br_ipa,
)
from interpreter.store import GrammarStore


def test_a_position_is_a_set_of_units_and_may_be_optional():
    pronunciation = parse_pronunciation("t ɹ|d|t|l eɪ|e s?")
    assert pronunciation == (Position(frozenset({"t"})), Position(frozenset({"ɹ", "d", "t", "l"})),
                             Position(frozenset({"eɪ", "e"})), Position(frozenset({"s"}), optional=True))
    assert parse_pronunciation(format_pronunciation(pronunciation)) == pronunciation


@pytest.mark.parametrize("text", ["", "a? b?", "a ||"])
def test_a_pronunciation_needs_a_required_position(text):
    with pytest.raises(ValueError):
        parse_pronunciation(text)


def test_the_text_form_keeps_alternatives_and_names_a_bad_line():
    entries = read_lexicon_text(["# comment", "Sim\ts i|ɪ n?", "sim\ts i", "", "sim\ts i|ɪ n?"])
    assert list(entries) == ["sim"]  # words are lower-cased; a repeated pronunciation is kept once
    assert len(entries["sim"]) == 2
    with pytest.raises(DecoderError, match=r"^my\.lexicon:2: expected WORD<TAB>PRONUNCIATION$"):
        read_lexicon_text(["ok\tou", "no tab here"], name="my.lexicon")
    with pytest.raises(DecoderError, match=r"^my\.lexicon:1: a pronunciation needs a required position"):
        read_lexicon_text(["ok\tu?"], name="my.lexicon")


def test_missing_words_are_named_in_one_error():
    lexicon = TextLexicon(read_lexicon_text(["sim\ts i"]), language="pt-BR")
    with pytest.raises(MissingPronunciationsError, match="2 grammar word.*'xyzzy', 'plugh'") as caught:
        lexicon.require(["sim", "xyzzy", "plugh", "xyzzy"])
    assert caught.value.words == ("xyzzy", "plugh")


def test_pt_br_respelling_uses_sets_of_general_american_phones():
    # zero: espeak zˈɛɾʊ; a tap between vowels is any of ɹ, d, t, ð; três: in a cluster, ɹ or l, optional
    assert respell_pt_br_ipa("zˈɛɾʊ")[2] == Position(frozenset({"ɹ", "d", "t", "ð"}))
    tres = respell_pt_br_ipa("trˈes")
    assert tres[2] == Position(frozenset({"ɹ", "l"}), optional=True)
    # final r is optional (pagar: paɡˈar)
    assert respell_pt_br_ipa("paɡˈar")[-1].optional
    # coda nasal optional (cinco: sˈiŋkʊ); nasal vowel + glide: a diphthong set (não: nˈɐ̃ʊ̃)
    assert respell_pt_br_ipa("sˈiŋkʊ")[2] == Position(frozenset({"n", "m", "ŋ"}), optional=True)
    nao = respell_pt_br_ipa("nˈɐ̃ʊ̃")
    assert "aʊ" in nao[1].phones and "oʊ" in nao[1].phones
    assert nao[-1].optional and {"w", "n"} <= nao[-1].phones
    # espeak's epenthetic schwa is optional (porta: pˈɔɾətæ)
    assert [p.optional for p in respell_pt_br_ipa("pˈɔɾətæ")] == [False, False, False, True, False, False]
    with pytest.raises(ValueError, match="no respelling rule for 'ʕ'"):
        respell_pt_br_ipa("ʕa")


def test_pt_br_respelling_follows_what_the_model_hears_in_espeak_speech():
    # measured on greedy decodes of espeak-ng pt-BR speech: a consonant + r cluster gets an optional
    # vowel between the two (três "t ɔ ɹ i s"), stressed e is often "i"/"ɪ", final o "o"/"w",
    # u "oʊ" (duzentos "t oʊ ..."), t/d "θ"/"ð", v "w"/"b"/"ɹ" (vinte "ɹ i t i"), final a "ɝ"
    tres = respell_pt_br_ipa("trˈes")
    assert tres[1].optional and {"ɔ", "oʊ", "ə"} <= tres[1].phones
    assert {"i", "ɪ"} <= tres[3].phones and "θ" in tres[0].phones
    assert [p.optional for p in respell_pt_br_ipa("kwˈatrʊ")] == [False, False, False, False, True, True, False]
    assert {"o", "w"} <= respell_pt_br_ipa("kwˈatrʊ")[-1].phones
    assert "oʊ" in respell_pt_br_ipa("dˌuzˈeɪŋtʊs")[1].phones
    assert {"w", "b", "ɹ"} <= respell_pt_br_ipa("vˈiŋtʃy")[0].phones
    assert "ɝ" in respell_pt_br_ipa("trˈiŋtæ")[-1].phones
    assert not any(p.optional for p in respell_pt_br_ipa("sˈɛtʃy"))  # no cluster: no inserted vowel
    # oito "i t oʊ" / "eɪ t oʊ"; milhões "m i j ʊ l eɪ z" (ões, not the õ of conta); quatro's w as "l";
    # espeak's inserted schwa as "i" (vírgula "v i ð i b u l æ")
    assert {"ɔɪ", "eɪ", "ɪ"} <= respell_pt_br_ipa("ˈoɪtʊ")[0].phones
    milhoes = respell_pt_br_ipa("miljˈõjs")
    assert "ʊ" in milhoes[4].phones and "eɪ" in milhoes[6].phones
    assert "ʊ" not in respell_pt_br_ipa("kˈõŋtæ")[1].phones
    assert "l" in respell_pt_br_ipa("kwˈatrʊ")[1].phones
    assert "i" in respell_pt_br_ipa("vˈiɾəɡulæ")[3].phones and respell_pt_br_ipa("vˈiɾəɡulæ")[3].optional
    assert "j" in respell_pt_br_ipa("mˈiʊ")[1].phones  # mil: "m j u"


def test_pt_br_respelling_takes_what_forced_alignments_of_the_tuning_set_showed():
    # benchmarks/bench_ctc.py --pt-tuning, greedy and forced alignments: the tap of a consonant
    # cluster is often not heard at all (treze "t eɪ z i", três "t eɪ z"), while a tap between vowels
    # is (zero "s æ d oʊ"); z is also heard as ð (zero "ð æ d o"); sets lose the units never emitted
    # there (t never "d", k never "g", n never "m")
    treze = respell_pt_br_ipa("trˈezi")
    assert [p.optional for p in treze] == [False, True, True, False, False, False]
    assert treze[2].phones == frozenset({"ɹ", "l"})
    assert not respell_pt_br_ipa("zˈɛɾʊ")[2].optional
    assert "ð" in respell_pt_br_ipa("zˈɛɾʊ")[0].phones
    assert not respell_pt_br_ipa("pˈɔɾətæ")[2].optional  # a coda tap is not a cluster's
    assert respell_pt_br_ipa("tˈu")[0].phones == frozenset({"t", "θ"})
    assert "g" not in respell_pt_br_ipa("kˈa")[0].phones and "m" not in respell_pt_br_ipa("nˈa")[0].phones


def test_a_word_that_is_a_nasal_vowel_alone_may_be_heard_as_its_nasal():
    # um (ˈũ): "oʊ n", "ɪ n", or "n" alone at speed (um dois: "n <wb> ɔɪ s")
    um = respell_pt_br_ipa("ˈũ")
    assert [p.optional for p in um] == [False, True]
    (variant,) = pt_br_variants(um)
    assert [p.optional for p in variant] == [True, False] and variant[1].phones == frozenset({"n", "m", "ŋ"})
    assert pt_br_variants(respell_pt_br_ipa("sˈiŋkʊ")) == ()
    lexicon = TextLexicon.shipped("pt-BR")
    assert variant in lexicon.pronunciations("um") and um in lexicon.pronunciations("um")


def test_a_word_espeak_spells_out_alone_keeps_its_sentence_form_only():
    # espeak-ng reads "é" alone as the letter's name ("é agudo"); in a sentence it is the verb
    assert TextLexicon.shipped("pt-BR").pronunciations("é") == (respell_pt_br_ipa("ɛ"),)


def test_the_shipped_pt_br_lexicon_has_the_forms_words_take_inside_a_sentence():
    # the conjunction e is "ɛ" alone but "i" in "vinte e três"; the article o is "ʊ" in a sentence
    lexicon = TextLexicon.shipped("pt-BR")
    assert respell_pt_br_ipa("i") in lexicon.pronunciations("e")
    assert respell_pt_br_ipa("ˈɛ") in lexicon.pronunciations("e")
    assert respell_pt_br_ipa("ʊ") in lexicon.pronunciations("o")


def test_the_shipped_pt_br_lexicon_has_every_word_of_the_pt_br_builtins():
    lexicon = TextLexicon.shipped("pt-BR")
    store = GrammarStore()
    for name in ("digits", "boolean", "number", "date", "time"):
        words = store.activate([f"builtin:grammar/{name}?lang=pt-BR"]).constraint().words[3:]
        lexicon.require(words)  # raises naming any missing word
    # a digit token reads as its number word
    assert lexicon.pronunciations("3") == lexicon.pronunciations("três")
    assert lexicon.pronunciations("Três") == lexicon.pronunciations("três")


def test_english_words_get_the_dictionary_and_g2p_pronunciations():
    lexicon = EnglishLexicon()
    pizza = lexicon.pronunciations("pizza")
    assert len(pizza) == 2  # CMU (P IY T S AH) mapped to sets, and hama's G2P (p i t s ə)
    assert pizza[0][-1].phones == frozenset({"ə", "ʌ"})
    assert any(all(len(p.phones) == 1 or p.phones == {"g", "ɡ"} for p in pron) for pron in pizza)
    # a word the dictionary lacks: G2P alone
    assert len(lexicon.pronunciations("zorbleflax")) == 1
    assert lexicon.pronunciations("7") == lexicon.pronunciations("seven")


@pytest.mark.parametrize(("word", "ipa"), [
    ("paçoca", "pasokæ"), ("carro", "kaxʊ"), ("rosa", "xozæ"), ("queijo", "keɪʒʊ"), ("guerra", "ɡexæ"),
    ("água", "aɡwæ"), ("sol", "soʊ"), ("pão", "pɐ̃ʊ̃"), ("bem", "bẽɪŋ"), ("filho", "fiʎʊ"), ("tarde", "taɾədʒy"),
    ("gente", "ʒẽɪŋtʃy"), ("chave", "ʃavy"),
])
def test_pt_br_spelling_rules_read_regular_orthography(word, ipa):
    assert unicodedata.normalize("NFD", pt_br_spelling_to_ipa(word)) == unicodedata.normalize("NFD", ipa)


def test_spelling_rules_agree_with_espeak_on_most_of_the_shipped_lexicon():
    lexicon = TextLexicon.shipped("pt-BR")
    agree = sum(respell_pt_br_ipa(pt_br_spelling_to_ipa(word)) in prons
                for word, prons in lexicon.entries.items() if word.isalpha() and len(word) > 3)
    total = sum(1 for word in lexicon.entries if word.isalpha() and len(word) > 3)
    assert agree / total > 0.7  # measured 0.72 of these words position for position (the rest differ in a set)


def test_a_rule_lexicon_uses_the_list_first_and_rules_for_the_rest():
    shipped = TextLexicon.shipped("pt-BR")
    lexicon = RuleLexicon(shipped)
    assert lexicon.pronunciations("não") == shipped.pronunciations("não")
    assert lexicon.pronunciations("paçoca") == (respell_pt_br_ipa("pasokæ"),)
    assert shipped.pronunciations("paçoca") == ()
    with pytest.raises(MissingPronunciationsError, match="'ñandú'"):
        lexicon.require(["paçoca", "ñandú"])


def test_english_builtin_words_take_the_shipped_g2p_output_without_running_the_model():
    lexicon = EnglishLexicon()
    assert lexicon.pronunciations("pizza") and lexicon.pronunciations("wednesday")
    assert lexicon._g2p is None  # hama's G2P model was not loaded: the words are in decoder/data/en-US.g2p
    live = EnglishLexicon()
    live._shipped = {}
    assert live.g2p("wednesday") == lexicon.g2p("wednesday")  # the table is what the model gives
