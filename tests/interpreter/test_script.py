"""The script sandbox: limits, failures as SemanticError, isolation, threads, speed."""

from __future__ import annotations

import threading
import time

import pytest

from interpreter.script import ScriptLimits, SemanticError, TagSyntaxChecker
from interpreter.sisr import GrammarSemantics, SemanticEvaluator
from interpreter.tree import ParseRule, ParseTag, ParseToken

LIMITS = ScriptLimits(time_s=0.1)


def tok(text):
    return ParseToken(text, tuple(text.split()))


def one_tag(text, name="main"):
    return ParseRule(name, f"${name}", "g", (tok("go"), ParseTag(text)))


@pytest.fixture()
def evaluator():
    return SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", (), None)}, limits=LIMITS)


@pytest.mark.parametrize("text, kind, words", [
    ("while (1) {}", "timeout", "time limit"),
    ("var a = []; for (;;) a.push(new Array(100000).fill(a.length))", "memory", "memory limit"),
    ("var s = 'x'.repeat(1 << 29)", "memory", "memory limit"),
    ("function f() { return f() + 1; } f()", "stack", "stack limit"),
    ("throw new TypeError('bad size')", "exception", "threw TypeError: bad size"),
    ("throw null", "exception", "threw Error: uncaught null"),
    ("undefinedFunction()", "exception", "threw ReferenceError"),
    ("out = ", "syntax", "SyntaxError"),
])
def test_each_failure_is_a_quick_semantic_error_and_the_evaluator_recovers(evaluator, text, kind, words):
    start = time.monotonic()
    with pytest.raises(SemanticError) as info:
        evaluator.evaluate(one_tag(text, "bad"))
    assert time.monotonic() - start < 2.0
    assert info.value.kind == kind
    message = str(info.value)
    assert words in message and "in rule $bad of grammar g" in message
    assert evaluator.evaluate(one_tag("out = 41 + 1")) == 42


def test_runaway_header_tag_names_the_header():
    ev = SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", ("while(true){}",), None)},
                           limits=LIMITS)
    with pytest.raises(SemanticError, match=r"header tag \{!\{while\(true\)\{\}\}!\} of grammar g"):
        ev.evaluate(one_tag("out = 1"))


@pytest.mark.parametrize("text", [
    "}); globalThis.escaped = 1; (function () {",
    "} globalThis.escaped = 1; {",
    "}}}} globalThis.escaped = 1; {{{{",
    "return 1",
    "break",
    "/*",
    "`",
    "'",
])
def test_tag_text_cannot_break_out_of_its_case(evaluator, text):
    with pytest.raises(SemanticError) as info:
        evaluator.evaluate(one_tag(text))
    assert info.value.kind == "syntax"
    assert evaluator.evaluate(one_tag("out = typeof escaped")) == "undefined"


def test_syntax_checker_never_runs_the_text():
    checker = TagSyntaxChecker()
    assert checker.error("while (1) {}") is None
    assert checker.error("let x = 1") is None
    assert checker.error("let x = 2") is None  # a clash with an earlier text is not an error
    failure = checker.error("var a = 1;\nvar = 2;")
    assert failure is not None and failure.kind == "syntax" and failure.line == 2


def test_no_globals_or_prototype_changes_leak_between_interpretations(evaluator):
    polluter = one_tag("leak = 5; globalThis.other = 6; Object.prototype.polluted = 1;"
                       "Array.prototype.push = null; JSON.stringify = null; Math = null;"
                       "out = [leak, ({}).polluted === undefined]")
    assert evaluator.evaluate(polluter) == [5, True]
    probe = one_tag("out = [typeof leak, typeof other, typeof ({}).polluted,"
                    " typeof [].push, typeof Math.max]")
    assert evaluator.evaluate(probe) == ["undefined", "undefined", "undefined", "function", "function"]


def test_a_global_that_cannot_be_deleted_gets_a_fresh_context(evaluator):
    sticky = one_tag("Object.defineProperty(globalThis, 'sticky', {value: 1}); out = sticky")
    assert evaluator.evaluate(sticky) == 1
    assert evaluator.evaluate(one_tag("out = typeof sticky")) == "undefined"


def test_no_state_leaks_between_grammars():
    a = SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", ("var secret = 'a';",), None)})
    b = SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", (), None)})
    assert a.evaluate(one_tag("shared = secret; out = secret")) == "a"
    assert b.evaluate(one_tag("out = typeof shared + typeof secret")) == "undefinedundefined"


def pizza_tree(n: int) -> ParseRule:
    size = ParseRule("size", "$size", "g", (tok("large"), ParseTag("out = 'L'")))
    topping = lambda t: ParseRule("topping", "$topping", "g", (tok(t), ParseTag(f"out = '{t}'")))
    return ParseRule("order", "$order", "g", (
        ParseTag("out.toppings = []"), tok(str(n)), ParseTag("out.qty = Number(meta.current().text)"), size,
        ParseTag("out.size = rules.size"), tok("pizzas with"),
        topping("ham"), ParseTag("out.toppings.push(rules.topping)"),
        topping("olives"), ParseTag("out.toppings.push(rules.latest())"),
        ParseTag("out.text = meta.current().text")))


def test_threads_each_get_correct_results():
    ev = SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", ("var calls = 0;",), None)})
    errors: list = []

    def work(worker: int) -> None:
        for i in range(200):
            n = worker * 1000 + i
            value = ev.evaluate(pizza_tree(n))
            if value != {"toppings": ["ham", "olives"], "qty": n, "size": "L",
                         "text": f"{n} large pizzas with ham olives"}:
                errors.append(value)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_an_interpretation_of_a_ten_tag_grammar_takes_well_under_a_millisecond():
    ev = SemanticEvaluator({"g": GrammarSemantics("semantics/1.0", (), None)})
    tree = pizza_tree(2)
    ev.evaluate(tree)
    runs = 300
    start = time.perf_counter()
    for _ in range(runs):
        ev.evaluate(tree)
    per_run = (time.perf_counter() - start) / runs
    assert per_run < 0.001, f"{per_run * 1e6:.0f} us per interpretation"


def test_limits_are_validated():
    with pytest.raises(ValueError):
        ScriptLimits(time_s=0)
