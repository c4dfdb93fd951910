"""CTC free speech from binary n-gram models: KenLM's format (``build_binary`` probing and trie,
the vocabulary read from the file's end by ``decoder.lm.read_kenlm_vocabulary``) and pocketsphinx's
trie (converted to ARPA), against the same model's ARPA text. The fixtures are in
tests/decoder/data (README.txt there says how they were made)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from decoder.audio import read_wav
from decoder.ctc_free_speech import CtcFreeSpeechSession
from decoder.ctc_lexicon_search import open_language_model, read_unigrams
from decoder.lm import LmError, read_kenlm_vocabulary
from srgs.load.policy import AccessPolicy
from tests.decoder.speech import synthesise

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
ARPA = str(DATA / "pizza.arpa")
PROBING = str(DATA / "pizza-probing.klm")
TRIE = str(DATA / "pizza-trie.klm")
NO_VOCABULARY = str(DATA / "pizza-novocab.klm")
SENTENCE = "i want two large pizzas with mushrooms and olives"
LOCAL = AccessPolicy.local()


@pytest.fixture(scope="module")
def sphinx_trie(tmp_path_factory) -> str:
    """The fixture's model in pocketsphinx's binary trie format, written by pocketsphinx itself."""
    import pocketsphinx

    path = tmp_path_factory.mktemp("sphinx") / "pizza.lm.bin"
    pocketsphinx.NGramModel.readfile(ARPA).write(str(path), pocketsphinx.NGramModel.str_to_type("bin"))
    assert path.read_bytes().startswith(b"Trie Language Model")
    return str(path)


def test_kenlm_binary_vocabulary_is_the_arpa_files(sphinx_trie):
    arpa = read_unigrams(ARPA)
    assert len(arpa) == 40
    for path in (PROBING, TRIE):
        words = read_kenlm_vocabulary(path)
        assert words[0] == "<unk>" and sorted(words) == sorted(arpa)  # probing keeps the ARPA order, trie its own
        _, unigrams = open_language_model(path, path)  # log10 p from KenLM's null context
        assert set(unigrams) == set(arpa)
        assert all(unigrams[word] == pytest.approx(arpa[word], abs=1e-6) for word in arpa)
    _, unigrams = open_language_model(sphinx_trie, sphinx_trie)  # pocketsphinx's trie: via ARPA text
    assert set(unigrams) == set(arpa)
    assert all(unigrams[word] == pytest.approx(arpa[word], abs=1e-4) for word in arpa if word != "<s>")


def test_an_arpa_file_without_unk_gives_one_string_more_in_a_probing_binary(tmp_path):
    """KenLM adds <unk> to a vocabulary that lacks it; a probing binary then stores one string
    more than its header's unigram count (a trie binary counts it)."""
    header = bytearray(Path(PROBING).read_bytes())
    counts_at = 108
    (unigrams,) = struct.unpack_from("<Q", header, counts_at)
    struct.pack_into("<Q", header, counts_at, unigrams - 1)
    path = tmp_path / "fewer.klm"
    path.write_bytes(bytes(header))
    assert sorted(read_kenlm_vocabulary(path)) == sorted(read_kenlm_vocabulary(PROBING))


def test_the_same_utterance_from_arpa_and_binary_models_gives_the_same_words(ctc, speech, sphinx_trie):
    audio = read_wav(synthesise(SENTENCE, speech))
    log_probs = ctc.log_probs(audio)
    found = {}
    for path in (ARPA, PROBING, TRIE, sphinx_trie):
        session = CtcFreeSpeechSession(ctc, path, policy=LOCAL, nbest=3)
        assert session.search == "dynamic" and session.path == path
        recognition = session.decode_log_probs(log_probs, audio_seconds=audio.seconds)
        assert recognition.result.status == "RECOGNIZED"
        found[path] = recognition
    expected = found[ARPA]
    assert expected.result.alternatives[0].text == SENTENCE
    for path in (PROBING, TRIE, sphinx_trie):
        got = found[path]
        assert [a.text for a in got.result.alternatives] == [a.text for a in expected.result.alternatives]
        assert [w.word for w in got.words] == SENTENCE.split()
        assert [(h[0], round(h[1], 2)) for h in got.hypotheses] == [(h[0], round(h[1], 2)) for h in expected.hypotheses]
        assert got.result.alternatives[0].lm == path
    # a session on the same file shares the search (KenLM and the tree)
    assert CtcFreeSpeechSession(ctc, TRIE, policy=LOCAL, lm_weight=1.0)._dynamic is \
        CtcFreeSpeechSession(ctc, TRIE, policy=LOCAL)._dynamic


def _damaged(tmp_path: Path, name: str, change) -> str:
    data = bytearray(Path(TRIE).read_bytes())
    path = tmp_path / name
    path.write_bytes(bytes(change(data)))
    return str(path)


