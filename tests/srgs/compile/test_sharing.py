"""Rule bodies are shared between references (compiled and optimised once, expanded once by
OpenFst Replace), not copied while they are built; what a grammar accepts and the parse it
gives do not change."""

from __future__ import annotations

import time

import pynini
import pytest
import pywrapfst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interpreter.parse import parse_words
from interpreter.tree import ParseRule, ParseTag
from srgs.bundle import GrammarBundle
from srgs.compile import CompileOptions, compile_bundle, expansions, optimize
from srgs.compile.expansions import GrammarCompiler
from srgs.errors import CompileError
from srgs.model import Alternative, OneOf, Repeat, RuleRef, Sequence, Tag, Token
from srgs.passes.recursion import analyse_rules

from .models import alts, grammar, notation, ref, rep, rule, seq, tag, tok
from .test_property import ends as model_ends


def bundle(*rules) -> GrammarBundle:
    return GrammarBundle.single(grammar(*rules), key="test.grxml")


def test_a_rule_referred_to_many_times_is_optimised_once_and_copied_small():
    # 500 three-word entries: 1,002 states as built, 4 once minimised; referred to 20 times.
    words = alts(*[tok(f"a{i} b c") for i in range(500)])
    main = alts(*[seq(ref("#list"), tok(f"x{j}")) for j in range(20)])
    compiled = compile_bundle(bundle(rule("main", main), rule("list", words, scope="private")))
    assert compiled.stats["raw_states"] < 1_000  # copying the body as built: 20,185
    assert compiled.stats["optimized"]
    parses = parse_words(compiled, "a7 b c x3".split())
    assert notation(parses[0].tree) == '$main[$list["a7 b c"],"x3"]'
    assert not parse_words(compiled, "a7 b x3".split())


def test_the_expansion_is_counted_before_it_is_built():
    # $r30 expands to 2^30 words: refused at once, at the first rule over the limit, nothing built
    rules = [rule("r0", tok("w"), scope="private")]
    rules += [rule(f"r{i}", seq(ref(f"#r{i - 1}"), ref(f"#r{i - 1}")), scope="private") for i in range(1, 31)]
    rules.insert(0, rule("main", ref("#r30")))
    clock = time.perf_counter()
    with pytest.raises(CompileError, match=r"rule \$r\d+ needs \d+ states, over the limit of 4000000"):
        compile_bundle(bundle(*rules))
    assert time.perf_counter() - clock < 2.0


def test_an_ambiguous_shared_body_is_left_to_the_budgeted_optimisation():
    # a body whose determinisation is not provably cheap is not optimised in process
    body = rep(rep(alts(tok("a"), tok("b c"), tok("d")), 1, 40), 1, 40)
    options = CompileOptions(optimize_in_process_states=10, optimize_timeout_s=0.2)
    clock = time.perf_counter()
    compiled = compile_bundle(bundle(rule("main", seq(ref("#amb"), tok("end"), ref("#amb"))),
                                     rule("amb", body, scope="private")), options=options)
    assert time.perf_counter() - clock < 10
    assert parse_words(compiled, "a b c end d a".split())
    assert not parse_words(compiled, "a b end d".split())


def test_references_keep_their_rule_events_and_tags():
    item = alts(seq(tok("one"), tag("out = 1;")), seq(tok("two"), tag("out = 2;")))
    main = seq(ref("#item"), tok("and"), ref("#item"))
    compiled = compile_bundle(bundle(rule("main", main), rule("item", item, scope="private")))
    (parse,) = parse_words(compiled, "two and one".split())
    assert notation(parse.tree) == '$main[$item["two",{!{out = 2;}!}],"and",$item["one",{!{out = 1;}!}]]'


# --- property: grammars of a few rules that refer to each other ---------------------------------

VOCAB = ("a", "b")


def _expansions(names: tuple[str, ...], depth: int = 2):
    leaves = [st.sampled_from(VOCAB).map(lambda w: Token(text=w)), st.just(Tag(text="t"))]
    if names:
        leaves.append(st.sampled_from(names).map(lambda n: RuleRef(uri=f"#{n}")))
    leaf = st.one_of(*leaves)
    if depth == 0:
        return leaf
    inner = _expansions(names, depth - 1)
    return st.one_of(
        leaf,
        st.lists(inner, min_size=1, max_size=3).map(lambda items: Sequence(items=tuple(items))),
        st.lists(inner, min_size=1, max_size=3).map(
            lambda items: OneOf(alternatives=tuple(Alternative(expansion=e) for e in items))),
        st.tuples(inner, st.integers(0, 2), st.integers(0, 2)).map(
            lambda t: Repeat(expansion=t[0], min=min(t[1], t[2]), max=max(t[1], t[2]))),
    )


