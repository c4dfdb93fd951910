"""Every expansion construct compiles to the paths SRGS gives it (SRGS §2.1-§2.6)."""

from __future__ import annotations

import pytest

from interpreter.parse import parse_words
from srgs.bundle import GrammarBundle
from srgs.compile import compile_bundle
from srgs.compile.symbols import ANY_LABEL
from srgs.errors import CompileError, GrammarValidationError, ResolveError
from srgs.model import Grammar

from .models import alts, grammar, notation, ref, rep, rule, seq, single, special, tag, tok


def trees(bundle: GrammarBundle, text: str, nbest: int = 1) -> list[str]:
    compiled = compile_bundle(bundle)
    return [notation(parse.tree) for parse in parse_words(compiled, text.split(), nbest=nbest)]


def accepts(bundle: GrammarBundle, text: str) -> bool:
    return bool(trees(bundle, text))


def test_single_token_and_case_folding():
    bundle = single(tok("Hello"))
    assert trees(bundle, "hello") == ['$main["Hello"]']
    assert not accepts(bundle, "hello hello")
    assert not accepts(bundle, "")


def test_multi_word_token_is_one_token_and_keeps_its_words():
    compiled = compile_bundle(single(seq(tok("new york"), tok("city"))))
    [parse] = parse_words(compiled, ["new", "york", "city"])
    assert notation(parse.tree) == '$main["new york","city"]'
    assert parse.tree.children[0].words == ("new", "york")
    assert parse_words(compiled, ["new", "city"]) == []


def test_token_without_words_is_an_event_only():
    assert trees(single(seq(tok("a"), tok("..."), tok("b"))), "a b") == ['$main["a","...","b"]']


def test_sequence_one_of_and_tags_in_order():
    bundle = single(seq(tok("a"), alts(seq(tok("b"), tag("x=1")), tok("c")), tag("done")))
    assert trees(bundle, "a b") == ['$main["a","b",{!{x=1}!},{!{done}!}]']
    assert trees(bundle, "a c") == ['$main["a","c",{!{done}!}]']
    assert not accepts(bundle, "a")


@pytest.mark.parametrize(
    ("low", "high", "accepted", "rejected"),
    [
        (0, 1, [0, 1], [2]),
        (1, 1, [1], [0, 2]),
        (2, 4, [2, 3, 4], [0, 1, 5]),
        (0, None, [0, 1, 7], []),
        (1, None, [1, 2, 9], [0]),
        (3, None, [3, 4, 10], [0, 2]),
        (3, 3, [3], [2, 4]),
        (0, 0, [0], [1]),
    ],
)
def test_repeat_counts(low, high, accepted, rejected):
    bundle = single(seq(tok("start"), rep(tok("x"), low, high)))
    for count in accepted:
        assert accepts(bundle, " ".join(["start"] + ["x"] * count)), count
    for count in rejected:
        assert not accepts(bundle, " ".join(["start"] + ["x"] * count)), count


def test_repeat_of_tag_only_item_counts_once():
    """W3C tag-repetition: ``({"foo"})<2->`` is one tag, and never an endless epsilon loop."""
    bundle = single(seq(tok("bar"), rep(tag('"foo"'), 2, None)))
    assert trees(bundle, "bar", nbest=5) == ['$main["bar",{!{"foo"}!}]']


def test_repeat_of_partly_empty_body_has_finitely_many_parses():
    bundle = single(rep(alts(tok("a"), tag("t")), 0, None))
    compiled = compile_bundle(bundle)
    parses = parse_words(compiled, ["a", "a"], nbest=50)
    assert 1 <= len(parses) < 50
    assert all(parse.tree.words == ("a", "a") for parse in parses)
    assert len({notation(parse.tree) for parse in parses}) == len(parses)


def test_null_void_garbage():
    assert trees(single(seq(tok("a"), special("NULL"), tok("b"))), "a b") == ['$main["a","b"]']
    assert not accepts(single(seq(tok("a"), special("VOID"))), "a")
    assert trees(single(alts(tok("a"), special("VOID"))), "a") == ['$main["a"]']
    garbage = single(seq(special("GARBAGE"), tok("help")))
    assert trees(garbage, "help") == ['$main["help"]']
    assert trees(garbage, "please please help") == ['$main["help"]']
    assert not accepts(garbage, "help me")


def test_garbage_reads_unknown_words_and_loses_to_grammar_words():
    compiled = compile_bundle(single(seq(rep(special("GARBAGE"), 0, 1), rep(tok("yes"), 0, 1), tok("please"))))
    [parse] = parse_words(compiled, ["zzz", "yes", "please"])
    assert parse.tree.children[0].words == ("zzz",)
    assert notation(parse.tree) == '$main["yes","please"]'
    best = parse_words(compiled, ["yes", "please"], nbest=2)
    assert notation(best[0].tree) == '$main["yes","please"]'
    assert best[0].cost < best[1].cost


