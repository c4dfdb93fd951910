"""The pocketsphinx back end: the grammar constraint as an FSG, and synthesised speech decoded
under it end to end (espeak-ng and sox, installed by .ci/run) through the interpreter."""

from __future__ import annotations

import io
import json
import math
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest

from decoder.audio import read_wav
from decoder.pocketsphinx_backend import (
    DEFAULT_REJECTION_THRESHOLD,
    GARBAGE_PHONES,
    GARBAGE_WORDS,
    DecoderError,
    MissingWordsError,
    constraint_to_fsg,
)
from srgs.cli import main
from tests.decoder.speech import synthesise

YESNO = "builtin:examples/yesno"
PIZZA = "builtin:examples/pizza"


# --- FSG conversion ---------------------------------------------------------------------------


def parse_fsg(text: str) -> dict[str, object]:
    lines = text.splitlines()
    assert lines[0].startswith("FSG_BEGIN ") and lines[-1] == "FSG_END"
    header = {line.split()[0]: int(line.split()[1]) for line in lines[1:4]}
    transitions = [line.split() for line in lines[4:-1]]
    assert all(t[0] == "TRANSITION" for t in transitions)
    return {**header, "transitions": transitions}


def test_fsg_of_yesno_has_one_final_state_and_every_arc(store, model):
    constraint = store.activate([YESNO]).constraint()
    conversion = constraint_to_fsg(constraint, spell=model.spell)
    fsg = parse_fsg(conversion.text)
    assert fsg["NUM_STATES"] == constraint.num_states + 1 == conversion.num_states
    assert fsg["START_STATE"] == 0
    assert fsg["FINAL_STATE"] == constraint.num_states == conversion.final_state
    assert conversion.text.count("FINAL_STATE") == 1
    arcs = [(s, label, t, c) for s in range(constraint.num_states) for label, t, c in constraint.arcs(s)]
    finals = [s for s in range(constraint.num_states) if constraint.final(s) < math.inf]
    words = [t for t in fsg["transitions"] if len(t) == 5]
    nulls = [t for t in fsg["transitions"] if len(t) == 4]
    assert len(words) == conversion.word_transitions == sum(1 for a in arcs if a[1] > 2)
    # every final state reaches the new final state by a null transition with exp(-final cost)
    assert sorted(int(t[1]) for t in nulls if int(t[2]) == conversion.final_state) == finals
    for t in nulls:
        assert float(t[3]) == pytest.approx(math.exp(-constraint.final(int(t[1]))), rel=1e-6)
    # word probabilities are exp(-cost)
    by_arc = {(s, constraint.words[label], t): c for s, label, t, c in arcs}
    for t in words:
        assert float(t[3]) == pytest.approx(math.exp(-by_arc[(int(t[1]), t[4], int(t[2]))]), rel=1e-6)
    assert conversion.dropped_garbage == 0 and conversion.note is None
    assert {"yes", "no", "thank", "you", "please"} <= set(conversion.words)


ABNF = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $r;\npublic $r = {body};\n"


def test_garbage_arcs_are_dropped_with_a_note(store):
    constraint = store.activate([store.prepare_text(ABNF.format(body="call $GARBAGE | hello"))]).constraint()
    conversion = constraint_to_fsg(constraint)
    assert conversion.dropped_garbage == 1
    assert "$GARBAGE" in (conversion.note or "") and "dropped" in (conversion.note or "")
    assert "<any>" not in conversion.text
    assert {t.split()[-1] for t in conversion.text.splitlines() if t.count(" ") == 4} == {"call", "hello"}


def test_garbage_arcs_become_a_loop_of_one_phone_words(store, model):
    constraint = store.activate([store.prepare_text(ABNF.format(body="$GARBAGE two large pizzas"))]).constraint()
    any_arcs = [(s, t) for s in range(constraint.num_states) for label, t, _ in constraint.arcs(s) if label == 1]
    conversion = constraint_to_fsg(constraint, spell=model.spell, garbage=GARBAGE_WORDS, garbage_probability=0.25)
    assert conversion.dropped_garbage == 0 and conversion.note is None
    assert conversion.garbage_arcs == len(any_arcs) >= 2  # into the loop and the loop itself
    transitions = [line.split() for line in conversion.text.splitlines() if line.startswith("TRANSITION")]
    garbage = [t for t in transitions if len(t) == 5 and t[4] in GARBAGE_WORDS]
    assert sorted({(int(t[1]), int(t[2])) for t in garbage}) == sorted(any_arcs)
    assert len(garbage) == len(any_arcs) * len(GARBAGE_WORDS) and {float(t[3]) for t in garbage} == {0.25}
    assert len(GARBAGE_WORDS) == len(GARBAGE_PHONES) == 39
    # a session's dictionary has each garbage word as its one phone
    with model.session(store.activate([store.prepare_text(ABNF.format(body="$GARBAGE two large pizzas"))])) as session:
        assert "srgs-garbage-aa AA\n" in session.dictionary and "srgs-garbage-zh ZH\n" in session.dictionary
        assert session.dictionary.count("\n") == len(GARBAGE_WORDS) + 3