def test_bad_kenlm_binaries_are_one_line_errors_naming_the_file(ctc, tmp_path):
    size = Path(TRIE).stat().st_size
    last = Path(TRIE).read_bytes()[:-1].rsplit(b"\0", 1)[1]  # the file's last word

    def version_4(data):
        data[49] = ord("4")
        return data

    def unknown_word(data):
        data[-2] ^= 1  # the last word's last letter: a word the model does not know
        return data

    def more_unigrams(data):
        struct.pack_into("<Q", data, 108, 400)
        return data

    cases = [
        (NO_VOCABULARY, "has no vocabulary \\(built with build_binary -v\\)"),
        (_damaged(tmp_path, "cut.klm", lambda data: data[:-3]), "cut short"),
        (_damaged(tmp_path, "cut-word.klm", lambda data: data[:-len(last) - 1]), "does not hold the header's 40 words"),
        (_damaged(tmp_path, "half.klm", lambda data: data[:size // 2]), "KenLM can read .*Binary file has size"),
        (_damaged(tmp_path, "header.klm", lambda data: data[:100]), "KenLM can read .*End of file"),
        (_damaged(tmp_path, "v4.klm", version_4), "version 4"),
        (_damaged(tmp_path, "unknown.klm", unknown_word), "which the model does not know"),
        (_damaged(tmp_path, "counts.klm", more_unigrams), "KenLM can read .*should be at least"),
    ]
    for path, message in cases:
        with pytest.raises(LmError, match=message) as caught:
            CtcFreeSpeechSession(ctc, path, policy=LOCAL)
        text = str(caught.value)
        assert "\n" not in text and path in text and "Traceback" not in text, (path, text)
    # the vocabulary reader alone (KenLM, which loads first in a session, reports some of these itself)
    for name, change, message in [
            ("r-cut-word.klm", lambda data: data[:-len(last) - 1], "does not hold the header's 40 words"),
            ("r-header.klm", lambda data: data[:100], "truncated"),
            ("r-v4.klm", version_4, "format version 4, this reads version 5"),
            ("r-counts.klm", more_unigrams, "does not hold the header's 400 words"),
            ("r-sanity.klm", lambda data: data[:60] + b"\x7f" + data[61:], "another architecture"),
            ("r-incomplete.klm", lambda data: b"mmap lm http://kheafield.com/code incomplete\n" + data[45:],
             "did not finish building")]:
        path = _damaged(tmp_path, name, change)
        with pytest.raises(LmError, match=message) as caught:
            read_kenlm_vocabulary(path)
        assert "\n" not in str(caught.value) and path in str(caught.value)
    with pytest.raises(LmError, match="vocabulary is larger than 200 bytes"):
        read_kenlm_vocabulary(TRIE, max_bytes=200)
    with pytest.raises(LmError, match="not a KenLM binary file"):
        read_kenlm_vocabulary(ARPA)


def test_static_search_refuses_binaries_with_a_one_line_error(ctc, sphinx_trie):
    for path, kind in ((TRIE, "kenlm"), (sphinx_trie, "trie")):
        with pytest.raises(LmError, match=f"static free-speech search reads ARPA models.*not a {kind} binary file: "
                                          "use the dynamic search"):
            CtcFreeSpeechSession(ctc, path, policy=LOCAL, search="static")


def test_damaged_pocketsphinx_trie_is_a_one_line_error(ctc, sphinx_trie, tmp_path):
    cut = tmp_path / "cut.lm.bin"
    cut.write_bytes(Path(sphinx_trie).read_bytes()[:5000])
    with pytest.raises(LmError, match="damaged pocketsphinx binary model") as caught:
        CtcFreeSpeechSession(ctc, str(cut), policy=LOCAL)
    assert str(cut) in str(caught.value) and "\n" not in str(caught.value)


def test_srgs_recognize_with_a_kenlm_binary(speech, tmp_path):
    wav = synthesise("two small pizzas please", speech)
    model = tmp_path / "pizza.klm"
    shutil.copyfile(PROBING, model)
    run = subprocess.run([sys.executable, "-m", "srgs.cli", "recognize", "--backend", "ctc", "--lm", str(model),
                          str(wav)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    output = json.loads(run.stdout)
    assert output["result_status"] == "RECOGNIZED"
    best = output["alternatives"][0]
    assert best["text"] == "two small pizzas please" and best["lm"] == str(model)
    assert [w["word"] for w in output["words"]] == best["text"].split()


def test_the_tree_does_not_depend_on_the_order_the_file_lists_its_words_in(ctc):
    """A KenLM trie binary stores its words in hash order, the ARPA file in its own: words of
    equal unigram probability (common in a small model) must give the same tree either way."""
    from decoder.ctc_lexicon_search import spell_vocabulary

    unigrams = read_unigrams(ARPA)
    ties = [p for p in unigrams.values() if list(unigrams.values()).count(p) > 1]
    assert ties  # the fixture has words of equal probability
    lexicon = ctc.lexicon("en-US")

    def entries(order):
        spelled = spell_vocabulary({word: unigrams[word] for word in order}, lexicon, ctc.unit_ids, ctc.blank_ids())
        # the same pronunciations of the same words, likeliest first (token numbers follow the order)
        return [(score, spelled.words[index], tuple(tuple(spelled.token_units[token]) for token in spelling))
                for score, spelling, index in spelled.entries]

    assert entries(list(unigrams)) == entries(list(reversed(unigrams))) == entries(read_kenlm_vocabulary(TRIE))


def test_the_wheels_own_trie_named_by_path_uses_the_cached_conversion(sphinx_trie, monkeypatch):
    """The pocketsphinx wheel's general model named by its path is not converted again: its cached
    ARPA (``general_arpa``) is read (stood in for here by the small fixtures)."""
    import decoder.lm

    used = []

    def general_arpa() -> Path:
        used.append(1)
        return Path(ARPA)

    monkeypatch.setattr(decoder.lm, "sphinx_general_lm", lambda: sphinx_trie)
    monkeypatch.setattr(decoder.lm, "general_arpa", general_arpa)
    _, unigrams = open_language_model(sphinx_trie, sphinx_trie)
    assert used == [1] and unigrams == read_unigrams(ARPA)
