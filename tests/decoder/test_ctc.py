"""The CTC back end: the search on made-up emissions (sets, optional positions, CTC repeats,
n-best, $GARBAGE), then hama's model on espeak-ng speech end to end (en-US and pt-BR), rejection,
streaming and the command line."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

from decoder.audio import Audio, read_wav
from decoder.base import DecoderError
from decoder.ctc_backend import CtcModel
from decoder.lexicon import MissingPronunciationsError, TextLexicon, read_lexicon_text
from srgs.cli import main
from tests.decoder.speech import synthesise

UNITS = ["<blank>", "<wb>", "a", "b", "c", "d"]


def emissions(spelled: str, *, peak: float = -0.05, floor: float = -8.0) -> np.ndarray:
    """Log-probabilities whose best unit per frame spells ``spelled`` ('_' blank, one char a frame)."""
    out = np.full((len(spelled), len(UNITS)), floor, dtype=np.float32)
    for frame, char in enumerate(spelled):
        out[frame, 0 if char == "_" else UNITS.index(char)] = peak
    return out


def toy_model(spelled: str, lexicon: str) -> CtcModel:
    table = TextLexicon(read_lexicon_text(lexicon.splitlines()), language="en-US")
    return CtcModel(emissions=lambda samples: emissions(spelled), units=UNITS, lexicons={"en": table})


def toy_decode(store, grammar: str, spelled: str, lexicon: str, **options):
    activation = store.activate([store.prepare_text(grammar)])
    session = toy_model(spelled, lexicon).session(activation, **options)
    return session.decode(Audio(samples=np.zeros(16000, dtype=np.int16)), nbest=3)


GRAMMAR = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $r;\npublic $r = (ab {out='ab'} | cd {out='cd'} | x {out='x'})<1->;"


def test_a_set_position_matches_any_of_its_units(store):
    lexicon = "ab\ta|c b\ncd\tc d\nx\td"
    assert toy_decode(store, GRAMMAR, "__a_b__", lexicon).result.alternatives[0].text == "ab"
    assert toy_decode(store, GRAMMAR, "__c_b__", lexicon).result.alternatives[0].text == "ab"  # c is in {a, c}
    assert toy_decode(store, GRAMMAR, "__c_d__", lexicon).result.alternatives[0].text == "cd"


def test_an_optional_position_may_be_heard_or_not(store):
    lexicon = "ab\ta b? c\ncd\td d\nx\tb"
    for spelled in ("_a_b_c_", "_ac__"):
        recognition = toy_decode(store, GRAMMAR, spelled, lexicon)
        assert recognition.result.alternatives[0].text == "ab", spelled


def test_a_repeated_unit_needs_a_blank_between(store):
    lexicon = "ab\ta\ncd\ta a\nx\tc"
    assert toy_decode(store, GRAMMAR, "_aa_", lexicon).result.alternatives[0].text == "ab"  # one a, held
    assert toy_decode(store, GRAMMAR, "_a_a_", lexicon).result.alternatives[0].text in ("cd", "ab ab")
    best = toy_decode(store, GRAMMAR, "_a_a_", lexicon).hypotheses
    assert {words for words, _, _ in best} >= {("cd",), ("ab", "ab")}


def test_word_times_and_nbest_come_from_the_search(store):
    recognition = toy_decode(store, GRAMMAR, "__ab___cd_", "ab\ta b\ncd\tc d\nx\tb")
    assert recognition.result.alternatives[0].text == "ab cd"
    assert recognition.result.alternatives[0].interpretations[0].value == "cd"
    assert [(w.word, round(w.start, 2), round(w.end, 2)) for w in recognition.words] == \
        [("ab", 0.04, 0.08), ("cd", 0.14, 0.18)]
    assert recognition.rejection_score == pytest.approx(1.0)
    assert len(recognition.hypotheses) >= 2 and len({h[0] for h in recognition.hypotheses}) == len(recognition.hypotheses)


def test_garbage_reads_anything_between_grammar_words(store):
    grammar = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $r;\npublic $r = ab $GARBAGE cd;"
    recognition = toy_decode(store, grammar, "_ab_dddbbb_cd_", "ab\ta b\ncd\tc d")
    assert recognition.result.status == "RECOGNIZED"
    assert [w.word for w in recognition.words] == ["ab", "cd"]


def test_speech_the_words_leave_uncovered_lowers_the_score(store):
    # "x" (one unit) could end the utterance after a long stretch of other speech sitting in its
    # leading blank: the coverage guard keeps that from passing
    grammar = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $r;\npublic $r = x;"
    recognition = toy_decode(store, grammar, "_a_b_c_a_b_c_d_", "x\td")
    assert recognition.result.status == "NO_MATCH" and recognition.rejected
    assert recognition.rejection_score is not None and recognition.rejection_score < 0.3
    accepted = toy_decode(store, grammar, "_a_b_c_a_b_c_d_", "x\td", rejection_threshold=0)
    assert accepted.result.status == "RECOGNIZED"


def test_a_short_word_cannot_account_for_many_emitted_phones_in_pt_br(store):
    # four phones emitted, each frame also close to "a": the one-position word "x" held over all of
    # them fits as well as the word loop and covers the speech, so only the phone count (1 required
    # position for 4 phone runs) tells; en-US has no phone-count guard
    spelled = "_abcd_"
    log_probs = emissions(spelled, peak=-0.3)
    log_probs[1:5, UNITS.index("a")] = np.maximum(log_probs[1:5, UNITS.index("a")], -0.5)
    table = TextLexicon(read_lexicon_text(["x\ta"]), language="pt-BR")
    model = CtcModel(emissions=lambda samples: log_probs, units=UNITS, lexicons={"pt": table, "en": table})
    audio = Audio(samples=np.zeros(16000, dtype=np.int16))
    results = {}
    for language in ("pt-BR", "en-US"):
        grammar = f"#ABNF 1.0 UTF-8;\nlanguage {language};\nroot $r;\npublic $r = x;"
        results[language] = model.session(store.activate([store.prepare_text(grammar)]),
                                          rejection_threshold=0.4).decode(audio)
    pt, en = results["pt-BR"], results["en-US"]
    assert pt.rejected and pt.rejection_score == pytest.approx(0.25 * en.rejection_score)
    assert not results["en-US"].rejected and results["en-US"].result.alternatives[0].text == "x"


def test_words_missing_from_the_lexicon_are_named(store):
    with pytest.raises(MissingPronunciationsError, match="'cd', 'x'"):
        toy_decode(store, GRAMMAR, "_a_", "ab\ta")
    # pt-BR: the shipped lexicon, then spelling rules; a word they cannot read is named
    pt = "#ABNF 1.0 UTF-8;\nlanguage pt-BR;\nroot $r;\npublic $r = sim | paçoca | ñandú;"
    with pytest.raises(DecoderError, match="not in the pt-BR pronunciation lexicon: 'ñandú'"):
        CtcModel().session(store.activate([store.prepare_text(pt)]))


# --- hama's model on synthesised speech -------------------------------------------------------


@pytest.mark.parametrize(("grammar", "text", "voice", "value"), [
    ("builtin:examples/pizza", "two large pizzas with mushrooms and olives", "en-us",
     {"qty": 2, "size": "L", "toppings": ["mushroom", "olive"]}),
    ("builtin:examples/yesno", "no", "en-us", "no"),
    ("builtin:grammar/boolean?lang=pt-BR", "com certeza", "pt-br", True),
    ("builtin:grammar/boolean?lang=pt-BR", "não", "pt-br", False),
    ("builtin:grammar/digits?lang=pt-BR", "cinco seis", "pt-br", "56"),
    # pt-BR words the lexicon's wider sets, in-sentence forms and the lighter grammar weight read
    # (before: "dois dois", "mil três", "cento e trinta e quatro")
    ("builtin:grammar/digits?lang=pt-BR", "um dois três", "pt-br", "123"),
    ("builtin:grammar/number?lang=pt-BR", "vinte e três", "pt-br", "23"),
    ("builtin:grammar/number?lang=pt-BR", "duzentos e trinta e quatro", "pt-br", "234"),
    # the tap of the t+r cluster is optional (before: "cem", the model hearing "t eɪ z i")
    ("builtin:grammar/number?lang=pt-BR", "treze", "pt-br", "13"),
])
def test_synthesised_speech_is_decoded_and_interpreted(ctc, store, speech, grammar, text, voice, value):
    audio = read_wav(synthesise(text, speech, voice=voice))
    with ctc.session(store.activate([grammar])) as session:
        recognition = session.decode(audio)
    result = recognition.result
    assert result.status == "RECOGNIZED"
    assert result.alternatives[0].text == text
    assert result.alternatives[0].interpretations[0].value == value
    assert [w.word for w in recognition.words] == text.split()
    assert all(0 <= w.start < w.end <= audio.seconds + 0.02 for w in recognition.words)
    assert 0 < result.alternatives[0].score <= 100


@pytest.mark.parametrize(("grammar", "text", "voice"), [
    ("builtin:examples/yesno", "what is the weather like today", "en-us"),
    ("builtin:grammar/boolean?lang=pt-BR", "eu quero pagar a conta de luz", "pt-br"),
    # read as "quatro um zero um oito" as well as the word loop reads it (score 0.55 alone): the
    # phone-count guard sees five short words for the phones of a sentence
    ("builtin:grammar/digits?lang=pt-BR", "quero cancelar meu pedido", "pt-br"),
])
def test_out_of_grammar_speech_is_rejected(ctc, store, speech, grammar, text, voice):
    audio = read_wav(synthesise(text, speech, voice=voice))
    session = ctc.session(store.activate([grammar]))
    recognition = session.decode(audio)
    assert recognition.result.status == "NO_MATCH" and recognition.rejected
    assert recognition.words == ()
    forced = ctc.session(store.activate([grammar]), rejection_threshold=0).decode(audio)
    assert forced.result.status == "RECOGNIZED"  # the search did find a sentence: rejection said no
    assert forced.rejection_score == recognition.rejection_score


def test_a_stream_fed_in_chunks_gives_the_whole_decode(ctc, store, speech):
    audio = read_wav(synthesise("com certeza", speech, voice="pt-br"))
    session = ctc.session(store.activate(["builtin:grammar/boolean?lang=pt-BR"]))
    stream = session.stream()
    assert stream.partial() is None
    pcm = audio.pcm()
    for offset in range(0, len(pcm), 3200):
        stream.feed(pcm[offset:offset + 3200])
    assert stream.partial() is not None
    final = stream.finish()
    assert final.result.alternatives[0].text == "com certeza"
    assert final.hypotheses == session.decode(audio).hypotheses
    with pytest.raises(DecoderError, match="ended"):
        stream.feed(b"\0\0")


def test_audio_at_another_rate_is_refused(ctc, store):
    session = ctc.session(store.activate(["builtin:examples/yesno"]))
    with pytest.raises(DecoderError, match="8000 Hz"):
        session.decode(Audio(samples=np.zeros(8000, dtype=np.int16), rate=8000))


# --- the command line -------------------------------------------------------------------------


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def test_srgs_recognize_backend_ctc_reads_pt_br(speech):
    wav = str(synthesise("cinco seis", speech, voice="pt-br"))
    status, out, _ = run_cli("recognize", "builtin:grammar/digits?lang=pt-BR", wav, "--backend", "ctc")
    assert status == 0
    result = json.loads(out)
    assert result["alternatives"][0]["interpretations"] == ["56"]
    assert [w["word"] for w in result["words"]] == ["cinco", "seis"]
    # the configuration's decoder.backend is the default
    status, out, _ = run_cli("--set", "decoder.backend=ctc", "recognize", "builtin:grammar/digits?lang=pt-BR", wav)
    assert status == 0 and json.loads(out)["alternatives"][0]["interpretations"] == ["56"]


def test_srgs_recognize_ctc_errors_are_one_line(tmp_path, speech):
    grammar = tmp_path / "g.gram"
    grammar.write_text("#ABNF 1.0 UTF-8;\nlanguage pt-BR;\nroot $r;\npublic $r = sim | ñandú;\n", encoding="utf-8")
    wav = str(synthesise("sim", speech, voice="pt-br"))
    status, out, err = run_cli("recognize", str(grammar), wav, "--backend", "ctc")
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "ñandú" in err and "Traceback" not in err


def test_the_default_threshold_and_reference_follow_the_grammars_language(ctc, store):
    pt = ctc.session(store.activate(["builtin:grammar/boolean?lang=pt-BR"]))
    en = ctc.session(store.activate(["builtin:examples/yesno"]))
    both = ctc.session(store.activate(["builtin:examples/yesno", "builtin:grammar/boolean?lang=pt-BR"]))
    assert (pt.rejection_threshold, en.rejection_threshold, both.rejection_threshold) == (0.47, 0.25, 0.25)
    assert pt.reference is not None and en.reference is None and both.reference is None  # pt-BR: its word loop
    assert pt.params.grammar_weight == 0.5 and en.params.grammar_weight == 0.5
    assert pt.params.skip_cost == 2.5 and en.params.skip_cost == 1.5
    assert ctc.session(store.activate(["builtin:examples/yesno"]), rejection_threshold=0.9).rejection_threshold == 0.9
    with pytest.raises(DecoderError, match="rejection_threshold must be a number"):
        ctc.session(store.activate(["builtin:examples/yesno"]), rejection_threshold=float("nan"))


def test_sessions_for_the_same_grammars_share_one_search_graph(store):
    model = CtcModel()
    first = model.session(store.activate(["builtin:grammar/boolean?lang=pt-BR"]))
    again = model.session(store.activate(["builtin:grammar/boolean?lang=pt-BR"]))
    weighted = model.session(store.activate([("builtin:grammar/boolean?lang=pt-BR", 2.0)]))
    other_language = model.session(store.activate(["builtin:grammar/boolean?lang=pt-BR"]), language="en-US")
    assert again.graph is first.graph
    assert weighted.graph is not first.graph and other_language.graph is not first.graph


def test_a_grammar_too_large_for_the_search_graph_is_a_clear_error(store, monkeypatch):
    import decoder.ctc_backend as backend

    monkeypatch.setattr(backend, "MAX_GRAPH_STATES", 12)
    with pytest.raises(DecoderError, match=r"too large for the CTC back end's search graph \(over 12 states"):
        toy_model("_a_", "ab\ta b\ncd\tc d\nx\td").session(store.activate([store.prepare_text(GRAMMAR)]))