def test_local_rule_references_are_nested_with_labels():
    bundle = single(seq(tok("i"), ref("#verb")), rule("verb", alts(tok("run"), tok("walk")), scope="private"))
    assert trees(bundle, "i run") == ['$main["i",$verb["run"]]']


def test_rule_compiled_once_and_reused_at_each_reference():
    digit = rule("digit", alts(*[tok(str(d)) for d in range(10)]))
    compiled = compile_bundle(single(rep(ref("#digit"), 3, 3), digit))
    [parse] = parse_words(compiled, ["1", "2", "3"])
    assert notation(parse.tree) == '$main[$digit["1"],$digit["2"],$digit["3"]]'
    assert [entry[1] for entry in compiled.rules].count("digit") == 1


def test_external_references_use_links_and_print_the_uri_as_written():
    names = Grammar(root="first", rules=(rule("first", alts(tok("jean"), tok("marie"))),
                                         rule("polite", tok("please"))), uri="file:///g/names.grxml")
    main = grammar(rule("main", seq(ref("names.grxml#polite"), tok("call"), ref("names.grxml"))),
                   uri="file:///g/main.grxml")
    bundle = GrammarBundle(
        main="file:///g/main.grxml",
        grammars={"file:///g/main.grxml": main, "file:///g/names.grxml": names},
        links={("file:///g/main.grxml", "names.grxml#polite"): ("file:///g/names.grxml", "polite"),
               ("file:///g/main.grxml", "names.grxml"): ("file:///g/names.grxml", "first")},
        active=("main",),
    )
    compiled = compile_bundle(bundle)
    [parse] = parse_words(compiled, "please call marie".split())
    assert notation(parse.tree) == '$main[$<names.grxml#polite>["please"],"call",$<names.grxml>["marie"]]'
    inner = parse.tree.children[2]
    assert (inner.name, inner.grammar) == ("first", "file:///g/names.grxml")
    assert compiled.metadata["grammars"]["file:///g/names.grxml"]["header_tags"] == []


def test_unresolved_external_reference_is_an_error():
    with pytest.raises(ResolveError):
        compile_bundle(single(ref("other.grxml#x")))


def test_undefined_rule_is_refused():
    with pytest.raises(GrammarValidationError, match="undefined rule"):
        compile_bundle(single(ref("#nowhere")))


def test_several_active_rules_in_parallel():
    g = grammar(rule("main", tok("call")), rule("parallel", tok("help")))
    bundle = GrammarBundle.single(g, key="test.grxml", active=("main", "parallel"))
    assert trees(bundle, "call") == ['$main["call"]']
    assert trees(bundle, "help") == ['$parallel["help"]']


def test_no_active_rule_is_refused():
    g = Grammar(rules=(rule("main", tok("a")),), uri="x.grxml")
    with pytest.raises(CompileError, match="no active rule"):
        compile_bundle(GrammarBundle.single(g, key="x.grxml"))


def test_dtmf_keys_are_words():
    bundle = single(seq(rep(alts(*[tok(k) for k in "0123456789"]), 1, 4), tok("#")), mode="dtmf")
    compiled = compile_bundle(bundle)
    assert parse_words(compiled, ["1", "2", "#"])
    assert not parse_words(compiled, ["1", "2"])
    keys = compile_bundle(single(tok("715#"), mode="dtmf"))
    assert parse_words(keys, ["7", "1", "5", "#"])


def test_transducer_has_no_input_epsilon_cycle():
    bundle = single(rep(seq(rep(tag("a"), 0, None), rep(tok("x"), 0, None), special("NULL")), 0, None))
    fst = compile_bundle(bundle).transducer
    # Every state reached from another by input-epsilon arcs alone must never come back.
    graph = {s: [a.nextstate for a in fst.arcs(s) if a.ilabel == 0] for s in fst.states()}
    state_color: dict[int, int] = {}

    def visit(state: int) -> None:
        state_color[state] = 1
        for nxt in graph[state]:
            assert state_color.get(nxt) != 1, "input-epsilon cycle"
            if nxt not in state_color:
                visit(nxt)
        state_color[state] = 2

    for state in graph:
        if state not in state_color:
            visit(state)


def test_acceptor_reads_words_and_garbage_label():
    compiled = compile_bundle(single(seq(special("GARBAGE"), tok("go"))))
    labels = {arc.ilabel for s in compiled.acceptor.states() for arc in compiled.acceptor.arcs(s)}
    assert labels == {ANY_LABEL, compiled.word_labels["go"]}
    assert compiled.acceptor.num_input_epsilons(compiled.acceptor.start()) == 0
