"""Issue 4: every SISR point end to end, with each grammar in both forms.

Each grammar is written once in ABNF; the XML form is produced by the XML writer from the model,
so the same test runs the ABNF reader and the XML reader through the whole pipeline.
"""

from __future__ import annotations

import pytest

from interpreter import Interpreter
from interpreter.match import MatchStatus
from srgs.abnf.reader import read_abnf
from srgs.xml.writer import write_xml

HEADER = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\n"


def load(body: str, form: str, *, tag_format: str = "semantics/1.0", root: str = "main", name: str = "g"):
    text = f"{HEADER}root ${root};\ntag-format <{tag_format}>;\n{body}"
    if form == "xml":
        text = write_xml(read_abnf(text, f"{name}.gram"))
    return Interpreter.from_text(text, name=name)


FORMS = pytest.mark.parametrize("form", ["abnf", "xml"])


def value(interp, text, **kw):
    result = interp.interpret(text, **kw)
    assert result.status == "RECOGNIZED", text
    return result.alternatives[0].interpretations[0].value


@FORMS
def test_out_properties_and_rules_name(form):
    g = load(
        "public $main = $qty $item {out.qty = rules.qty; out.item = rules.item;};\n"
        "$qty = one {out = 1;} | two {out = 2;};\n"
        "$item = pizza {out = 'P';} | salad {out = 'S';};\n",
        form,
    )
    assert value(g, "two pizza") == {"qty": 2, "item": "P"}
    assert value(g, "one salad") == {"qty": 1, "item": "S"}


@FORMS
def test_rules_latest_and_meta(form):
    g = load(
        "public $main = $a $b {out.latest = rules.latest(); out.atext = meta.a.text; out.btext = meta.latest().text;"
        " out.cur = meta.current().text; out.score = typeof meta.a.score;};\n"
        "$a = new york {out = 'NY';};\n$b = city | town;\n",
        form,
    )
    assert value(g, "New York city") == {"latest": "city", "atext": "new york", "btext": "city", "cur": "new york city",
                                         "score": "number"}


@FORMS
def test_default_assignment_text_and_latest_rule(form):
    g = load("public $main = please $inner;\n$inner = $leaf;\n$leaf = yes {out = true;} | no;\n", form)
    assert value(g, "please yes") is True  # main and inner take the latest rule's value
    assert value(g, "please no") == "no"  # leaf without a tag: its text


@FORMS
def test_tag_in_repeat_runs_once_per_iteration(form):
    g = load("public $main = {out = 0;} (beep {out = out + 1;})<1-5>;\n", form)
    assert value(g, "beep beep beep") == 3


@FORMS
def test_out_plus_string_without_init_is_object_object(form):
    g = load("public $main = go {out += '1';};\n", form)
    assert value(g, "go") == "[object Object]1"


@FORMS
def test_var_is_scoped_to_its_rule_instance(form):
    g = load(
        "public $main = $x $x {out = [rules.latest(), typeof seen];};\n"
        "$x = a {var seen; out = (typeof seen) + '/' + (seen === undefined ? 'fresh' : 'leak'); seen = 1;};\n",
        form,
    )
    assert value(g, "a a") == ["undefined/fresh", "undefined"]


@FORMS
def test_header_tags_initialise_globals_every_time(form):
    text = (f"{HEADER}root $main;\ntag-format <semantics/1.0>;\n{{var count = 10;}};\n"
            "public $main = tick {count = count + 1; out = count;};\n")
    if form == "xml":
        text = write_xml(read_abnf(text, "h.gram"))
    g = Interpreter.from_text(text, name="h")
    assert value(g, "tick") == 11
    assert value(g, "tick") == 11  # no state carried over from the previous interpretation


@FORMS
def test_literals_tag_format(form):
    g = load("public $main = (yes | yeah) {accept} | no {reject};\n", form, tag_format="semantics/1.0-literals")
    assert value(g, "yeah") == "accept"
    assert value(g, "no") == "reject"


@FORMS
def test_grammar_without_tags_gives_the_text(form):
    g = load("public $main = hello (world | there);\n", form)
    assert value(g, "Hello, THERE!") == "hello there"


@FORMS
def test_no_leak_between_interpretations(form):
    g = load("public $main = a {leaked = (typeof leaked === 'undefined') ? 'first' : 'again'; out = leaked;};\n", form)
    assert value(g, "a") == "first"
    assert value(g, "a") == "first"


@FORMS
def test_runaway_tag_is_a_semantic_error_not_a_hang(form):
    g = load("public $main = spin {!{ while (true) {} }!} | ok {out = 'fine';};\n", form)
    result = g.interpret("spin")
    assert result.status != "RECOGNIZED" or result.alternatives[0].interpretations[0].value is None
    assert value(g, "ok") == "fine"