@st.composite
def _grammars(draw):
    """r0 refers to nothing, r1 may refer to r0, main to both: no recursion."""
    r0 = draw(_expansions(()))
    r1 = draw(_expansions(("r0",)))
    main = draw(_expansions(("r0", "r1")))
    return {"main": main, "r1": r1, "r0": r0}


def _inline(node, rules):
    """The expansion with every reference replaced by its rule's expansion (the model's own copy)."""
    if isinstance(node, RuleRef):
        return _inline(rules[node.uri[1:]], rules)
    if isinstance(node, Sequence):
        return Sequence(items=tuple(_inline(item, rules) for item in node.items))
    if isinstance(node, OneOf):
        return OneOf(alternatives=tuple(Alternative(expansion=_inline(a.expansion, rules), weight=a.weight)
                                        for a in node.alternatives))
    if isinstance(node, Repeat):
        return Repeat(expansion=_inline(node.expansion, rules), min=node.min, max=node.max, prob=node.prob)
    return node


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_grammars(), st.lists(st.lists(st.sampled_from(VOCAB), max_size=4), min_size=1, max_size=6))
def test_shared_references_accept_what_the_model_accepts(rules, sentences):
    compiled = compile_bundle(bundle(*[rule(name, expansion) for name, expansion in rules.items()]))
    inlined = _inline(rules["main"], rules)
    for sentence in [[]] + sentences:
        words = tuple(sentence)
        expected = len(words) in model_ends(inlined, words, 0)
        parses = parse_words(compiled, list(words), nbest=2)
        assert bool(parses) == expected, (rules, words)
        for parse in parses:
            assert parse.tree.words == words


def _epsilon_graph(edges: list[tuple[int, int]], states: int, word_states: range) -> pynini.Fst:
    fst = pynini.Fst()
    fst.add_states(states + 1)
    fst.set_start(0)
    fst.set_final(states)
    for source, target in edges:
        fst.add_arc(source, pywrapfst.Arc(0, 0, 0.0, target))
    for state in word_states:
        fst.add_arc(state, pywrapfst.Arc(7, 7, 0.0, states))
    return fst


def test_a_wide_tree_of_epsilon_arcs_is_cheap_to_remove_and_a_ladder_is_not():
    # the acceptor of a rule choosing among 131 rules that each choose among 121: a tree of
    # 16,000 states under the start (the removal relaxes each arc once; the old bound, states
    # times epsilon arcs, said 256 million)
    edges = [(0, 1 + i) for i in range(131)]
    leaves = 132
    for i in range(131):
        edges += [(1 + i, leaves + 121 * i + j) for j in range(121)]
    count = leaves + 131 * 121
    assert optimize.epsilon_removal_is_cheap(_epsilon_graph(edges, count, range(leaves, count)), acceptor=True)
    # a ladder (each state two epsilon arcs to the next two): closures that are not trees
    ladder = [(i, i + step) for i in range(3000) for step in (1, 2) if i + step <= 3000]
    assert not optimize.epsilon_removal_is_cheap(_epsilon_graph(ladder, 3001, range(3001)), acceptor=True)


def test_without_optimisation_a_list_of_references_is_still_shared():
    # $main: 900 alternatives $a_i $b_j [x] $c_(i+j mod 30); each $c_k 102 states as built.
    # Copied once per alternative that is 92,000 states; $main minimised first, one per k: 3,000.
    n = 30
    rules = [rule("main", alts(*[seq(ref(f"#a{i}"), ref(f"#b{j}"), rep(tok("x"), 0, 1), ref(f"#c{(i + j) % n}"))
                                 for i in range(n) for j in range(n)]))]
    rules += [rule(f"a{i}", tok(f"a{i}"), scope="private") for i in range(n)]
    rules += [rule(f"b{j}", tok(f"b{j}"), scope="private") for j in range(n)]
    rules += [rule(f"c{k}", alts(*[tok(f"c{k}w{m} end") for m in range(100)]), scope="private") for k in range(n)]
    compiled = compile_bundle(bundle(*rules), options=CompileOptions(optimize=False, max_states=20_000))
    assert compiled.stats["raw_states"] < 20_000
    assert parse_words(compiled, "a3 b4 c7w99 end".split())
    assert parse_words(compiled, "a3 b4 x c7w99 end".split())
    assert not parse_words(compiled, "a3 b4 c8w99 end".split())