def test_missing_dictionary_words_are_named(store, model):
    constraint = store.activate([store.prepare_text(ABNF.format(body="zzyzx frobnicatorium | yes"))]).constraint()
    with pytest.raises(MissingWordsError) as info:
        constraint_to_fsg(constraint, spell=model.spell)
    assert info.value.words == ("zzyzx", "frobnicatorium")
    message = str(info.value)
    assert "'zzyzx', 'frobnicatorium'" in message and "pronunciation dictionary" in message and "\n" not in message
    assert isinstance(info.value, DecoderError)


def test_grammar_words_are_spelled_as_the_dictionary_does(model):
    assert model.spell("yes") == "yes" and model.spell("YES") == "yes"
    assert model.spell("zzyzx") is None and model.spell("two words") is None


# --- end to end -------------------------------------------------------------------------------


@pytest.mark.parametrize("grammar, text, value, rate", [
    (YESNO, "yes", "yes", 16000),
    (YESNO, "no thank you", "no", 16000),
    (YESNO, "yes please", "yes", 16000),
    (PIZZA, "a small pizza with ham", {"qty": 1, "size": "S", "toppings": ["ham"]}, 16000),
    (PIZZA, "i would like two large pizzas with mushrooms and olives",
     {"qty": 2, "size": "L", "toppings": ["mushroom", "olive"]}, 16000),
    (PIZZA, "give me three medium pizzas with pepperoni please",
     {"qty": 3, "size": "M", "toppings": ["pepperoni"]}, 8000),  # telephone rate, resampled
])
def test_synthesised_speech_is_recognised_and_interpreted(store, model, speech, grammar, text, value, rate):
    audio = read_wav(synthesise(text, speech, rate=rate))
    with model.session(store.activate([grammar])) as session:
        cpu = time.process_time()
        recognition = session.decode(audio)
        cpu = time.process_time() - cpu
    result = recognition.result
    assert result.status == "RECOGNIZED"
    best = result.alternatives[0]
    assert best.lm == grammar and best.interpretations[0].value == value
    if rate == 16000:
        assert best.text == text
        assert [w.word for w in recognition.words] == text.split()
    # word times: in order, inside the audio
    times = [(w.start, w.end) for w in recognition.words]
    assert all(0 <= start < end <= audio.seconds + 0.02 for start, end in times)
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(times, times[1:], strict=False))
    assert recognition.hypotheses[0][2] == grammar
    # CPU time, not the wall clock (real_time_factor): other processes on a loaded machine slow the
    # wall clock, not this process's work (about 0.05 of the audio's length)
    assert recognition.real_time_factor > 0 and cpu / audio.seconds < 0.5


def test_nbest_alternatives_are_grammar_sentences_with_confidences(store, model, speech):
    activation = store.activate([YESNO], nbest=3)
    with model.session(activation) as session:
        recognition = session.decode(read_wav(synthesise("no thank you", speech)))
    constraint = activation.constraint()
    assert len(recognition.hypotheses) >= 2
    assert all(constraint.accepts(words) is not None for words, _, _ in recognition.hypotheses)
    scores = [alt.score for alt in recognition.result.alternatives]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 101
    assert recognition.result.alternatives[0].text == "no thank you"


def test_a_best_path_outside_the_grammar_gives_way_to_an_nbest_sentence(store, model, speech):
    # pocketsphinx's best path here ("no thank") never reached the final state: its fallback
    # result is not a sentence of the grammar; the lattice's n-best has the real one.
    activation = store.activate([YESNO])
    with model.session(activation) as session:
        recognition = session.decode(read_wav(synthesise("no thanks", speech)))
    assert recognition.result.status == "RECOGNIZED"
    assert recognition.result.alternatives[0].text == "no thanks"
    assert [words for words, _, _ in recognition.hypotheses] == [("no", "thanks")]
    # the word times are those of that sentence (aligned to the audio), not of the best path;
    # with no lattice posterior, each word's confidence is its sentence's
    assert [w.word for w in recognition.words] == ["no", "thanks"]
    assert recognition.words[0].start == 0.0 and recognition.words[1].end > 0.5
    confidences = {w.confidence for w in recognition.words}
    assert len(confidences) == 1 and 0 < confidences.pop() <= 100


