"""The accuracy benchmark's pieces (benchmarks/bench_accuracy.py, benchmarks/accuracy/), without decoding.

The set generator yields the counts its plan promises and what the issue asks for; the JSGF
baseline grammar has the same sentences as our compiled grammar; the noisy copy has the stated
SNR; the telephone copy is 8 kHz and band-limited; the figures and targets are computed right.
"""

from __future__ import annotations

import wave
from collections import Counter
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from benchmarks.accuracy.audio import active_level, add_noise, measured_snr, read_samples, telephone_band, write_wav
from benchmarks.accuracy.jsgf import JsgfError, bundle_to_jsgf, jsgf_token, repeat_jsgf
from benchmarks.accuracy.sets import (
    ALL_SETS,
    EN_GRAMMARS,
    FULL,
    OUT_OF_GRAMMAR_EN,
    PT_GRAMMARS,
    SPEEDS,
    VOICES,
    Plan,
    build_utterances,
    canonical,
    comparable_words,
    near_miss_texts,
)
from benchmarks.bench_accuracy import BASELINE, Outcome, figures, report
from interpreter.store import GrammarStore
from srgs.compile.sample import sample_sentences
from srgs.load.loader import bundle_from_text, load_bundle
from srgs.text import normalize_words


@pytest.fixture(scope="module")
def store() -> GrammarStore:
    return GrammarStore()


# --- sets ----------------------------------------------------------------------------------------


def test_plan_counts(store: GrammarStore) -> None:
    plan = Plan(per_grammar=3, pt_per_grammar=2, combos_clean=4, combos_copies=2, oog_texts=5, pt_oog_texts=3,
                near_miss=1)
    utterances = build_utterances(store, plan, ALL_SETS)
    counts = Counter(u.set for u in utterances)
    assert counts["clean"] == 3 * len(EN_GRAMMARS) * 4
    assert counts["noisy"] == counts["telephone"] == 3 * len(EN_GRAMMARS) * 2
    assert counts["oog"] == 5 * len(EN_GRAMMARS)  # every everyday sentence is out of every grammar
    assert counts["pt-br"] == 2 * len(PT_GRAMMARS)
    assert counts["pt-br-oog"] == 3 * len(PT_GRAMMARS)
    assert 1 <= counts["near-miss"] <= len(EN_GRAMMARS)
    clean = [u for u in utterances if u.set == "clean"]
    assert {(u.voice, u.speed) for u in clean} == {(v, s) for v in VOICES["en-US"] for s in SPEEDS}
    assert {u.condition for u in utterances if u.set in ("noisy", "telephone")} == {"noisy", "telephone"}
    for u in utterances:  # values are what our interpreter gives; out-of-grammar texts are not sentences
        interpretation = store.activate([u.grammar]).interpreter().interpret(u.text)
        if u.in_grammar:
            assert interpretation.status == "RECOGNIZED", u
            assert canonical(interpretation.alternatives[0].interpretations[0].value) == u.expected
        else:
            assert interpretation.status == "NO_MATCH", u
            assert u.expected is None


def test_full_plan_meets_the_issue_bar(store: GrammarStore) -> None:
    utterances = build_utterances(store, FULL, ALL_SETS)
    clean = [u for u in utterances if u.set == "clean"]
    assert len({u.grammar for u in clean}) >= 3
    assert len({(u.grammar, u.text) for u in clean}) >= 100
    assert len({u.voice for u in clean}) == 2 and len({u.speed for u in clean}) == 2
    assert {(u.grammar, u.text) for u in utterances if u.set in ("noisy", "telephone")} == \
        {(u.grammar, u.text) for u in clean}
    assert len({u.text for u in utterances if u.set == "oog"}) >= 30
    assert len(OUT_OF_GRAMMAR_EN) >= 30
    assert sum(u.set == "pt-br" for u in utterances) >= 30
    assert all(u.voice.startswith("pt-br") for u in utterances if u.language == "pt-BR")


