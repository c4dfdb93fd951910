"""The CTC back end's dynamic free-speech search (``decoder.ctc_lexicon_search``: flashlight-text's
lexicon decoder over a pronunciation tree, KenLM at word ends): on a grammar-shaped ARPA model,
its pieces on their own, and ``builtin:slm/general`` end to end through ``srgs recognize``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from decoder.audio import read_wav
from decoder.ctc_free_speech import CtcFreeSpeechSession
from decoder.ctc_lexicon_search import MAX_HOMOPHONES, LexiconSearch, _spellings, _word_frames, read_unigrams
from decoder.lexicon import TextLexicon, parse_pronunciation
from decoder.lm import LanguageModel, build_arpa
from srgs.load.policy import AccessPolicy
from tests.decoder.checks import assert_alternatives_ranked, assert_words_timed
from tests.decoder.speech import synthesise

ROOT = Path(__file__).resolve().parents[2]
PIZZA_SENTENCE = "i want two large pizzas with mushrooms and olives"


@pytest.fixture(scope="module")
def pizza_lm(tmp_path_factory) -> str:
    corpus = subprocess.run([sys.executable, "-m", "srgs.cli", "generate", "builtin:examples/pizza", "-n", "200",
                             "--seed", "3"], check=True, capture_output=True, text=True, timeout=60, cwd=ROOT).stdout.splitlines()
    path = tmp_path_factory.mktemp("ctcdyn") / "pizza.arpa"
    path.write_text(build_arpa(corpus, 3), encoding="utf-8")
    return str(path)


def test_dynamic_search_recognises_a_sentence_with_exact_kenlm_scores(ctc, pizza_lm, speech):
    import flashlight.lib.text.decoder  # noqa: F401  # a dependency: the search is its LexiconDecoder

    session = CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), nbest=3, search="dynamic")
    assert session.search == "dynamic" and session.lm_weight == 0.8 and session.word_bonus == 1.0
    audio = read_wav(synthesise(PIZZA_SENTENCE, speech))
    recognition = session.decode(audio)
    result = recognition.result
    assert result.status == "RECOGNIZED" and result.alternatives[0].text == PIZZA_SENTENCE
    assert result.alternatives[0].lm == pizza_lm and result.alternatives[0].score > 50
    assert_alternatives_ranked(recognition, 3)
    assert_words_timed(recognition, PIZZA_SENTENCE, audio.seconds)
    assert recognition.words[0].confidence > 50
    assert recognition.hypotheses[0] == (tuple(PIZZA_SENTENCE.split()), 0.0, pizza_lm)
    # the search's LM part is KenLM's sentence log-probability (</s> included), in nats
    search = session._dynamic
    assert search is not None
    found = search.decode(ctc.log_probs(audio), lm_weight=0.8, word_bonus=0.5)
    best = found[0]
    assert best.lm == pytest.approx(LanguageModel(pizza_lm).score(best.words) * math.log(10), abs=1e-3)
    assert best.score == pytest.approx(best.acoustic + 0.8 * best.lm + 0.5 * len(best.words), abs=1e-3)
    assert [h.score for h in found] == sorted((h.score for h in found), reverse=True)
    assert len({h.words for h in found}) == len(found)
    # sessions on the same file share the search (KenLM and the tree), whatever their weights
    other = CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), search="dynamic", lm_weight=1.0)
    assert other._dynamic is search


def test_word_frames_come_from_the_token_path():
    # frames:     0  1  2  3  4  5  6  7  8  9
    tokens = [0, 5, 5, 6, 0, 0, 7, 7, 0, 0]
    labels = [-1, -1, -1, 3, -1, -1, 9, -1, -1, -1]  # a word ends where its last token is entered
    assert list(_word_frames(labels, tokens)) == [(1, 3), (6, 7)]


def test_tree_spellings_homophones_and_vocabulary(ctc, tmp_path):
    lexicon_text = "\n".join([f"w{i}\tb i" for i in range(MAX_HOMOPHONES + 2)] + ["hat\th? æ t", "zz\tz"])
    entries = {}
    for line in lexicon_text.splitlines():
        word, _, pron = line.partition("\t")
        entries[word] = (parse_pronunciation(pron),)
    lexicon = TextLexicon(entries, language="en-US")
    words = [f"w{i}" for i in range(MAX_HOMOPHONES + 2)] + ["hat", "nothing"]
    arpa = build_arpa([" ".join(words[: i + 1]) for i in range(len(words))], 2)
    path = tmp_path / "small.arpa"
    path.write_text(arpa, encoding="utf-8")
    assert "w0" in read_unigrams(str(path)) and "<s>" in read_unigrams(str(path))
    search = LexiconSearch.build(str(path), "small.arpa", lexicon, ctc.unit_ids, ctc.blank_ids())
    assert search.unpronounceable == ("nothing",)
    token_of = {tuple(units): index for index, units in enumerate(search.token_units)}
    b, i, h, ae, t = (token_of[(ctc.unit_ids[unit],)] for unit in ("b", "i", "h", "æ", "t"))
    # homophones: the node ends the likeliest MAX_HOMOPHONES words (flashlight's limit)
    node = search.trie.search([b, i])
    assert len(node.labels) == MAX_HOMOPHONES
    kept = {search.words[label] for label in node.labels}
    unigrams = read_unigrams(str(path))
    homophones = sorted((w for w in words if w.startswith("w")), key=lambda w: -unigrams[w])
    assert kept == set(homophones[:MAX_HOMOPHONES])
    # an optional position: spelled with and without it
    assert [search.words[x] for x in search.trie.search([h, ae, t]).labels] == ["hat"]
    assert [search.words[x] for x in search.trie.search([ae, t]).labels] == ["hat"]
    assert len(_spellings(parse_pronunciation("h? æ? t? s"))) == 4  # at most MAX_VARIANTS


def test_general_model_through_srgs_recognize(speech):
    """``srgs recognize --backend ctc builtin:slm/general``: the whole path, one process (loading
    the general model takes about 3 s: KenLM reads its ARPA, the tree of 72k words is built)."""
    text = "please call me tomorrow"
    wav = synthesise(text, speech)
    began = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "srgs.cli", "recognize", "--backend", "ctc", "builtin:slm/general",
                          str(wav)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert time.perf_counter() - began < 120
    output = json.loads(run.stdout)
    assert output["result_status"] == "RECOGNIZED"
    best = output["alternatives"][0]
    assert best["lm"] == "builtin:slm/general" and 0 <= best["score"] <= 100
    heard = best["text"].split()
    assert len(set(heard) & set(text.split())) >= 3  # measured: all four words
    assert [w["word"] for w in output["words"]] == heard
    assert all(w["start"] < w["end"] for w in output["words"])


def test_sessions_share_the_search_across_threads(ctc, pizza_lm, speech):
    from concurrent.futures import ThreadPoolExecutor

    sentences = [PIZZA_SENTENCE, "a small pizza with ham", "two large pizzas please"]
    emissions = [ctc.log_probs(read_wav(synthesise(text, speech))) for text in sentences]
    # rejection_threshold 0: the order "a small pizza with ham" (en-us, 150 wpm) is among the 10% the
    # default threshold rejects; this test is about threads, not rejection
    sessions = [CtcFreeSpeechSession(ctc, pizza_lm, policy=AccessPolicy.local(), search="dynamic",
                                     rejection_threshold=0.0) for _ in range(3)]
    alone = [session.decode_log_probs(log_probs, audio_seconds=1.0).result.alternatives[0].text
             for session, log_probs in zip(sessions, emissions, strict=True)]
    assert alone[0] == PIZZA_SENTENCE and len(set(alone)) == 3
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(lambda pair: pair[0].decode_log_probs(pair[1], audio_seconds=1.0),
                                 [(sessions[i % 3], emissions[i % 3]) for i in range(9)]))
    assert [r.result.alternatives[0].text for r in together] == alone * 3  # the same as one at a time