def test_two_sessions_share_one_model(store, model, speech):
    yes = read_wav(synthesise("yes", speech))
    pizza = read_wav(synthesise("a small pizza with ham", speech))
    with model.session(store.activate([YESNO])) as first, model.session(store.activate([PIZZA])) as second:
        assert first.search != second.search
        assert first.decode(yes).result.alternatives[0].text == "yes"
        assert second.decode(pizza).result.alternatives[0].text == "a small pizza with ham"
        assert first.decode(yes).result.alternatives[0].text == "yes"
    with pytest.raises(DecoderError, match="closed"):
        first.decode(yes)


# --- $GARBAGE ---------------------------------------------------------------------------------

GARBAGE_PIZZA = ABNF.format(body='$GARBAGE (two {out = 2} | three {out = 3}) large pizzas')
GARBAGE_YESNO = ABNF.format(body='[$GARBAGE] (yes {out = true} | no {out = false}) [$GARBAGE]')


@pytest.mark.parametrize("grammar, text, words, value", [
    (GARBAGE_PIZZA, "uh i want two large pizzas", ("...", "two", "large", "pizzas"), 2),
    (GARBAGE_PIZZA, "three large pizzas", ("three", "large", "pizzas"), 3),
    (GARBAGE_YESNO, "yes i think so", ("yes", "..."), True),
])
def test_garbage_reads_the_speech_around_the_grammar_words(store, model, speech, grammar, text, words, value):
    audio = read_wav(synthesise(text, speech))
    with model.session(store.activate([store.prepare_text(grammar)])) as session:
        recognition = session.decode(audio)
        streamed = session.stream()
        pcm = audio.pcm()
        for offset in range(0, len(pcm), 640):
            streamed.feed(pcm[offset: offset + 640])
        assert streamed.finish().result == recognition.result
    assert recognition.result.status == "RECOGNIZED" and not recognition.rejected
    best = recognition.result.alternatives[0]
    assert recognition.hypotheses[0][0] == words  # "..." is what $GARBAGE read
    assert best.text == " ".join(w for w in words if w != "...") and best.interpretations[0].value == value
    # word times: the grammar's words only, after the garbage they follow
    assert [w.word for w in recognition.words] == [w for w in words if w != "..."]
    if words[0] == "...":
        assert recognition.words[0].start > 0.3


def test_out_of_grammar_speech_under_garbage_is_rejected_by_the_words_acoustic_match(store, model, speech):
    # "[$GARBAGE] (yes|no) [$GARBAGE]" can read any speech, forcing "yes" or "no" somewhere in it:
    # the frames are all explained, the forced word's acoustic match is what rejects it
    audio = read_wav(synthesise("turn off the lights", speech))
    activation = store.activate([store.prepare_text(GARBAGE_YESNO)])
    with model.session(activation) as session:
        rejected = session.decode(audio)
    with model.session(activation, acoustic_check=False) as session:
        frames_only = session.decode(audio)
    assert frames_only.result.status == "RECOGNIZED" and frames_only.rejection_score >= DEFAULT_REJECTION_THRESHOLD
    assert rejected.result.status == "NO_MATCH" and rejected.rejected
    assert rejected.rejection_score < DEFAULT_REJECTION_THRESHOLD
    assert any(w in ("yes", "no") for w in rejected.hypotheses[0][0])


# --- the command line -------------------------------------------------------------------------


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def test_srgs_recognize_prints_the_interpret_json_plus_word_times(speech):
    wav = synthesise("yes please", speech)
    status, out, _ = run_cli("recognize", YESNO, str(wav), "--nbest", "2", "--format", "json")
    assert status == 0
    result = json.loads(out)
    _, interpret_out, _ = run_cli("interpret", YESNO, "yes please")
    expected = json.loads(interpret_out)
    assert set(result) == set(expected) | {"words"}
    assert result["result_status"] == "RECOGNIZED"
    assert result["alternatives"][0]["text"] == "yes please"
    assert result["alternatives"][0]["interpretations"] == expected["alternatives"][0]["interpretations"]
    assert [w["word"] for w in result["words"]] == ["yes", "please"]
    assert all(set(w) == {"word", "start", "end", "confidence"} and w["start"] < w["end"] for w in result["words"])


def test_srgs_recognize_takes_several_grammars(speech):
    wav = synthesise("a small pizza with ham", speech)
    status, out, _ = run_cli("recognize", YESNO, PIZZA, str(wav))
    assert status == 0
    assert json.loads(out)["alternatives"][0]["lm"] == PIZZA


