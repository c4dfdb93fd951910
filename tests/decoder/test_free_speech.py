"""Free speech end to end: espeak-ng audio decoded by pocketsphinx's n-gram search with a
grammar-shaped model built by ``build_arpa`` from ``srgs generate`` samples, and with
builtin:slm/general; access policy, NO_MATCH, streaming and the session's lifetime."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

from decoder.audio import Audio, read_wav
from decoder.base import DecoderError
from decoder.free_speech import (
    DEFAULT_FREE_SPEECH_THRESHOLD,
    FreeSpeechSession,
    copy_checked_arpa,
    free_speech_confidence,
    free_speech_session,
    is_free_speech_location,
    resolve_free_speech_location,
)
from decoder.lm import GENERAL, LmError, build_arpa
from interpreter.formats import to_json_dict
from srgs.errors import AccessDeniedError
from srgs.load.policy import AccessPolicy
from tests.decoder.checks import assert_alternatives_ranked, assert_words_timed
from tests.decoder.speech import synthesise

PIZZA_SENTENCE = "i want two large pizzas with mushrooms and olives"


@pytest.fixture(scope="module")
def pizza_lm(tmp_path_factory) -> str:
    out = subprocess.run(["srgs", "generate", "builtin:examples/pizza", "-n", "200", "--seed", "3"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    path = tmp_path_factory.mktemp("slm") / "pizza.arpa"
    path.write_text(build_arpa(out.splitlines(), 3), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def pizza_session(model, pizza_lm):
    session = free_speech_session(model, pizza_lm, policy=AccessPolicy.local())
    yield session
    session.close()


def test_grammar_shaped_model_recognises_the_words(pizza_session, pizza_lm, speech):
    audio = read_wav(synthesise(PIZZA_SENTENCE, speech))
    recognition = pizza_session.decode(audio, nbest=3)
    result = recognition.result
    assert result.status == "RECOGNIZED"
    best = result.alternatives[0]
    assert best.text == PIZZA_SENTENCE and best.lm == pizza_lm
    assert [i.value for i in best.interpretations] == [PIZZA_SENTENCE]  # the text is the interpretation
    assert 0 < best.score <= 100
    assert_alternatives_ranked(recognition, 3)
    assert_words_timed(recognition, PIZZA_SENTENCE, audio.seconds)
    assert recognition.hypotheses[0][0] == tuple(PIZZA_SENTENCE.split()) and recognition.hypotheses[0][2] == pizza_lm
    assert recognition.rejection_score is not None and not recognition.rejected
    body = to_json_dict(result)
    assert body["result_status"] == "RECOGNIZED" and body["alternatives"][0]["interpretations"] == [PIZZA_SENTENCE]


def test_general_model_recognises_a_common_phrase(model, speech):
    with free_speech_session(model, GENERAL) as session:
        assert session.path.endswith("en-us.lm.bin")
        recognition = session.decode(read_wav(synthesise("how are you", speech)))
    assert recognition.result.status == "RECOGNIZED"
    assert recognition.result.alternatives[0].text == "how are you"
    assert recognition.result.alternatives[0].lm == GENERAL


def test_silence_and_noise_are_no_match(pizza_session):
    rng = np.random.default_rng(7)
    for samples in (np.zeros(16000, dtype=np.int16), rng.normal(0, 30, 24000).astype(np.int16)):
        recognition = pizza_session.decode(Audio(samples))
        assert recognition.result.status == "NO_MATCH"
        assert recognition.result.alternatives == () and recognition.words == () and recognition.hypotheses == ()


def test_streaming_gives_partials_then_the_same_result(pizza_session, speech):
    audio = read_wav(synthesise(PIZZA_SENTENCE, speech))
    whole = pizza_session.decode(audio)
    stream = pizza_session.stream()
    pcm = audio.pcm()
    assert stream.partial() is None  # nothing yet
    partials = []
    for start in range(0, len(pcm), 3200):  # 100 ms chunks
        stream.feed(pcm[start:start + 3200])
        partial = stream.partial()
        if partial is not None:
            partials.append(partial)
    final = stream.finish()
    texts = [p.result.alternatives[0].text for p in partials]
    assert texts and texts[-1].split()[:2] == ["i", "want"]
    assert len(texts[-1].split()) > len(texts[0].split())  # the partial grows with the audio
    assert len({id(p) for p in partials}) <= audio.seconds / 0.5 + 1  # decoded at most every 500 ms of audio
    assert final.result.alternatives[0].text == whole.result.alternatives[0].text == PIZZA_SENTENCE
    with pytest.raises(DecoderError, match="has ended"):
        stream.feed(b"\0\0")
    cancelled = pizza_session.stream()
    cancelled.feed(pcm[:3200])
    cancelled.cancel()
    with pytest.raises(DecoderError):
        cancelled.finish()


def test_access_policy_decides_who_names_files(model, pizza_lm, tmp_path):
    with pytest.raises(AccessDeniedError, match="language model files are not allowed here"):
        free_speech_session(model, pizza_lm)  # default: a server client's closed policy
    folder = str(tmp_path)
    with pytest.raises(AccessDeniedError, match="outside the allowed directories"):
        resolve_free_speech_location(pizza_lm, AccessPolicy.closed(roots=(folder,)))
    granted = AccessPolicy.closed(roots=(str(__import__("pathlib").Path(pizza_lm).parent),))
    assert resolve_free_speech_location(pizza_lm, granted) == pizza_lm
    assert resolve_free_speech_location("file://" + pizza_lm, AccessPolicy.local()) == pizza_lm
    assert resolve_free_speech_location(GENERAL).endswith("en-us.lm.bin")  # built-ins need no grant
    with pytest.raises(AccessDeniedError, match="built-in models are not allowed"):
        resolve_free_speech_location(GENERAL, AccessPolicy(builtin=False))
    with pytest.raises(LmError, match="unknown built-in language model"):
        resolve_free_speech_location("builtin:slm/medical")
    with pytest.raises(LmError, match="language model file not found"):
        resolve_free_speech_location(str(tmp_path / "none.arpa"), AccessPolicy.local())
    with pytest.raises(LmError, match="http"):
        resolve_free_speech_location("http://example.com/lm.arpa", AccessPolicy.local())


def test_kenlm_binary_and_garbage_files_are_refused(model, tmp_path):
    kenlm_binary = tmp_path / "model.binary"
    kenlm_binary.write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\0" + bytes(64))
    with pytest.raises(LmError, match="KenLM binary model, which pocketsphinx cannot read: use --backend ctc"):
        free_speech_session(model, str(kenlm_binary), policy=AccessPolicy.local())
    garbage = tmp_path / "garbage.arpa"
    garbage.write_text("not a model\n", encoding="utf-8")
    with pytest.raises(LmError, match="not a language model pocketsphinx free speech reads: give an ARPA file"):
        free_speech_session(model, str(garbage), policy=AccessPolicy.local())
    # pocketsphinx itself crashes on the first one (a section shorter than declared): checked first
    header = "\\data\\\nngram 1=2\nngram 2={n}\n\n\\1-grams:\n-1\tyes\t0\n-1\tno\t0\n\n\\2-grams:\n"
    broken = {
        header.format(n=5) + "-0.5\tyes no\n\n\\end\\\n": "12:1: error: the 2-gram section has 1 entries, its header declares 5",
        header.format(n=1) + "-0.5\tyes no\n-0.5\tno yes\n\\end\\\n": "11:1: error: the 2-gram section has more entries",
        header.format(n=1) + "-0.5\tyes maybe\n\\end\\\n": "10:1: error: an n-gram word that is not among the unigrams",
        header.format(n=1) + "-0.5\tyes no -0.2\n\\end\\\n": "10:1: error: a 2-gram entry is a probability, 2 word(s)",
        header.format(n=1) + "high\tyes no\n\\end\\\n": "10:1: error: a probability or back-off that is not a number",
        header.format(n=1) + "-0.5\tyes no\n": "10:1: error: the ARPA file ends early",
        "\\data\\\nngram 2=1\n": "2:1: error: expected 'ngram 1=COUNT' here",
    }
    for number, (text, message) in enumerate(broken.items()):
        path = tmp_path / f"broken{number}.arpa"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(LmError) as info:
            free_speech_session(model, str(path), policy=AccessPolicy.local())
        assert info.value.diagnostics()[0].startswith(f"{path}:{message}"), (text, info.value.diagnostics())


def test_a_users_model_gets_a_small_decoder_of_its_own(model, pizza_lm, speech):
    import time

    began = time.process_time()
    session = free_speech_session(model, pizza_lm, policy=AccessPolicy.local())
    # a decoder with the whole dictionary takes pocketsphinx 10-40 s of CPU to add a 40-word model to
    # (CPU time: the wall clock also counts what other processes on a loaded machine do)
    assert time.process_time() - began < 5
    assert isinstance(session, FreeSpeechSession)
    assert 0 < session.dictionary_words < 100 and session._decoder is not model._decoder
    audio = read_wav(synthesise("two small pizzas", speech))
    assert session.decode(audio).result.alternatives[0].text == "two small pizzas"
    session.close()
    session.close()  # idempotent
    with pytest.raises(DecoderError, match="closed"):
        session.decode(audio)
    with pytest.raises(DecoderError, match="closed"):
        session.stream()


def test_general_sessions_share_one_search_on_the_model(model, speech):
    from decoder.free_speech import GENERAL_SEARCH

    first = free_speech_session(model, GENERAL)
    second = free_speech_session(model, GENERAL)
    assert first.search == second.search == GENERAL_SEARCH and first._decoder is second._decoder is model._decoder
    audio = read_wav(synthesise("how are you", speech))
    before = first.decode(audio)
    first.close()  # the search stays for the others
    assert second.decode(audio).result.alternatives[0].text == before.result.alternatives[0].text


def test_results_do_not_depend_on_what_was_decoded_before(pizza_session, speech):
    audio = read_wav(synthesise("one medium pizza with olives", speech))
    first = pizza_session.decode(audio)
    rng = np.random.default_rng(3)
    pizza_session.decode(Audio((rng.normal(0, 3000, 48000)).astype(np.int16)))  # loud noise moves the mean
    again = pizza_session.decode(audio)
    assert [(w.word, w.start, w.end) for w in again.words] == [(w.word, w.start, w.end) for w in first.words]
    assert again.result == first.result


def test_model_words_missing_from_the_dictionary_are_pronounced(model, tmp_path):
    path = tmp_path / "digits.arpa"
    path.write_text(build_arpa(["call 5 now", "call 7 now", "call 5 7 now"], 2), encoding="utf-8")
    assert "5" in copy_checked_arpa(str(path), None) and model.spell("5") is None
    with free_speech_session(model, str(path), policy=AccessPolicy.local()) as session:
        assert session.unpronounceable == ()
        assert session.dictionary_words == 4  # call, now, 5, 7
    assert model.spell("5") == "5"  # added to this model's dictionary as "five"


def test_gzip_arpa_and_pocketsphinx_binary_models(model, pizza_lm, tmp_path, speech):
    import gzip

    import pocketsphinx

    packed = tmp_path / "pizza.arpa.gz"
    packed.write_bytes(gzip.compress(open(pizza_lm, "rb").read()))
    binary = tmp_path / "pizza.lm.bin"
    pocketsphinx.NGramModel(pocketsphinx.Config(lm=None), pocketsphinx.LogMath(), pizza_lm).write(
        str(binary), pocketsphinx.NGramModel.str_to_type("bin"))
    audio = read_wav(synthesise("two small pizzas", speech))
    for path in (packed, binary):
        with free_speech_session(model, str(path), policy=AccessPolicy.local()) as session:
            assert session.decode(audio).result.alternatives[0].text == "two small pizzas", path


def test_nbest_is_checked(model, pizza_lm):
    with pytest.raises(DecoderError, match="nbest must be between"):
        free_speech_session(model, pizza_lm, nbest=0, policy=AccessPolicy.local())


def test_locations_that_name_language_models():
    assert is_free_speech_location(GENERAL)
    assert is_free_speech_location("models/pizza.arpa") and is_free_speech_location("file:///m/en.lm.bin")
    assert not is_free_speech_location("builtin:examples/pizza") and not is_free_speech_location("pizza.grxml")


# --- rejection: the utterance confidence -----------------------------------------------------


def _padded(samples: np.ndarray, seed: int) -> Audio:
    """``samples`` between 0.3 s margins of a faint noise floor, as a recording has them."""
    rng = np.random.default_rng(seed)
    floor = rng.normal(0, 3, len(samples) + 9600)
    floor[4800:4800 + len(samples)] += samples
    return Audio(np.clip(np.rint(floor), -32768, 32767).astype(np.int16))


def test_noise_and_tones_that_the_search_makes_words_of_are_rejected(model):
    rng = np.random.default_rng(11)
    noise = _padded(rng.normal(0, 1800, 32000), 1)  # white noise at about -25 dBFS, 2 s
    t = np.arange(24000) / 16000
    chord = _padded(sum(1500 * np.sin(2 * np.pi * f * t) for f in (440, 660, 990)), 2)
    with FreeSpeechSession(model, GENERAL, confidence=False) as before, free_speech_session(model, GENERAL) as after:
        for audio in (noise, chord):
            old = before.decode(audio)
            assert old.result.status == "RECOGNIZED" and old.rejection_score is None  # words made of it
            new = after.decode(audio)
            assert new.result.status == "NO_MATCH" and new.rejected and new.words == ()
            assert new.rejection_score is not None and new.rejection_score < after.rejection_threshold
            assert after.last_measures is not None and after.last_measures.speech_share < 0.5


def test_english_speech_is_kept_with_its_confidence_as_the_score(model, speech):
    audio = read_wav(synthesise("please call me tomorrow morning", speech))
    with free_speech_session(model, GENERAL, nbest=3) as session:
        recognition = session.decode(audio)
    result = recognition.result
    assert result.status == "RECOGNIZED" and not recognition.rejected
    assert recognition.rejection_score is not None and recognition.rejection_score >= DEFAULT_FREE_SPEECH_THRESHOLD
    assert result.alternatives[0].score == round(100 * recognition.rejection_score)
    assert [a.score for a in result.alternatives] == sorted((a.score for a in result.alternatives), reverse=True)
    measures = session.last_measures
    assert measures is not None and measures.confidence == pytest.approx(100 * recognition.rejection_score)
    assert measures.words == len(recognition.words) and measures.coverage > 0.5


def test_the_rejection_threshold_is_the_sessions(model, speech, pizza_lm):
    audio = read_wav(synthesise("two small pizzas", speech))
    with free_speech_session(model, pizza_lm, policy=AccessPolicy.local(), rejection_threshold=0) as everything:
        kept = everything.decode(audio)
    assert kept.result.status == "RECOGNIZED" and kept.rejection_score is not None
    with free_speech_session(model, pizza_lm, policy=AccessPolicy.local(), rejection_threshold=1.01) as nothing:
        refused = nothing.decode(audio)
    assert refused.result.status == "NO_MATCH" and refused.rejected
    assert refused.rejection_score == pytest.approx(kept.rejection_score)
    for bad in (float("nan"), True, "0.5"):
        with pytest.raises(DecoderError, match="rejection_threshold must be a number"):
            FreeSpeechSession(model, GENERAL, rejection_threshold=bad)  # type: ignore[arg-type]


def test_the_confidence_weighs_speech_against_the_phone_loop():
    # pocketsphinx's scores as seg() gives them (exp of its log scores): the words' acoustic scores
    # about 5 per frame under the phone loop's, as English sentences under builtin:slm/general have
    word = math.exp(-200)
    words = [("<s>", 0, 9, 0.99, 1.0, 1.0), ("hello", 10, 49, word, 0.9, 0.99), ("world", 50, 89, word, 0.8, 0.99),
             ("</s>", 90, 99, word, 1.0, 1.0)]
    speech_phones = [("SIL", 0, 9, 0.99), ("HH", 10, 29, 0.99), ("OW", 30, 49, 0.99), ("W", 50, 69, 0.99),
                     ("D", 70, 89, 0.99), ("SIL", 90, 99, 0.99)]
    spoken = free_speech_confidence(words, speech_phones, 100)
    assert spoken.words == 2 and spoken.speech_share == 0.8 and spoken.coverage == 1.0
    assert spoken.confident_share == 1.0 and spoken.acoustic_ratio == pytest.approx(-5, abs=0.1)
    assert spoken.confidence > 90
    silent = free_speech_confidence(words, [("SIL", 0, 99, 0.99)], 100)  # the phone loop heard no speech
    assert silent.speech_share == 0.0 and silent.confidence < 100 * DEFAULT_FREE_SPEECH_THRESHOLD
    unsure = free_speech_confidence([(w, s, e, a, 0.05, lm) for w, s, e, a, _, lm in words], speech_phones, 100)
    assert unsure.confident_share == 0.0 and unsure.confidence < spoken.confidence


def test_partials_skip_the_phone_loop_and_the_final_result_is_decodes(model, speech):
    audio = read_wav(synthesise("how are you", speech))
    with free_speech_session(model, GENERAL) as session:
        whole = session.decode(audio)
        stream = session.stream()
        stream.feed(audio.pcm())
        partial = stream.partial()
        final = stream.finish()
    assert partial is not None and partial.rejection_score is None
    assert final.result == whole.result and final.rejection_score == whole.rejection_score


def test_a_users_model_rejects_what_it_does_not_model(model, pizza_lm, speech):
    from decoder.free_speech import GENERAL_CONFIDENCE, USER_MODEL_CONFIDENCE

    with free_speech_session(model, pizza_lm, policy=AccessPolicy.local()) as session:
        assert session.confidence_model is USER_MODEL_CONFIDENCE
        assert session.rejection_threshold == USER_MODEL_CONFIDENCE.threshold
        kept = session.decode(read_wav(synthesise("two small pizzas", speech)))
        # everyday English and Portuguese asking for a pizza, forced onto the pizza model's words
        english = session.decode(read_wav(synthesise("the weather is nice today", speech)))
        portuguese = session.decode(read_wav(synthesise("eu gostaria de uma pizza grande", speech, voice="pt-br")))
    assert kept.result.status == "RECOGNIZED" and kept.result.alternatives[0].text == "two small pizzas"
    assert kept.result.alternatives[0].score >= 90
    for rejected in (english, portuguese):
        assert rejected.result.status == "NO_MATCH" and rejected.rejected and rejected.hypotheses  # words were found
    with free_speech_session(model, GENERAL) as general:
        assert general.confidence_model is GENERAL_CONFIDENCE and general.rejection_threshold == DEFAULT_FREE_SPEECH_THRESHOLD