# --- tail calls: a chain of rules each ending with a reference to the next --------------------


def _counting(length: int) -> list:
    """$needN reads N units: "a" is one unit and "b" two, each followed by the rule of what is
    left and the same tag (a counting grammar: Replace alone makes one copy per path, Fibonacci(N))."""
    rules = [rule("main", ref(f"#need{length}"))]
    rules.append(rule("need0", tag("out = '';"), scope="private"))
    for n in range(1, length + 1):
        steps = [seq(tok("a"), ref(f"#need{n - 1}"), tag("out += rules.latest();"))]
        if n >= 2:
            steps.append(seq(tok("b"), ref(f"#need{n - 2}"), tag("out += rules.latest();")))
        rules.append(rule(f"need{n}", alts(*steps), scope="private"))
    return rules


def test_tail_calls_are_shared_so_a_counting_chain_is_polynomial():
    # Replace alone: Fibonacci(40) = 10^8 copies, refused over max_states; with the tail calls
    # shared, one copy per (rule, pending closings): about 40 x 40
    clock = time.perf_counter()
    compiled = compile_bundle(bundle(*_counting(40)))
    assert time.perf_counter() - clock < 10
    assert compiled.stats["raw_states"] < 40_000
    assert parse_words(compiled, ["a"] * 40)
    assert parse_words(compiled, ["b"] * 20)
    assert parse_words(compiled, ["a", "b"] * 13 + ["a"])
    assert not parse_words(compiled, ["a"] * 39)
    assert not parse_words(compiled, ["b"] * 21)
    (parse,) = parse_words(compiled, ["b"] * 20)
    names, node = [], parse.tree
    while node is not None:  # each $needN holds "b", $need(N-2) and its closing tag, in that order
        names.append(node.name)
        rules_in = [child for child in node.children if isinstance(child, ParseRule)]
        assert node is parse.tree or isinstance(node.children[-1], ParseTag)
        node = rules_in[0] if rules_in else None
    assert names == ["main"] + [f"need{n}" for n in range(40, -1, -2)]


def test_a_tail_shared_expansion_gives_the_parses_replace_gives(monkeypatch):
    small = bundle(*_counting(5))
    replaced = compile_bundle(small)
    monkeypatch.setattr(expansions, "TAIL_SHARING_FROM", 0)
    monkeypatch.setattr(expansions, "TAIL_GAIN", 0)  # shared however little it gains
    shared = compile_bundle(small)
    for words in (["a"] * 5, ["b", "a", "b"], ["a", "b", "b"], ["b", "b"]):
        expected = [(notation(p.tree), round(p.cost, 4)) for p in parse_words(replaced, words, nbest=3)]
        assert [(notation(p.tree), round(p.cost, 4)) for p in parse_words(shared, words, nbest=3)] == expected
    assert notation(parse_words(shared, ["b", "a", "b"])[0].tree).startswith("$main[$need5[\"b\",$need3[")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_grammars(), st.lists(st.lists(st.sampled_from(VOCAB), max_size=4), min_size=1, max_size=6),
       st.lists(st.sampled_from((None, 0.0, 1.5)), min_size=3, max_size=3))
def test_sharing_tail_calls_changes_no_parse(rules, sentences, weights):
    # the same grammars with their tail calls shared (forced, however little it gains): the same
    # parses with the same costs (weights on the alternatives of main's last level, if any)
    main = rules["main"]
    if isinstance(main, OneOf):
        main = OneOf(alternatives=tuple(Alternative(expansion=a.expansion, weight=w)
                                        for a, w in zip(main.alternatives, weights, strict=False)))
    grammar_bundle = bundle(*[rule(name, main if name == "main" else e) for name, e in rules.items()])
    replaced = compile_bundle(grammar_bundle)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(expansions, "TAIL_SHARING_FROM", 0)
        patch.setattr(expansions, "TAIL_GAIN", 0)
        shared = compile_bundle(grammar_bundle)
    for sentence in [[]] + sentences:
        expected = {(notation(p.tree), round(p.cost, 3)) for p in parse_words(replaced, sentence, nbest=20)}
        assert {(notation(p.tree), round(p.cost, 3)) for p in parse_words(shared, sentence, nbest=20)} == expected