def test_near_misses_come_from_the_cases_files(store: GrammarStore) -> None:
    assert "large pizza" in near_miss_texts(store, EN_GRAMMARS[0])


def test_sentence_comparison_folds_homophones() -> None:
    assert comparable_words(["6", "zero"]) == comparable_words(["six", "zero"])
    assert comparable_words(["três"]) == comparable_words(["tres"])
    assert comparable_words(["two"]) != comparable_words(["to"])


# --- the JSGF baseline ----------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0, 1, "[a]"), (2, 2, "(a a)"), (1, 3, "(a [a [a]])"), (0, None, "(a)*"), (2, None, "(a (a)+)"),
    (1, None, "(a)+"), (0, 0, "<NULL>"),
])
def test_repeat_jsgf(low: int, high: int | None, expected: str) -> None:
    assert repeat_jsgf("a", low, high) == expected


def test_jsgf_text_of_a_small_grammar() -> None:
    bundle = bundle_from_text("#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $main;\n"
                              "public $main = [please] ($item {out = rules.item;})<1-3> $NULL [$VOID];\n"
                              "private $item = /2/ red | /0.5/ \"Dark Blue\" | i'd {out = \"x\";};\n")
    converted = bundle_to_jsgf(bundle)
    assert converted.text == ("#JSGF V1.0;\ngrammar srgs;\npublic <sentence> = <r0>;\n"
                              "<r0> = ([please] (<r1> [<r1> [<r1>]]) <NULL> [<VOID>]);\n"
                              "<r1> = (/2/ red | /0.5/ dark blue | /1/ i'd);\n")
    assert converted.words == ("please", "red", "dark", "blue", "i'd")


def test_jsgf_words_without_pronunciation_are_named() -> None:
    bundle = bundle_from_text("#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $main;\npublic $main = yes | zzyzx | qwv;\n")
    with pytest.raises(JsgfError, match="qwv, zzyzx"):
        bundle_to_jsgf(bundle, spell=lambda word: None if word in ("zzyzx", "qwv") else word)


def test_jsgf_token_quotes_punctuation() -> None:
    assert jsgf_token("i'd") == "i'd"
    assert jsgf_token("a/b") == '"a/b"'
    with pytest.raises(JsgfError):
        jsgf_token('say "x"')


@pytest.fixture(scope="module")
def jsgf_decoder() -> object:
    import pocketsphinx  # a dependency of the project: never skipped

    return pocketsphinx.Decoder(lm=None, loglevel="FATAL")


@pytest.mark.parametrize("location", [spec.location for spec in EN_GRAMMARS] + ["builtin:examples/yesno"])
def test_jsgf_has_the_sentences_of_the_compiled_grammar(location: str, store: GrammarStore, jsgf_decoder: object) -> None:
    """pocketsphinx's own FSG of the converted grammar accepts our samples and refuses what we refuse."""
    fsg = jsgf_decoder.parse_jsgf(bundle_to_jsgf(load_bundle(location)).text)  # type: ignore[attr-defined]
    constraint = store.activate([location]).constraint()
    samples = [s["text"] for s in sample_sentences(store.prepare(location).compiled, 40, seed=7)]
    others = ["large pizza", "yes no", "two large", "one hundred hundred", "double", "with olives", "no thanks yes"]
    for text in samples + others:
        words = normalize_words(text)
        assert bool(fsg.accept(" ".join(words))) == (constraint.accepts(words) is not None), text


# --- audio ---------------------------------------------------------------------------------------


