"""Issue 7 (library side): interpret from a grammar compiled by ``srgs compile -o OUT.far``,
without its sources: the SISR semantics come from the artifact's metadata."""

from __future__ import annotations

import pytest

import interpreter.api as api
from interpreter import Interpreter
from interpreter.api import InterpreterOptions
from interpreter.formats import to_json_dict
from srgs.compile import CompiledGrammar, compile_bundle
from srgs.errors import CompileError
from srgs.load.loader import bundle_from_text, load_bundle

PIZZA_TEXTS = [
    "two large pizzas with mushrooms and olives",
    "I'd like a small pepperoni pizza please",
    "give me three extra large pizzas with ham pineapple and extra cheese",
    "one pizza",
    "a cup of tea",
]


def compile_to(location: str, path) -> None:
    """What ``srgs compile LOCATION -o PATH`` does."""
    compile_bundle(load_bundle(location)).save(path)


@pytest.fixture()
def no_sources(monkeypatch):
    """Reading or compiling a grammar source fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a grammar source was read")

    monkeypatch.setattr(api, "load_bundle", refuse)
    monkeypatch.setattr(api, "compile_cached", refuse)


def comparable(result) -> dict:
    body = to_json_dict(result)
    for alt in body["alternatives"]:
        alt.pop("lm")
    return body


def test_pizza_from_far_interprets_like_the_source(tmp_path, monkeypatch):
    far = tmp_path / "pizza.far"
    compile_to("builtin:examples/pizza", far)
    source = Interpreter.load("builtin:examples/pizza")
    with monkeypatch.context() as patch:
        patch.setattr(api, "load_bundle", lambda *a, **k: pytest.fail("a grammar source was read"))
        patch.setattr(api, "compile_cached", lambda *a, **k: pytest.fail("a grammar was compiled"))
        compiled = Interpreter.load(str(far))  # only reading the .far is allowed here
    assert compiled.grammars[0].name == str(far)
    for text in PIZZA_TEXTS:
        for nbest in (1, 3):
            ours, theirs = compiled.interpret(text, nbest=nbest), source.interpret(text, nbest=nbest)
            assert comparable(ours) == comparable(theirs), text
            assert [i.tree for a in ours.alternatives for i in a.interpretations] == \
                   [i.tree for a in theirs.alternatives for i in a.interpretations]
    assert compiled.interpret(PIZZA_TEXTS[0]).alternatives[0].interpretations[0].value == \
        {"qty": 2, "size": "L", "toppings": ["mushroom", "olive"]}


def test_from_artifact_takes_a_path_or_a_compiled_grammar(tmp_path, no_sources):
    far = tmp_path / "pizza.far"
    compile_bundle(bundle_from_text("#ABNF 1.0;\nlanguage en-US;\nroot $m;\npublic $m = hi {out = 7;};\n",
                                                    source="m.gram")).save(far)
    by_path = Interpreter.from_artifact(far)
    by_object = Interpreter.from_artifact(CompiledGrammar.load(far), name="greeting")
    assert by_path.interpret("hi").alternatives[0].lm == str(far)
    assert by_object.interpret("hi").alternatives[0].lm == "greeting"
    assert by_path.interpret("hi").alternatives[0].interpretations[0].value == 7
    assert by_object.match("hi").interpretation == 7


SOURCES = {
    "main.gram": "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $main;\ntag-format <semantics/1.0>;\n"
                 "{var PREFIX = 'to ';};\n"
                 "public $main = fly $<cities.gram#city> {out.city = PREFIX + rules.city;} [today {out.when = 'now';}];\n",
    "cities.gram": "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $city;\ntag-format <semantics/1.0-literals>;\n"
                   "public $city = boston {BOS} | new york {\"NYC\"} | paris;\n",
}


def test_header_tags_and_external_grammar_formats_survive_without_sources(tmp_path, no_sources):
    for name, text in SOURCES.items():
        (tmp_path / name).write_text(text)
    far = tmp_path / "out" / "fly.far"
    far.parent.mkdir()
    compile_to(str(tmp_path / "main.gram"), far)  # srgs.load.loader's own load_bundle: not refused
    for name in SOURCES:
        (tmp_path / name).unlink()  # the sources are gone
    g = Interpreter.load(str(far))
    expected = {"fly boston": {"city": "to BOS"}, "fly new york today": {"city": "to NYC", "when": "now"},
                "fly paris": {"city": "to paris"}}
    for text, value in expected.items():
        assert g.interpret(text).alternatives[0].interpretations[0].value == value, text
    assert g.interpret("fly rome").status == "NO_MATCH"


def test_far_with_weights_beside_a_source(tmp_path):
    far = tmp_path / "yesno.far"
    compile_to("builtin:examples/yesno", far)
    g = Interpreter.load([str(far), "builtin:examples/yesno"], weights=[1, 3])
    assert [alt.lm for alt in g.interpret("yes", nbest=2).alternatives] == ["builtin:examples/yesno", str(far)]
    uri = Interpreter.load(far.as_uri())
    assert uri.interpret("yes").status == "RECOGNIZED"
    assert Interpreter.load(far).grammars[0].name == str(far)  # a Path is a location too


def test_a_semantic_failure_from_a_far_is_a_failure_result(tmp_path):
    far = tmp_path / "bad.far"
    compile_bundle(bundle_from_text(
        "#ABNF 1.0;\nlanguage en-US;\nroot $m;\npublic $m = go {out = missing_name;};\n", source="bad.gram")).save(far)
    g = Interpreter.load(str(far))
    result = g.interpret("go")
    assert result.status == "FAILURE" and "missing_name" in result.error and "bad.gram" in result.error
    assert g.match("go").failed


def test_semantics_off_gives_trees_from_a_far(tmp_path):
    far = tmp_path / "pizza.far"
    compile_to("builtin:examples/pizza", far)
    g = Interpreter.load(str(far), options=InterpreterOptions(semantics=False))
    [interpretation] = g.interpret("one pizza").alternatives[0].interpretations
    assert interpretation.value is None and interpretation.tree.name


def test_far_errors_are_clear(tmp_path):
    far = tmp_path / "pizza.far"
    compile_to("builtin:examples/pizza", far)
    with pytest.raises(CompileError, match="active rules are fixed when it is compiled"):
        Interpreter.load(f"{far}#size")
    bogus = tmp_path / "bogus.far"
    bogus.write_text("not a far")
    with pytest.raises(CompileError, match="cannot read compiled grammar|not a compiled SRGS grammar"):
        Interpreter.load(str(bogus))
    with pytest.raises(CompileError, match="cannot read compiled grammar"):
        Interpreter.from_artifact(tmp_path / "missing.far")


def test_a_tag_that_is_not_a_statement_list_is_refused_at_load_like_the_source(tmp_path):
    from interpreter.script import SemanticError

    text = "#ABNF 1.0;\nlanguage en-US;\nroot $m;\npublic $m = go {out = 1;} | stop {out = (;};\n"
    far = tmp_path / "syntax.far"
    compile_bundle(bundle_from_text(text, source="syntax.gram")).save(far)
    with pytest.raises(SemanticError, match="syntax.gram") as from_source:
        Interpreter.from_text(text, name="syntax.gram")
    with pytest.raises(SemanticError) as from_far:
        Interpreter.load(str(far))
    assert from_far.value.kind == from_source.value.kind == "syntax"
    assert "{!{out = (;}!}" in str(from_far.value) and "SyntaxError" in str(from_far.value)
    # Without semantics the tags are never run, so the grammar is usable.
    assert Interpreter.load(str(far), options=InterpreterOptions(semantics=False)).interpret("stop").status == "RECOGNIZED"


def test_rule_tags_and_spans_in_metadata_give_source_positions(tmp_path):
    # What srgs/compile may add to metadata["grammars"][key]: the reader already uses it.
    text = "#ABNF 1.0;\nlanguage en-US;\nroot $m;\npublic $m = go {out = 1;} | stop {out = (;};\n"
    compiled = compile_bundle(bundle_from_text(text, source="syntax.gram"))
    index = [tag for tag, _ in compiled.tags].index("out = (;")
    compiled.metadata["grammars"]["syntax.gram"].update(
        rule_tags=[["m", ["out = 1;", index]]], tag_spans=[[index, "syntax.gram", 4, 34]])
    far = tmp_path / "syntax.far"
    compiled.save(far)
    from interpreter.script import SemanticError

    with pytest.raises(SemanticError) as from_source:
        Interpreter.from_text(text, name="syntax.gram")
    with pytest.raises(SemanticError) as from_far:
        Interpreter.load(str(far))
    assert str(from_far.value) == str(from_source.value)
    assert str(from_far.value).startswith("syntax.gram:4:34: tag {!{out = (;}!} in rule $m")
