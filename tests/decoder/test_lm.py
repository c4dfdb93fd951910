"""N-gram models: interpolated modified Kneser-Ney estimation written as ARPA, KenLM scoring,
pocketsphinx's trie format read back, and builtin:slm/general's cached conversion."""

from __future__ import annotations

import io
import math
import os
import stat
import subprocess

import pytest

from decoder import lm as lm_module
from decoder.lm import (
    BOS,
    EOS,
    UNK,
    LanguageModel,
    LmError,
    _discounts,
    build_arpa,
    estimate,
    general_arpa,
    read_sphinx_trie,
)

PIZZA = "builtin:examples/pizza"


def generated(grammar: str, count: int, seed: int) -> list[str]:
    out = subprocess.run(["srgs", "generate", grammar, "-n", str(count), "--seed", str(seed)], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return [line for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return generated(PIZZA, 300, 1)


@pytest.fixture(scope="module")
def pizza_arpa(tmp_path_factory, corpus) -> str:
    path = tmp_path_factory.mktemp("lm") / "pizza.arpa"
    path.write_text(build_arpa(corpus, 3), encoding="utf-8")
    return str(path)


def parse_arpa(text: str) -> dict[tuple[str, ...], tuple[float, float | None]]:
    entries: dict[tuple[str, ...], tuple[float, float | None]] = {}
    section = 0
    for line in text.splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            section = int(line[1:line.index("-")])
            continue
        if section and line.strip() and not line.startswith("\\"):
            fields = line.split("\t")
            assert len(fields[1].split()) == section
            entries[tuple(fields[1].split())] = (float(fields[0]), float(fields[2]) if len(fields) > 2 else None)
    return entries


# --- estimation -------------------------------------------------------------------------------


def test_unigrams_use_continuation_counts():
    # b follows two different words (a, c): adjusted count 2 although it occurs 3 times; a and c
    # follow only <s> (count 1 each, as does </s> after b). Too little data: discounts 0.5, 1, 1.5.
    # total 5, discount mass 1 + 3 * 0.5 = 2.5, gamma 0.5, vocabulary {a, b, c, </s>, <unk>}.
    model = estimate(["a b", "a b", "c b"], 2)
    assert model.fallback_orders == (1, 2)
    unigrams = {gram[0]: 10 ** prob for gram, (prob, _) in model.entries[0].items()}
    assert unigrams["b"] == pytest.approx(1 / 5 + 0.5 / 5)
    assert unigrams["a"] == pytest.approx(0.5 / 5 + 0.5 / 5)
    assert unigrams[EOS] == pytest.approx(0.2)
    assert unigrams[UNK] == pytest.approx(0.5 / 5)
    assert model.entries[0][(BOS,)][0] == -99.0
    # p(b | a): raw count 2 of 2, discount 1 -> 0.5 + gamma(a) 0.5 * p(b)
    assert 10 ** model.entries[1][("a", "b")][0] == pytest.approx(0.5 + 0.5 * 0.3)
    assert 10 ** model.entries[0][("a",)][1] == pytest.approx(0.5)  # back-off of a = gamma(a)


def test_modified_discounts_follow_the_count_of_counts():
    counts = [1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [7]
    y = 10 / (10 + 2 * 5)
    assert _discounts(counts) == pytest.approx((1 - 2 * y * 5 / 10, 2 - 3 * y * 3 / 5, 3 - 4 * y * 2 / 3))
    assert _discounts([1, 1, 2]) is None  # no 3s or 4s: the fallback applies


@pytest.mark.parametrize("order", [2, 3, 4])
def test_probabilities_sum_to_one_under_kenlm(tmp_path, corpus, order):
    path = tmp_path / f"pizza{order}.arpa"
    model = estimate(corpus, order)
    path.write_text(model.to_arpa(), encoding="utf-8")
    lm = LanguageModel(str(path))
    assert lm.order == order
    vocabulary = [word for word in model.vocabulary if word != BOS]
    assert UNK in vocabulary and EOS in vocabulary
    contexts = [[], ["i"], ["a", "large"], ["two", "small", "pizzas"], ["with", "extra"], ["zzz-unknown"]]
    for context in contexts:
        state = lm.begin_state()
        for word in context:
            state = lm.advance(state, word)[1]
        total = math.fsum(10 ** lm.advance(state, word, log10=True)[0] for word in vocabulary)
        assert total == pytest.approx(1.0, abs=1e-5), context
    null = lm.null_state()
    assert math.fsum(10 ** lm.advance(null, w, log10=True)[0] for w in vocabulary) == pytest.approx(1.0, abs=1e-5)


def test_pocketsphinx_reads_the_arpa(pizza_arpa):
    import pocketsphinx

    model = pocketsphinx.NGramModel(pocketsphinx.Config(lm=None), pocketsphinx.LogMath(), pizza_arpa)
    assert model.size() == 3
    arpa = parse_arpa(open(pizza_arpa, encoding="utf-8").read())
    gram = next(g for g in arpa if len(g) == 3)
    # pocketsphinx takes the word then its history, most recent first, in log base 1.0001
    assert model.prob([gram[2], gram[1], gram[0]]) * math.log10(1.0001) == pytest.approx(arpa[gram][0], abs=1e-3)


def test_trigram_beats_unigram_on_held_out_sentences(pizza_arpa, corpus):
    held_out = [s for s in generated(PIZZA, 80, 99) if s not in set(corpus)][:40]
    assert len(held_out) >= 20
    lm = LanguageModel(pizza_arpa)
    trigram = lm.perplexity(held_out)
    unigrams = {g[0]: p for g, (p, _) in estimate(corpus, 3).entries[0].items()}
    words = [w for s in held_out for w in [*s.split(), EOS]]
    unigram = 10 ** (-sum(unigrams.get(w, unigrams[UNK]) for w in words) / len(words))
    assert 1.0 < trigram < unigram / 2, (trigram, unigram)
    # and word salad is far less likely than a sentence of the grammar
    assert lm.score("a large pizza with mushrooms") > lm.score("mushrooms with pizza large a") + 2


def test_advance_costs_add_up_to_the_sentence_score(pizza_arpa):
    lm = LanguageModel(pizza_arpa)
    words = "i would like two large pizzas".split()
    state, total = lm.begin_state(), 0.0
    for word in words:
        cost, state = lm.advance(state, word)
        assert cost > 0
        total += cost
    total += lm.end_cost(state)
    assert total == pytest.approx(-lm.score(words) * math.log(10), rel=1e-5)
    assert lm.contains("pizza") and not lm.contains("zebra")
    assert lm.begin_state() == lm.begin_state() and hash(lm.begin_state()) == hash(lm.begin_state())


def test_corpus_problems_are_one_line_errors():
    with pytest.raises(LmError) as info:
        estimate(["a b", "", "x  </s> y"], 3, source="corpus.txt")
    assert info.value.diagnostics() == ["corpus.txt:3:4: error: </s> is reserved for the sentence boundaries: "
                                        "give plain sentences, one a line"]
    with pytest.raises(LmError, match="no sentence"):
        estimate(["", "   "], 3)
    for order in (1, 7, "3", True):
        with pytest.raises(LmError, match="order must be an integer from 2 to 6"):
            estimate(["a b"], order)  # type: ignore[arg-type]


def test_language_model_errors(tmp_path):
    with pytest.raises(LmError, match="language model file not found"):
        LanguageModel(str(tmp_path / "missing.arpa"))
    bad = tmp_path / "bad.arpa"
    bad.write_text("hello\n", encoding="utf-8")
    with pytest.raises(LmError) as info:
        LanguageModel(str(bad))
    assert info.value.diagnostics()[0].startswith(f"{bad}: error: not a language model KenLM can read")
    with pytest.raises(LmError, match="unknown built-in language model"):
        LanguageModel("builtin:slm/nothing")


# --- pocketsphinx's trie format and builtin:slm/general ----------------------------------------


def test_trie_reader_gives_back_the_arpa_pocketsphinx_binarised(tmp_path, pizza_arpa):
    import pocketsphinx

    binary = tmp_path / "pizza.lm.bin"
    model = pocketsphinx.NGramModel(pocketsphinx.Config(lm=None), pocketsphinx.LogMath(), pizza_arpa)
    model.write(str(binary), pocketsphinx.NGramModel.str_to_type("bin"))
    trie = read_sphinx_trie(binary)
    buffer = io.StringIO()
    trie.write_arpa(buffer)
    original, converted = parse_arpa(open(pizza_arpa, encoding="utf-8").read()), parse_arpa(buffer.getvalue())
    assert set(original) == set(converted)
    for gram, (prob, backoff) in original.items():
        if prob > -90:  # <s>
            assert converted[gram][0] == pytest.approx(prob, abs=2e-4), gram  # 16-bit quantisation
        assert (converted[gram][1] or 0.0) == pytest.approx(backoff or 0.0, abs=2e-4), gram


def test_the_wheels_general_model_is_read_whole():
    trie = read_sphinx_trie(lm_module.sphinx_general_lm())
    # the header says 2051547 bigrams; the trie holds 2051541 (pocketsphinx's own writer crashes on this)
    assert trie.counts() == [72547, 2051541, 1669625]
    import pocketsphinx

    ps = pocketsphinx.NGramModel(pocketsphinx.Config(lm=None), pocketsphinx.LogMath(), lm_module.sphinx_general_lm())
    for ids, probs, _ in trie.grams:  # n-grams spread over each order, as pocketsphinx scores them
        for row in (0, len(probs) // 3, len(probs) // 2, len(probs) - 1):
            words = [trie.words[i] for i in ids[row]]
            # pocketsphinx scores a word given its history, most recent first (log base 1.0001)
            assert float(probs[row]) == pytest.approx(ps.prob(words[::-1]), abs=1.0), words
    assert trie.words.index("pizza") >= 0


def test_general_arpa_is_converted_once_into_a_private_cache(tmp_path, monkeypatch, pizza_arpa):
    import pocketsphinx

    binary = tmp_path / "en-us.lm.bin"
    pocketsphinx.NGramModel(pocketsphinx.Config(lm=None), pocketsphinx.LogMath(), pizza_arpa).write(
        str(binary), pocketsphinx.NGramModel.str_to_type("bin"))
    monkeypatch.setattr(lm_module, "sphinx_general_lm", lambda: str(binary))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = general_arpa()
    folder = tmp_path / "cache" / "srgs-engine"
    assert path.parent == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temporary file left behind
    first = path.stat().st_mtime_ns
    assert general_arpa() == path and path.stat().st_mtime_ns == first  # converted once
    lm = LanguageModel("builtin:slm/general")
    assert lm.path == str(path) and lm.order == 3
    assert lm.score("a large pizza") > lm.score("pizza large a")
    # a cache directory others may write to is not used
    os.chmod(folder, 0o777)
    with pytest.raises(LmError, match="no private cache directory"):
        general_arpa()
    os.chmod(folder, 0o700)