def test_srgs_recognize_errors_are_one_line(tmp_path, speech):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"not audio at all")
    status, out, err = run_cli("recognize", YESNO, str(bad))
    assert status == 1 and out == ""
    assert err.strip().count("\n") == 0 and "not a WAV file" in err
    grammar = tmp_path / "g.gram"
    # a word with no dictionary entry and no grapheme-to-phoneme pronunciation in the model's phones
    grammar.write_text(ABNF.format(body="一 | yes"), encoding="utf-8")
    status, out, err = run_cli("recognize", str(grammar), str(synthesise("yes", speech)))
    assert status == 1 and "'一'" in err and err.strip().count("\n") == 0


# --- rejection of out-of-grammar speech -----------------------------------------------------


@pytest.mark.parametrize("grammar, text", [
    (YESNO, "call my mother"),
    (YESNO, "open the door"),
    (PIZZA, "how far is the station"),
])
def test_out_of_grammar_speech_is_no_match(store, model, speech, grammar, text):
    audio = read_wav(synthesise(text, speech))
    with model.session(store.activate([grammar])) as session:
        recognition = session.decode(audio)
    assert session.rejection_threshold == DEFAULT_REJECTION_THRESHOLD
    assert recognition.result.status == "NO_MATCH" and recognition.result.alternatives == ()
    assert recognition.rejected and recognition.words == ()
    assert recognition.rejection_score is not None and recognition.rejection_score < DEFAULT_REJECTION_THRESHOLD
    # the grammar search did force a sentence on it: the rejection is what turned it down
    assert recognition.hypotheses


def test_threshold_zero_accepts_out_of_grammar_speech_with_a_low_confidence(store, model, speech):
    audio = read_wav(synthesise("open the door", speech))
    with model.session(store.activate([YESNO]), rejection_threshold=0.0) as session:
        accepted = session.decode(audio)
    assert accepted.result.status == "RECOGNIZED" and not accepted.rejected
    assert accepted.rejection_score is not None and accepted.rejection_score < DEFAULT_REJECTION_THRESHOLD
    # the confidence derives from the same score: the posterior (1.0 here) times the score
    assert 0 <= accepted.result.alternatives[0].score <= round(100 * accepted.rejection_score) < 100


def test_in_grammar_speech_scores_high_and_a_threshold_above_one_rejects_everything(store, model, speech):
    audio = read_wav(synthesise("a small pizza with ham", speech))
    with model.session(store.activate([PIZZA])) as session:
        recognition = session.decode(audio)
    assert recognition.result.status == "RECOGNIZED" and not recognition.rejected
    assert recognition.rejection_score is not None and recognition.rejection_score >= 0.95
    assert recognition.result.alternatives[0].score >= 90
    with model.session(store.activate([PIZZA]), rejection_threshold=1.01) as session:
        rejected = session.decode(audio)
    assert rejected.result.status == "NO_MATCH" and rejected.rejected
    assert rejected.rejection_score is not None and rejected.rejection_score >= 0.95


def test_telephone_band_audio_is_told_apart_for_the_acoustic_check(speech):
    # telephone audio matches the 16 kHz model worse word for word; its acoustic check is shifted
    import numpy as np

    from decoder.audio import resample
    from decoder.pocketsphinx_backend import _narrowband

    wide = read_wav(synthesise("yes please", speech)).samples
    narrow = read_wav(synthesise("yes please", speech, rate=8000)).samples  # sox to 8 kHz, read back at 16
    fft_narrow = resample(resample(wide, 16000, 8000), 8000, 16000)
    noise = np.random.default_rng(3).normal(0, 1000, 16000).astype("<i2")
    assert not _narrowband(wide.astype("<i2").tobytes(), 16000)
    assert _narrowband(narrow.astype("<i2").tobytes(), 16000)
    assert _narrowband(fft_narrow.astype("<i2").tobytes(), 16000)
    assert not _narrowband(noise.tobytes(), 16000) and _narrowband(b"", 8000)


@pytest.mark.parametrize("threshold", [float("nan"), "0.7", None, True])
def test_a_bad_rejection_threshold_is_a_clear_error(store, model, threshold):
    with pytest.raises(DecoderError, match="rejection_threshold must be a number"):
        model.session(store.activate([YESNO]), rejection_threshold=threshold)


def test_srgs_recognize_takes_the_rejection_threshold(speech):
    wav = str(synthesise("open the door", speech))
    status, out, _ = run_cli("recognize", YESNO, wav)
    assert status == 0 and json.loads(out)["result_status"] == "NO_MATCH"
    status, out, _ = run_cli("recognize", YESNO, wav, "--rejection-threshold", "0")
    assert status == 0 and json.loads(out)["result_status"] == "RECOGNIZED"
    with pytest.raises(SystemExit) as caught:
        run_cli("recognize", YESNO, wav, "--rejection-threshold", "1.5")
    assert caught.value.code == 2