def test_sharing_tail_calls_of_a_recursive_rule_changes_no_parse(monkeypatch):
    # right recursion (SRGS 5.4, bounded): the recursive reference is a tail call, with a tag after it
    body = alts(seq(tok("a"), ref("#list"), tag("t")), seq(tok("b"), ref("#list")), tok("c"))
    recursive = bundle(rule("main", seq(ref("#list"), tag("m"))), rule("list", body, scope="private"))
    replaced = compile_bundle(recursive)
    monkeypatch.setattr(expansions, "TAIL_SHARING_FROM", 0)
    monkeypatch.setattr(expansions, "TAIL_GAIN", 0)
    shared = compile_bundle(recursive)
    for words in ("c", "a c", "a b a c", "b b b a c", "a a", "c c"):
        expected = [(notation(p.tree), p.cost) for p in parse_words(replaced, words.split(), nbest=2)]
        assert [(notation(p.tree), p.cost) for p in parse_words(shared, words.split(), nbest=2)] == expected
    assert notation(parse_words(shared, ["a", "c"])[0].tree) == '$main[$list["a",$list["c"],{!{t}!}],{!{m}!}]'


def test_the_weight_after_a_tail_call_stays_on_its_path(monkeypatch):
    # a call whose return state reaches a final state by a weighted epsilon arc and a final
    # weight is a tail call: those weights go onto the call, none is lost
    grammar_bundle = bundle(rule("main", ref("#r")), rule("r", seq(tok("w"), tag("t")), scope="private"))
    compiler = GrammarCompiler(grammar_bundle, analyse_rules(grammar_bundle, [(grammar_bundle.main, "main")]),
                               CompileOptions())
    compiler.compile_rules()
    (nonterminal,) = compiler._nonterminals.values()
    root = pynini.Fst()
    root.add_states(3)
    root.set_start(0)
    root.add_arc(0, pywrapfst.Arc(0, nonterminal, 0.25, 1))
    root.add_arc(1, pywrapfst.Arc(0, 0, 1.5, 2))
    root.set_final(2, 0.5)
    span = grammar_bundle.main_grammar.span

    def total(fst: pynini.Fst) -> tuple[float, list[int]]:
        path = pynini.shortestpath(fst).topsort()
        labels, state, weight = [], path.start(), 0.0
        while path.num_arcs(state):
            (arc,) = path.arcs(state)
            labels += [arc.olabel] if arc.olabel else []
            weight += float(arc.weight)
            state = arc.nextstate
        return round(weight + float(path.final(state)), 6), labels

    replaced = total(compiler._expand(root.copy(), span, "the test root"))
    monkeypatch.setattr(expansions, "TAIL_SHARING_FROM", 0)
    monkeypatch.setattr(expansions, "TAIL_GAIN", 0)
    assert total(compiler._expand(root.copy(), span, "the test root")) == replaced
    assert replaced[0] == 2.25


def test_a_tail_chain_deeper_than_the_recursion_limit_is_shared_in_quadratic_time(monkeypatch):
    # 1,100 rules each ending with a reference to the next: counted and built without recursion
    # (one level per rule would pass Python's limit of 1,000) and with the pending stacks
    # interned (copying them per copy was cubic: 16 s for 1,500 rules)
    n = 1100
    rules = [rule("main", ref("#r0")), rule(f"r{n}", tok("end"), scope="private")]
    rules += [rule(f"r{i}", seq(tok("a"), ref(f"#r{i + 1}"), tag("t")), scope="private") for i in range(n)]
    monkeypatch.setattr(expansions, "TAIL_SHARING_FROM", 0)
    monkeypatch.setattr(expansions, "TAIL_GAIN", 0)
    clock = time.perf_counter()
    compiled = compile_bundle(bundle(*rules), options=CompileOptions(optimize=False))
    assert time.perf_counter() - clock < 5
    assert parse_words(compiled, ["a"] * n + ["end"])
    assert not parse_words(compiled, ["a"] * (n - 1) + ["end"])
