"""Saved compiled grammars, the content-keyed cache, and the decoder's state-by-state view."""

from __future__ import annotations

import threading

import pytest

from interpreter.parse import parse_words
from srgs.bundle import GrammarBundle
from srgs.compile import CompileCache, CompiledGrammar, compile_bundle, compile_cached
from srgs.compile import cache as cache_module
from srgs.errors import CompileError
from srgs.model import Grammar, Tag

from .models import alts, notation, ref, rep, rule, seq, single, special, tag, tok


def pizza():
    size = rule("size", alts(*[seq(tok(s), tag(f'out="{s}"')) for s in ("small", "large", "extra large")]))
    return single(seq(rep(tok("a"), 0, 1), ref("#size"), tok("pizza"), rep(special("GARBAGE"), 0, 1)), size)


SENTENCES = ["a small pizza", "extra large pizza", "a large pizza thanks", "pizza", "small", "a a small pizza"]


def test_save_load_round_trip_same_parses_without_reparsing(tmp_path, monkeypatch):
    compiled = compile_bundle(pizza())
    path = tmp_path / "pizza.far"
    compiled.save(path)

    def no_reading(*args, **kwargs):
        raise AssertionError("a grammar was read again")

    monkeypatch.setattr("srgs.compile.compiler.compile_bundle", no_reading)
    loaded = CompiledGrammar.load(path)
    for sentence in SENTENCES:
        words = sentence.split()
        before = [(notation(p.tree), round(p.cost, 4)) for p in parse_words(compiled, words, nbest=3)]
        after = [(notation(p.tree), round(p.cost, 4)) for p in parse_words(loaded, words, nbest=3)]
        assert before == after, sentence
    assert loaded.metadata["source_hash"] == compiled.metadata["source_hash"]
    assert loaded.metadata["active"] == ["main"]
    assert loaded.symbol_list == compiled.symbol_list
    assert loaded.symbols.find("pizza") == compiled.word_labels["pizza"]
    assert loaded.stats["transducer"] == compiled.stats["transducer"]


def test_metadata_carries_tag_formats_and_header_tags(tmp_path):
    g = Grammar(root="main", tag_format="semantics/1.0", language="en-US", tags=(Tag(text="var x = 1;"),),
                rules=(rule("main", tok("hi")),), uri="g.grxml")
    compiled = compile_bundle(GrammarBundle.single(g, key="g.grxml"))
    compiled.save(tmp_path / "g.far")
    meta = CompiledGrammar.load(tmp_path / "g.far").metadata
    assert meta["grammars"]["g.grxml"] == {"tag_format": "semantics/1.0", "language": "en-US", "mode": "voice",
                                           "header_tags": ["var x = 1;"]}
    assert (meta["language"], meta["mode"], meta["tag_format"], meta["root"]) == ("en-US", "voice", "semantics/1.0", "main")
    assert meta["compiler_version"] and len(meta["grammar_hashes"]["g.grxml"]) == 64


def test_loading_a_foreign_file_is_a_compile_error(tmp_path):
    path = tmp_path / "junk.far"
    path.write_bytes(b"not a far at all")
    with pytest.raises(CompileError):
        CompiledGrammar.load(path)


def test_cache_hits_on_equal_content_and_misses_on_an_edit(tmp_path):
    cache = CompileCache(max_entries=4)
    first = cache.get(pizza())
    again = cache.get(pizza())  # a different but equal model
    assert again is first and cache.hits == 1 and cache.misses == 1
    edited = single(tok("pasta"))
    assert cache.get(edited) is not first and cache.misses == 2


def test_disk_cache_serves_another_process(tmp_path):
    compile_cached(pizza(), cache=CompileCache(directory=tmp_path))
    fresh = CompileCache(directory=tmp_path)
    compiled = fresh.get(pizza())
    assert fresh.disk_hits == 1 and fresh.misses == 0
    assert parse_words(compiled, "a small pizza".split())
    assert len(list(tmp_path.glob("*.far"))) == 1


def test_default_cache_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_default_cache", None)
    monkeypatch.setenv("SRGS_CACHE_DIR", str(tmp_path))
    assert cache_module.default_cache().directory == tmp_path
    monkeypatch.setattr(cache_module, "_default_cache", None)


def test_decoder_view_follows_the_acceptor():
    compiled = compile_bundle(pizza())
    state = compiled.start()
    costs = 0.0
    for word in ["a", "extra", "large"]:
        [(state, cost)] = compiled.advance(state, word)
        costs += cost
    assert compiled.final_cost(state) == float("inf")
    [(state, cost)] = compiled.advance(state, "pizza")
    assert compiled.final_cost(state) < float("inf")
    # After "pizza", $GARBAGE reads any word, known or not.
    assert compiled.advance(state, "whatever")
    assert compiled.advance(compiled.start(), "pizza") == []


def test_decoder_view_is_safe_to_share_between_threads():
    compiled = compile_bundle(pizza())
    results = []

    def walk():
        state = compiled.start()
        for word in ["a", "small", "pizza"]:
            state = compiled.advance(state, word)[0][0]
        results.append(compiled.final_cost(state))

    threads = [threading.Thread(target=walk) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1


def test_an_unwritable_cache_directory_only_costs_a_recompile(tmp_path):
    from srgs.compile import CompileCache

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    cache = CompileCache(directory=blocker / "cache")
    first = cache.get(single(tok("hello")))
    assert first.transducer.num_states() > 0
    assert cache.misses == 1