def _speechlike(seconds: float = 1.0) -> npt.NDArray[np.int16]:
    rate = 16000
    t = np.arange(int(rate * seconds)) / rate
    tone = 8000 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 2 * t) > 0)  # bursts and silences
    silence = np.zeros(rate // 4)
    return np.concatenate([silence, tone, silence]).astype(np.int16)


def test_noise_at_the_stated_snr() -> None:
    clean = _speechlike()
    noisy = add_noise(clean, 15.0, seed=1)
    assert abs(measured_snr(clean, noisy) - 15.0) < 0.3
    assert np.array_equal(noisy, add_noise(clean, 15.0, seed=1))  # seeded: the same copy every run
    assert active_level(np.zeros(1600, dtype=np.int16)) == 0.0


def test_telephone_copy_is_8_khz_and_band_limited(tmp_path: Path) -> None:
    rate = 16000
    t = np.arange(rate) / rate
    low, mid = np.sin(2 * np.pi * 100 * t), np.sin(2 * np.pi * 1000 * t)
    write_wav(tmp_path / "in.wav", (6000 * (low + mid)).astype(np.int16))
    telephone_band(tmp_path / "in.wav", tmp_path / "out.wav")
    with wave.open(str(tmp_path / "out.wav"), "rb") as reader:
        assert reader.getframerate() == 8000 and reader.getnchannels() == 1 and reader.getsampwidth() == 2
    spectrum = np.abs(np.fft.rfft(read_samples(tmp_path / "out.wav").astype(np.float64)))
    bin_hz = 8000 / 2 / (len(spectrum) - 1)
    assert spectrum[round(100 / bin_hz)] < spectrum[round(1000 / bin_hz)] / 30  # 100 Hz cut, 1 kHz kept


# --- figures and targets -------------------------------------------------------------------------


def test_figures_and_targets() -> None:
    from benchmarks.accuracy.sets import Utterance

    def utt(set_name: str, text: str, expected: str | None) -> Utterance:
        return Utterance(set_name, "builtin:examples/yesno", "en-US", text, expected is not None, expected,
                         "en-us", 140, "clean")

    def out(status: str, words: str, value: str | None, cpu: float = 0.1) -> Outcome:
        return Outcome(status, tuple(words.split()), value, 2.0, cpu, cpu)

    yes, no = canonical("yes"), canonical("no")
    ours = [(utt("clean", "yes", yes), out("RECOGNIZED", "yes", yes)),
            (utt("clean", "no thanks", no), out("RECOGNIZED", "no", no)),  # semantics right, words wrong
            (utt("clean", "nope", no), out("NO_MATCH", "", None)),
            (utt("oog", "call my mother", None), out("NO_MATCH", "", None)),
            (utt("oog", "play music", None), out("RECOGNIZED", "yes", yes))]
    base = [(utt("clean", "yes", yes), out("RECOGNIZED", "yes", yes, cpu=0.4)),
            (utt("clean", "no thanks", no), out("RECOGNIZED", "yes", yes, cpu=0.4)),
            (utt("clean", "nope", no), out("RECOGNIZED", "nope", no, cpu=0.4)),
            (utt("oog", "call my mother", None), out("RECOGNIZED", "no", no, cpu=0.4)),
            (utt("oog", "play music", None), out("RECOGNIZED", "yes", yes, cpu=0.4))]
    clean = figures(pair for pair in ours if pair[0].set == "clean")
    assert (clean.n, clean.sentence, clean.semantic, clean.rejected) == (3, 1, 2, 1)
    assert clean.rtf_cpu == pytest.approx(0.05)
    data = report({"pocketsphinx": ours, BASELINE: base}, ["clean", "oog"], {})
    checks = {c["target"]: c for c in data["targets"]["pocketsphinx"]}
    assert checks["semantic >= baseline on clean"]["met"] is True  # 2/3 against 2/3
    assert checks["rejection >= 90% on oog"]["value"] == 0.5 and checks["rejection >= 90% on oog"]["met"] is False
    assert checks["RTF <= 0.1 (CPU, one core)"]["met"] is True
    assert data["backends"]["pocketsphinx"]["sets"]["clean"]["ratio_to_baseline"] == 1.0
    assert [loss["kind"] for loss in data["backends"]["pocketsphinx"]["losses"]] == ["rejected", "accepted"]
    assert BASELINE not in data["targets"]