def test_no_match_and_normalised_text():
    g = load("public $main = hello world;\n", "abnf")
    assert g.interpret("goodbye").status == "NO_MATCH"
    assert g.interpret("goodbye").alternatives == ()
    result = g.interpret("  HELLO,   world. ")
    assert result.alternatives[0].text == "hello world"
    assert 0 <= result.alternatives[0].score <= 100


def test_a_text_over_the_size_limit_is_refused():
    from srgs.errors import TextTooLongError

    g = load("public $main = hello world;\n", "abnf")
    with pytest.raises(TextTooLongError, match="longer than"):
        g.interpret("hello " * 50_000)


def test_nbest_orders_ambiguous_parses_by_weight():
    g = load("public $main = /3/ $a | /1/ $b;\n$a = red {out = 'A';};\n$b = red {out = 'B';};\n", "abnf")
    interpretations = g.interpret("red", nbest=2).alternatives[0].interpretations
    assert [i.value for i in interpretations] == ["A", "B"]
    assert interpretations[0].score > interpretations[1].score


def test_several_grammars_say_which_matched():
    pizza = f"{HEADER}root $main;\npublic $main = pizza;\n"
    drinks = f"{HEADER}root $main;\npublic $main = cola | water;\n"
    from srgs.load.loader import bundle_from_text

    g = Interpreter.from_bundles([("session:pizza", bundle_from_text(pizza, source="pizza")),
                                  ("session:drinks", bundle_from_text(drinks, source="drinks"))])
    assert g.interpret("water").alternatives[0].lm == "session:drinks"
    assert g.interpret("pizza").alternatives[0].lm == "session:pizza"


def test_builtin_pizza_grammar():
    g = Interpreter.load("builtin:examples/pizza")
    assert value(g, "two large pizzas with mushrooms and olives") == {"qty": 2, "size": "L", "toppings": ["mushroom", "olive"]}
    assert value(g, "I'd like a small pepperoni pizza please") == {"qty": 1, "size": "S", "toppings": ["pepperoni"]}


def test_incremental_dtmf_matching():
    g = Interpreter.load("builtin:examples/digits")
    assert g.match("").status == MatchStatus.PARTIAL
    assert g.match("71").status == MatchStatus.MATCH
    assert g.match("715#").status == MatchStatus.MATCH_END
    assert g.match("715#").interpretation == "715"
    assert g.match("7x").status == MatchStatus.NO_MATCH
    assert g.match("1" * 20).status == MatchStatus.MATCH


def test_incremental_voice_matching():
    g = load("public $main = call (mom | dad [at work]);\n", "abnf")
    assert g.match("call").status == MatchStatus.PARTIAL
    assert g.match("call dad").status == MatchStatus.MATCH
    assert g.match("call mom").status == MatchStatus.MATCH_END
    assert g.match("call bob").status == MatchStatus.NO_MATCH
    assert g.match("call dad at work").interpretation == "call dad at work"


def test_interpreter_is_thread_safe():
    from concurrent.futures import ThreadPoolExecutor

    g = Interpreter.load("builtin:examples/pizza")
    texts = [f"{n} large pizzas with olives" for n in ("two", "three", "four", "five")] * 50
    expected = {"two": 2, "three": 3, "four": 4, "five": 5}
    with ThreadPoolExecutor(max_workers=8) as pool:
        values = list(pool.map(lambda t: value(g, t), texts))
    assert all(v["qty"] == expected[t.split()[0]] for v, t in zip(values, texts, strict=True))


def test_chinese_and_japanese_match_character_by_character():
    zh = "#ABNF 1.0 UTF-8;\nlanguage zh-CN;\nroot $main;\npublic $main = 你好 | 再见 {out = 'bye';};\n"
    g = Interpreter.from_text(zh, name="zh")
    assert value(g, "你好") == "你 好"  # the matched words, one per character
    assert value(g, "再 见") == "bye"
    assert value(g, "再见！") == "bye"
    assert g.interpret("你").status == "NO_MATCH"
    ko = "#ABNF 1.0 UTF-8;\nlanguage ko-KR;\nroot $main;\npublic $main = 안녕하세요;\n"
    assert Interpreter.from_text(ko, name="ko").interpret("안녕 하세요").status == "NO_MATCH"  # Korean keeps spaces


def test_chinese_tokens_inside_an_english_grammar():
    mixed = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $main;\npublic $main = say (hello | 你好!zh-CN {out = 'ni hao';});\n"
    g = Interpreter.from_text(mixed, name="mixed")
    assert value(g, "say 你好") == "ni hao"
    assert value(g, "say hello") == "say hello"
