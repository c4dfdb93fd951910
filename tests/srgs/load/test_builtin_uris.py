"""builtin: URIs: examples/NAME, grammar/NAME (voice, by language) and dtmf/NAME, with parameters.

Most tests use a small tree of built-in grammars made in a temporary folder (``tree``), so they
do not depend on the shipped grammars' contents; the last ones use the shipped grammars.
"""

from __future__ import annotations

import pytest

from interpreter.api import Interpreter, InterpreterOptions
from srgs.cli import main
from srgs.errors import GrammarErrors, ResolveError
from srgs.load import builtins
from srgs.load.builtins import canonical_builtin_uri, declared_params, parse_builtin
from srgs.load.loader import bundle_from_text, load_bundle
from srgs.load.sources import FetchOptions, fetch

WORD = """#ABNF 1.0 UTF-8;
language {lang};
mode voice;
root $word;
tag-format <semantics/1.0>;
public $word = {words} {{out = "{value}";}};
"""

DIGITS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="{lang}" root="digits"
         tag-format="semantics/1.0">
  <meta name="srgs.param.minlength" content="1"/>
  <meta content="4" name="srgs.param.maxlength"/>
  <rule id="digits" scope="public">
    <tag>out = "";</tag>
    <item repeat="__minlength__-__maxlength__"><ruleref uri="#digit"/><tag>out += rules.digit;</tag></item>
  </rule>
  <rule id="digit"><one-of><item>one<tag>out = "1";</tag></item><item>two<tag>out = "2";</tag></item></one-of></rule>
