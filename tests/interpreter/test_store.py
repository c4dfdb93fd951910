"""The grammar store: prepared once by content, cheap activations, session namespaces, policy."""

from __future__ import annotations

import threading

import pytest

from interpreter.api import Hypothesis
from interpreter.store import GrammarStore
from srgs.config import EngineConfig
from srgs.errors import GrammarErrors, SrgsError
from srgs.load.policy import AccessPolicy

DRINKS = """#ABNF 1.0 UTF-8;
language en-US;
tag-format <semantics/1.0>;
root $drink;
public $drink = (coffee {out="coffee"} | tea {out="tea"}) [please];
"""
SIZE = """#ABNF 1.0 UTF-8;
language en-US;
tag-format <semantics/1.0>;
root $size;
public $size = small {out="S"} | large {out="L"};
"""
ORDER = """#ABNF 1.0 UTF-8;
language en-US;
tag-format <semantics/1.0>;
root $order;
public $order = a $<session:size> $<session:drinks> {out = rules.latest() + "/" + rules.size};
"""
BAD_TAG = DRINKS.replace('{out="tea"}', '{out = 1 +;}')


@pytest.fixture()
def store() -> GrammarStore:
    return GrammarStore()


def value(result):
    return result.alternatives[0].interpretations[0].value


def test_a_grammar_is_prepared_once_and_shared_by_activations(store):
    pizza = store.prepare("builtin:examples/pizza")
    assert store.prepare("builtin:examples/pizza") is pizza  # read once: no re-read, re-validation, recompile
    body = open(_builtin_path("pizza"), encoding="utf-8").read()
    copy = store.prepare_text(body, name="copy")
    misses = store.misses
    again = store.prepare_text(body, name="copy")
    assert again.compiled is copy.compiled and again.evaluator is copy.evaluator
    assert store.misses == misses  # same content, same prepared grammar
    one = store.activate([(pizza, 1.0)])
    two = store.activate([(pizza, 3.0), ("builtin:examples/yesno", 1.0)])
    assert one.interpreter() is one.interpreter()  # built on first use, then kept
    assert one.interpreter().grammars[0].compiled is two.interpreter().grammars[0].compiled
    assert value(one.interpreter().interpret("two large pizzas")) == {"qty": 2, "size": "L"}
    assert two.interpreter().interpret("yes").alternatives[0].lm == "builtin:examples/yesno"


def test_weights_belong_to_the_activation_not_the_grammar(store):
    a = store.prepare_text(DRINKS, name="a")
    b = store.prepare_text(DRINKS.replace('out="tea"', 'out="TEA"'), name="b")
    prefer_a = store.activate([(a, 9.0), (b, 1.0)]).interpreter().interpret("tea")
    prefer_b = store.activate([(a, 1.0), (b, 9.0)]).interpreter().interpret("tea")
    assert prefer_a.alternatives[0].lm == "a" and prefer_b.alternatives[0].lm == "b"


def test_bad_weights_are_refused_at_activation(store):
    drinks = store.prepare_text(DRINKS)
    for weight in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            store.activate([(drinks, weight)])


def test_sessions_are_invisible_to_one_another(store):
    alice, bob = store.session("alice"), store.session("bob")
    alice.define("size", SIZE)
    alice.define("drinks", DRINKS)
    alice.define("order", ORDER)
    result = store.activate(["session:order"], session=alice).interpreter().interpret("a large tea")
    assert value(result) == "tea/L"
    with pytest.raises(SrgsError, match="no grammar session:order is defined in this session"):
        store.activate(["session:order"], session=bob)
    with pytest.raises(GrammarErrors, match="session:size"):
        bob.define("order", ORDER)  # bob has no size grammar
    assert bob.names() == []


def test_release_forgets_session_grammars(store):
    session = store.session()
    session.define("drinks", DRINKS)
    assert session.release("drinks")
    assert not session.release("drinks")
    with pytest.raises(SrgsError):
        store.activate(["session:drinks"], session=session)
    session.define("drinks", DRINKS)
    session.release_all()
    assert session.names() == []