</grammar>
"""

BOOLEAN_DTMF = """#ABNF 1.0 UTF-8;
mode dtmf;
root $boolean;
tag-format <semantics/1.0>;
meta "srgs.param.y" is "1";
meta 'srgs.param.n' is '2';
public $boolean = "__y__" {out = true;} | "__n__" {out = false;};
"""

DATE = """#ABNF 1.0 UTF-8;
language {lang};
mode voice;
root $date;
tag-format <semantics/1.0>;
public $date = the $<number.gram> {{out = "????" + rules.latest();}};
"""


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """grammars/builtin/ in miniature: a word per language, digits, date, a DTMF boolean, an example."""
    root = tmp_path / "builtin"
    for lang, words, value in (("en-US", "hello", "en"), ("pt-BR", "olá", "pt")):
        voice = root / "voice" / lang
        voice.mkdir(parents=True)
        (voice / "word.gram").write_text(WORD.format(lang=lang, words=words, value=value), encoding="utf-8")
        (voice / "digits.grxml").write_text(DIGITS_XML.format(lang=lang), encoding="utf-8")
        (voice / "number.gram").write_text(WORD.format(lang=lang, words="twelve", value="12" + value), encoding="utf-8")
        (voice / "date.gram").write_text(DATE.format(lang=lang), encoding="utf-8")
    (root / "dtmf").mkdir()
    (root / "dtmf" / "boolean.gram").write_text(BOOLEAN_DTMF, encoding="utf-8")
    (root / "examples").mkdir()
    (root / "examples" / "hi.gram").write_text(WORD.format(lang="en-US", words="hi", value="hi"), encoding="utf-8")
    monkeypatch.setattr(builtins, "BUILTIN_DIR", root)
    return root


def referrer(uri: str, lang: str = "en-US") -> str:
    return f'#ABNF 1.0 UTF-8;\nlanguage {lang};\nmode voice;\nroot $main;\ntag-format <semantics/1.0>;\n' \
           f'public $main = $<{uri}> {{out = rules.latest();}};\n'


def value(grammar_text: str, text: str, **fetch: object) -> object:
    options = InterpreterOptions(fetch=FetchOptions(**fetch))  # type: ignore[arg-type]
    result = Interpreter.from_text(grammar_text, name="main.gram", options=options).interpret(text)
    assert result.status == "RECOGNIZED", result
    return result.alternatives[0].interpretations[0].value


def builtin_keys(grammar_text: str, **fetch: object) -> list[str]:
    bundle = bundle_from_text(grammar_text, source="main.gram", options=FetchOptions(**fetch))  # type: ignore[arg-type]
    return sorted(k for k in bundle.grammars if k.startswith("builtin:"))


# --- parsing and canonical keys -------------------------------------------------------------

def test_uris_parse_into_kind_name_language_and_sorted_params(tree):
    ref = parse_builtin("builtin:grammar/digits?minlength=3;maxlength=5")
    assert (ref.kind, ref.name, ref.language, ref.params) == ("grammar", "digits", "en-US",
                                                               (("maxlength", "5"), ("minlength", "3")))
    assert ref.uri == "builtin:grammar/digits?lang=en-US;maxlength=5;minlength=3"
    assert ref.path == tree / "voice" / "en-US" / "digits.grxml"
    assert canonical_builtin_uri("builtin:grammar/digits?length=04&lang=pt-br") == \
        "builtin:grammar/digits?lang=pt-BR;maxlength=4;minlength=4"
    assert canonical_builtin_uri("builtin:dtmf/boolean?n=%23;y=*") == "builtin:dtmf/boolean?n=%23;y=*"
    assert canonical_builtin_uri("builtin:dtmf/boolean?lang=pt-BR") == "builtin:dtmf/boolean"  # DTMF: no language
    assert canonical_builtin_uri("builtin:examples/hi") == "builtin:examples/hi"


def test_each_name_language_and_params_is_its_own_grammar_and_compiles_apart(tree):
    text = ('#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $main;\ntag-format <semantics/1.0>;\n'
            'public $main = $two | $three;\n'
            '$two = $<builtin:grammar/digits?minlength=2;maxlength=2> {out = "two:" + rules.latest();};\n'
            '$three = $<builtin:grammar/digits?length=3> {out = "three:" + rules.latest();};\n'
            '$again = $<builtin:grammar/digits?maxlength=2;minlength=2>;\n')
    assert builtin_keys(text) == ["builtin:grammar/digits?lang=en-US;maxlength=2;minlength=2",
                                  "builtin:grammar/digits?lang=en-US;maxlength=3;minlength=3"]
    assert value(text, "one two") == "two:12"
    assert value(text, "one two two") == "three:122"
    a = Interpreter.load("builtin:grammar/digits?length=2")
    b = Interpreter.load("builtin:grammar/digits?length=3")
    assert a.interpret("one two").status == "RECOGNIZED" and a.interpret("one two one").status != "RECOGNIZED"
    assert b.interpret("one two one").status == "RECOGNIZED" and b.interpret("one two").status != "RECOGNIZED"


# --- language: query > referrer > FetchOptions.language > en-US ------------------------------

def test_the_language_comes_from_the_query_then_the_referrer_then_the_session_then_en_us(tree):
    assert value(referrer("builtin:grammar/word?lang=pt-BR", "en-US"), "olá") == "pt"  # query wins
    assert value(referrer("builtin:grammar/word?lang=en-US", "pt-BR"), "hello", language="pt-BR") == "en"
    assert value(referrer("builtin:grammar/word", "pt-BR"), "olá", language="en-US") == "pt"  # referrer
    assert value(referrer("builtin:grammar/word", "pt-BR"), "olá") == "pt"
    assert value(referrer("builtin:grammar/word", "en-GB"), "hello") == "en"  # same primary language
    # a voice grammar always declares its language: the session's is for a builtin loaded directly
    assert load_bundle("builtin:grammar/word", options=FetchOptions(language="pt-BR")).main == \
        "builtin:grammar/word?lang=pt-BR"
    assert load_bundle("builtin:grammar/word").main == "builtin:grammar/word?lang=en-US"


def test_an_xml_grammar_passes_its_xml_lang_to_its_builtin_references(tree):
    text = ('<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="pt-BR" root="m" '
            'tag-format="semantics/1.0"><rule id="m" scope="public"><ruleref uri="builtin:grammar/word"/>'
            '<tag>out = rules.latest();</tag></rule></grammar>')
    assert builtin_keys(text) == ["builtin:grammar/word?lang=pt-BR"]
    assert value(text, "olá") == "pt"


def test_a_builtin_grammar_refers_to_a_sibling_in_its_own_language(tree):
    assert builtin_keys(referrer("builtin:grammar/date", "pt-BR")) == [
        "builtin:grammar/date?lang=pt-BR", "builtin:grammar/number?lang=pt-BR"]
    assert value(referrer("builtin:grammar/date", "pt-BR"), "the twelve") == "????12pt"


def test_abnf_refers_to_a_builtin_grammar_by_its_uri(tree):
    assert value(referrer("builtin:grammar/date"), "the twelve") == "????12en"


# --- placeholders ---------------------------------------------------------------------------

def test_declared_params_are_read_from_xml_and_abnf_metas(tree):
    assert declared_params(DIGITS_XML.encode()) == {"minlength": "1", "maxlength": "4"}
    assert declared_params(BOOLEAN_DTMF.encode()) == {"y": "1", "n": "2"}
    assert declared_params(WORD.format(lang="en-US", words="a", value="b").encode()) == {}


def test_placeholders_are_replaced_by_the_values_or_the_defaults(tree):
    data = fetch("builtin:grammar/digits?minlength=2", FetchOptions(), roots=())
    assert b'repeat="2-4"' in data and b"__" not in data
    data = fetch("builtin:dtmf/boolean?y=%23;n=*", FetchOptions(), roots=())
    assert b'"#" {out = true;} | "*" {out = false;}' in data
    dtmf = Interpreter.load("builtin:dtmf/boolean?y=2;n=1")
    assert dtmf.match(["2"]).interpretation is True and dtmf.match(["1"]).interpretation is False
    assert Interpreter.load("builtin:dtmf/boolean").match(["1"]).interpretation is True


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("uri", "message"), [
    ("builtin:grammar/digits?minlength=0", "minlength='0' must be an integer from 1 to 64"),
    ("builtin:grammar/digits?maxlength=65", "maxlength='65' must be an integer from 1 to 64"),
    ("builtin:grammar/digits?minlength=two", "minlength='two' must be an integer from 1 to 64"),
    ("builtin:grammar/digits?minlength=5;maxlength=3", "minlength=5 is greater than maxlength=3"),
    ("builtin:grammar/digits?minlength=5", "minlength=5 is greater than maxlength=4 (with the defaults of digits.grxml)"),
    ("builtin:grammar/digits?length=3;minlength=3", "length=N cannot be combined with minlength or maxlength"),
    ("builtin:grammar/digits?size=3", "unknown parameter size (it takes: length, maxlength, minlength)"),
    ("builtin:grammar/word?x=1", "unknown parameter x (it takes no parameters)"),
    ("builtin:grammar/digits?minlength", "parameter 'minlength' is not NAME=VALUE"),
    ("builtin:grammar/digits?length=2;length=3", "parameter 'length' given twice"),
    ("builtin:dtmf/boolean?y=12", "y='12' must be one DTMF key"),
    ("builtin:dtmf/boolean?y=a", "y='a' must be one DTMF key"),
    ("builtin:dtmf/boolean?y=2", "y and n are the same key '2'"),
    ("builtin:dtmf/boolean?y=3;n=3", "y and n are the same key '3'"),
    ("builtin:examples/hi?x=1", "builtin:examples grammars take no parameters"),
    ("builtin:grammar/word?lang=fr-FR", "no built-in voice grammars for language fr-FR (lang=); available: en-US, pt-BR"),
    ("builtin:grammar/word?lang=x<y", "lang= 'x<y' is not a language tag"),
    ("builtin:grammar/nothing", "no builtin grammar 'nothing' under builtin:grammar/ in en-US "
                                "(known: date, digits, number, word)"),
    ("builtin:dtmf/nothing", "no builtin grammar 'nothing' under builtin:dtmf/ (known: boolean)"),
    ("builtin:voice/word", "unknown kind 'voice' (kinds: examples, grammar, dtmf)"),
    ("builtin:hi", "did you mean builtin:examples/hi?"),
    ("builtin:word", "did you mean builtin:grammar/word?"),
])
def test_bad_uris_are_clear_resolve_errors(tree, uri, message):
    with pytest.raises(ResolveError) as info:
        fetch(uri, FetchOptions(), roots=())
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_an_unknown_name_lists_what_exists(tree):
    with pytest.raises(ResolveError, match=r"known: dtmf/boolean, examples/hi, grammar/date, grammar/digits, "
                                           r"grammar/number, grammar/word\)"):
        parse_builtin("builtin:nothing")


def test_a_referrer_in_a_language_without_builtins_is_told_which_exist(tree):
    with pytest.raises(GrammarErrors) as info:
        bundle_from_text(referrer("builtin:grammar/word", "fr-FR"), source="main.gram")
    assert str(info.value).startswith("main.gram:6:16: ")
    assert "no built-in voice grammars for language fr-FR (the referring grammar's language); available: en-US, pt-BR" \
        in str(info.value)


@pytest.mark.parametrize("uri", [
    "builtin:grammar/../../../etc/passwd", "builtin:../examples/hi", "builtin:/etc/passwd",
    "builtin:examples/./hi", "builtin:examples/..", "builtin:examples/a\\b", "builtin:dtmf/boolean/..",
])
def test_path_traversal_is_refused(tree, uri):
    with pytest.raises(ResolveError) as info:
        fetch(uri, FetchOptions(), roots=())
    assert "refused" in str(info.value)


def test_a_builtin_grammar_cannot_step_out_of_its_folder(tree):
    (tree / "examples" / "out.gram").write_text(
        "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $m;\npublic $m = $<../dtmf/boolean.gram>;\n", encoding="utf-8")
    with pytest.raises(GrammarErrors, match="refused 'builtin:examples/../dtmf/boolean'"):
        load_bundle("builtin:examples/out")


def test_check_reports_a_bad_parameter_on_one_line(tree, capsys):
    assert main(["check", "builtin:grammar/digits?minlength=3"]) == 0
    assert capsys.readouterr().out.startswith("builtin:grammar/digits?minlength=3: ok")
    assert main(["check", "builtin:grammar/digits?minlength=9"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["builtin:grammar/digits?lang=en-US;minlength=9: error: builtin:grammar/digits?lang=en-US;minlength=9: "
                   "minlength=9 is greater than maxlength=4 (with the defaults of digits.grxml)"]


# --- the shipped grammars ---------------------------------------------------------------------

def test_builtin_examples_pizza_works():
    result = Interpreter.load("builtin:examples/pizza").interpret("two large pizzas with mushrooms and olives")
    assert result.status == "RECOGNIZED"
    assert result.alternatives[0].interpretations[0].value["qty"] == 2


def test_the_shipped_dtmf_digits_take_their_lengths(capsys):
    assert main(["check", "builtin:dtmf/digits?minlength=3"]) == 0
    four = Interpreter.load("builtin:dtmf/digits?length=4")
    assert four.match(list("1234")).interpretation == "1234"
    assert four.match(list("123")).status.value != "MATCH"


def test_the_compile_cache_keeps_each_parameter_set_apart(tree):
    from interpreter.store import GrammarStore

    store = GrammarStore()
    two = store.prepare("builtin:grammar/digits?length=2")
    three = store.prepare("builtin:grammar/digits?length=3")
    same = store.prepare("builtin:grammar/digits?minlength=2;maxlength=2")
    assert two.key != three.key
    assert same.key == two.key  # the same grammar, however its parameters are written
    assert store.prepare("builtin:grammar/digits?length=2") is two


def test_a_policy_without_builtins_refuses_before_looking_at_the_name(tree):
    from srgs.errors import AccessDeniedError
    from srgs.load.policy import AccessPolicy

    closed = FetchOptions(policy=AccessPolicy(builtin=False))
    with pytest.raises(GrammarErrors) as info:
        load_bundle("builtin:grammar/nothing?x=1", options=closed)
    assert isinstance(info.value.errors[0], AccessDeniedError)
    with pytest.raises(GrammarErrors) as info:
        bundle_from_text(referrer("builtin:grammar/nothing"), source="main.gram", options=closed)
    assert "built-in grammars are not allowed here" in str(info.value)
    assert "no builtin grammar" not in str(info.value)