def test_a_refused_definition_keeps_the_previous_one(store):
    session = store.session()
    session.define("drinks", DRINKS)
    with pytest.raises(SrgsError, match="SyntaxError"):
        session.define("drinks", BAD_TAG)  # tags are checked once, at definition
    assert value(store.activate(["session:drinks"], session=session).interpreter().interpret("tea")) == "tea"


def test_text_grammars_get_no_file_access(store, tmp_path):
    secret = tmp_path / "secret.gram"
    secret.write_text(SIZE, encoding="utf-8")
    referring = DRINKS.replace("[please]", f"[please] $<{secret.as_uri()}>")
    with pytest.raises(GrammarErrors, match="may not read local files"):
        store.prepare_text(referring)
    with pytest.raises(GrammarErrors, match="may not read local files"):
        store.session().define("x", referring)


def test_a_closed_store_refuses_file_locations(tmp_path):
    path = tmp_path / "size.gram"
    path.write_text(SIZE, encoding="utf-8")
    closed = GrammarStore(policy=AccessPolicy.closed())
    with pytest.raises(GrammarErrors, match="may not read local files"):
        closed.prepare(str(path))
    assert GrammarStore().prepare(str(path)).mode == "voice"


def test_the_configuration_is_passed_down():
    config = EngineConfig.load(overrides={"limits.max_text_chars": "5", "interpret.nbest": "2"})
    store = GrammarStore(config)
    interpreter = store.activate([store.prepare_text(DRINKS)]).interpreter()
    assert interpreter.options.nbest == 2
    with pytest.raises(SrgsError, match="longer than 5"):
        interpreter.interpret("coffee please")


def test_activations_serve_many_threads(store):
    interpreter = store.activate(["builtin:examples/pizza"]).interpreter()
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(20):
                assert value(interpreter.interpret("two large pizzas")) == {"qty": 2, "size": "L"}
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_constraint_of_an_activation(store):
    activation = store.activate([(store.prepare_text(DRINKS, name="drinks"), 1.0),
                                 (store.prepare("builtin:examples/yesno"), 1.0)])
    constraint = activation.constraint()
    assert constraint is activation.constraint()
    cost, grammar = constraint.accepts(["tea", "please"])
    assert activation.grammars[grammar].name == "drinks"
    assert constraint.accepts(["tea", "yes"]) is None


def test_decoder_hypotheses_combine_acoustic_and_grammar_scores(store):
    interpreter = store.activate([store.prepare_text(DRINKS, name="drinks")], nbest=3).interpreter()
    close = interpreter.interpret_hypotheses([Hypothesis(("tea",), 10.0), Hypothesis(("coffee",), 10.5)])
    assert [a.text for a in close.alternatives] == ["tea", "coffee"]
    assert close.alternatives[0].score > close.alternatives[1].score > 0
    assert sum(a.score for a in close.alternatives) == pytest.approx(100, abs=1)
    clear = interpreter.interpret_hypotheses([Hypothesis(("tea",), 10.0), Hypothesis(("coffee",), 20.0)])
    assert clear.alternatives[0].score == 100
    assert value(clear) == "tea"
    assert interpreter.interpret_hypotheses([Hypothesis(("beer",), 1.0)]).status == "NO_MATCH"
    named = interpreter.interpret_hypotheses([Hypothesis(("tea",), 1.0, grammar="other")])
    assert named.status == "NO_MATCH"
    with pytest.raises(ValueError):
        interpreter.interpret_hypotheses([Hypothesis(("tea",), float("nan"))])


def _builtin_path(name: str) -> str:
    from srgs.load.builtins import BUILTIN_DIR

    return str(BUILTIN_DIR / "examples" / f"{name}.grxml")


def test_the_session_language_chooses_the_builtin_language(store):
    english, brazilian = store.session("en"), store.session("pt", language="pt-BR")
    assert value(store.activate(["builtin:grammar/boolean"], session=english).interpreter().interpret("yes")) is True
    result = store.activate(["builtin:grammar/boolean"], session=brazilian).interpreter().interpret("sim")
    assert value(result) is True
    assert store.activate(["builtin:grammar/boolean"], session=brazilian).interpreter().interpret("yes").status \
        == "NO_MATCH"
    explicit = store.activate(["builtin:grammar/boolean?lang=en-US"], session=brazilian).interpreter()
    assert value(explicit.interpret("yes")) is True
