"""``srgs check`` reports every problem of a grammar in one run: syntax (ABNF recovers after an
error, XML records every attribute, element and value problem), then validation; extra checks
plug in; ``--format json`` gives each problem as an object, UTF-8 kept."""

from __future__ import annotations

import argparse
import json

import pytest

from srgs.abnf import reader as abnf_reader
from srgs.cli.grammar_commands import run_check
from srgs.errors import GrammarErrors, GrammarSyntaxError, GrammarValidationError, SrgsError
from srgs.load.loader import load_bundle, parse_grammar
from tests import w3c

ABNF = """#ABNF 1.0 UTF-8;
language en-US;
root $main;

public $main = $greeting $name+ | $bye | $polite;
$greeting = hello | hi | ;
$name = (john | mary;
$bye = goodbye<3-1>;
$polite = please
$thanks = thank you $nowhere;
$main = again;
$quoted = "" x;
$tagged = {a} } b;
"""
# (line, column, part of the message) of every problem in ABNF, in order
ABNF_PROBLEMS = [
    (5, 31, "reserved symbol '+'"),
    (6, 26, "expected an expansion after '|'"),
    (7, 21, "expected ')' to close the '(' at line 7, column 9"),
    (8, 15, "repeat maximum 1 is below its minimum 3"),
    (10, 1, "expected ';' after rule definition (before $thanks)"),
    (10, 21, "reference to undefined rule 'nowhere'"),
    (11, 1, "rule 'main' is already defined at 5:8"),
    (12, 11, "empty quoted token"),
    (13, 15, "'}' outside a tag"),
]

XML = """<?xml version="1.0" encoding="UTF-8"?>
<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en" root="main" mode="touch">
  <rule id="main" scope="global">
    <ruleref uri="#a"/> <ruleref uri="#b"/> <ruleref uri="#c"/>
    <item repeat="2-1">x</item>
    <foo><item>nested</item></foo>
    <one-of>
      <item weight="0">a</item>
      <item weight="abc">b</item>
      <token>t</token>
    </one-of>
    <item>after</item> tail <item repeat="many">y</item>
  </rule>
  <rule id="a" bogus="1">alpha</rule>
  <rule id="a">again</rule>
  <rule id="b"><ruleref special="EMPTY"/></rule>
  <meta name="late" content="x"/>
  <rule id="c">ok <ruleref uri="#missing"/></rule>
</grammar>
"""
XML_PROBLEMS = [
    (2, 1, 'bad mode "touch"'),
    (3, 3, 'bad scope "global"'),
    (5, 5, 'bad repeat "2-1": the maximum is below the minimum'),
    (6, 5, "<foo> is not allowed here"),
    (8, 7, 'weight "0" must be a positive number'),
    (9, 7, 'bad weight "abc"'),
    (10, 7, "<one-of> holds <item>s only, not <token>"),
    (12, 29, 'bad repeat "many"'),
    (14, 3, "<rule> has no attribute 'bogus'"),
    (15, 3, "rule 'a' is already defined at 14:3"),
    (16, 16, 'bad special rule "EMPTY"'),
    (17, 3, "<meta> must come before the first <rule>"),
    (18, 19, "reference to undefined rule 'missing'"),
]


def check_args(*files, format="text", extra_checks=()):
    return argparse.Namespace(files=[str(f) for f in files], format=format, allow_root=[], allow_http=False,
                              uri_map=[], extra_checks=list(extra_checks))


def assert_problems(lines: list[str], path, expected) -> None:
    assert len(lines) == len(expected), "\n".join(lines)
    for line, (row, column, fragment) in zip(lines, expected, strict=True):
        assert line.startswith(f"{path}:{row}:{column}: error: "), line
        assert fragment in line, line


@pytest.mark.parametrize("name, text, expected", [("bad.gram", ABNF, ABNF_PROBLEMS), ("bad.grxml", XML, XML_PROBLEMS)])
def test_check_reports_every_problem_with_its_position_in_one_run(tmp_path, capsys, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert run_check(check_args(path)) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert_problems(out.err.splitlines(), path, expected)
    with pytest.raises(GrammarErrors) as info:  # the API sees them all too
        load_bundle(str(path))
    assert_problems(info.value.diagnostics(), path, expected)


def test_json_report_gives_each_problem_as_an_object_and_keeps_utf8(tmp_path, capsys):
    bad = tmp_path / "mauvais.gram"
    bad.write_text("#ABNF 1.0;\nlanguage fr;\nroot $a;\npublic $a = $café | ;\n$b = x<2-1>;\n$c = $été;\n", encoding="utf-8")
    good = tmp_path / "bon.gram"
    good.write_text("#ABNF 1.0;\nlanguage fr;\nroot $a;\npublic $a = café;\n", encoding="utf-8")
    assert run_check(check_args(bad, good, format="json")) == 1
    out = capsys.readouterr().out
    assert "'été'" in out and "\\u00e9" not in out
    report = json.loads(out)
    assert report["ok"] is False
    first, second = report["files"]
    assert (first["file"], first["ok"], second["file"], second["ok"]) == (str(bad), False, str(good), True)
    assert first["errors"] == [
        {"file": str(bad), "line": 4, "column": 21, "message": "expected an expansion after '|', found ';'", "severity": "error"},
        {"file": str(bad), "line": 5, "column": 7, "message": "repeat maximum 1 is below its minimum 2", "severity": "error"},
        {"file": str(bad), "line": 6, "column": 6, "message": "reference to undefined rule 'été'", "severity": "error"},
    ]
    assert second["errors"] == [] and second["rules"] == 1
    missing = tmp_path / "absent.gram"
    assert run_check(check_args(missing, format="json")) == 1
    (problem,) = json.loads(capsys.readouterr().out)["files"][0]["errors"]
    assert problem == {"file": str(missing), "line": None, "column": None, "severity": "error",
                       "message": f"grammar file not found: {missing}"}


def test_syntax_and_validation_problems_are_reported_together(tmp_path):
    path = tmp_path / "g.gram"
    path.write_text("#ABNF 1.0;\nlanguage en;\nroot $a;\npublic $a = $b $c $d;\n$b = (x;\n$c = y;\n$c = z;\n")
    with pytest.raises(GrammarErrors) as info:
        load_bundle(str(path))
    # $b, in error, stays defined (no "undefined rule 'b'"); $d is undefined; $c twice
    assert [(type(e), e.span.line, e.span.column) for e in info.value.errors] == [
        (GrammarValidationError, 4, 19), (GrammarSyntaxError, 5, 8), (GrammarValidationError, 7, 1)]


def test_abnf_recovery_resumes_at_the_next_rule_and_stops_at_an_unterminated_comment():
    problems: list[SrgsError] = []
    grammar = parse_grammar("#ABNF 1.0;\n$a = x\n$b = y +;\npublic $c = z;\n$d = /* open\n$e = w;\n", "t.gram",
                            problems=problems)
    assert [(p.span.line, p.span.column) for p in problems] == [(3, 1), (3, 8), (5, 6)]
    assert "unterminated comment" in problems[-1].message
    assert [(rule.name, rule.scope) for rule in grammar.rules] == [("a", "private"), ("b", "private"), ("c", "public"),
                                                                   ("d", "private")]
    assert grammar.rule("c").expansion.text == "z"


def test_xml_problems_inside_a_skipped_element_keep_later_positions_right():
    problems: list[SrgsError] = []
    text = ('<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en">\n'
            '<rule id="a"><tag><item><item>x</item></item></tag>\n<item>a</item> "open</rule>\n'
            '<rule id="b"><item repeat="x">b</item></rule></grammar>')
    parse_grammar(text, "t.grxml", problems=problems)
    assert [(p.span.line, p.span.column, p.message) for p in problems] == [
        (2, 19, "<tag> holds text only"), (3, 16, "unterminated quoted token"), (4, 14, 'bad repeat "x" (expected n, n-m or n-)')]


ILLEGAL = [e["file"] for e in w3c.entries_with_cases() if w3c.is_illegal(e)]


@pytest.mark.parametrize("name", ILLEGAL)
def test_the_first_problem_collected_is_the_error_the_parse_api_raises(name):
    data = (w3c.TEST_DIR / name).read_bytes()
    problems: list[SrgsError] = []
    parse_grammar(data, name, problems=problems)
    try:
        parse_grammar(data, name)
    except SrgsError as error:
        assert problems and str(problems[0]) == str(error)
    else:
        assert problems == []


def test_extra_checks_run_on_every_loaded_grammar_and_fail_the_run(tmp_path, capsys):
    good = tmp_path / "good.gram"
    good.write_text("#ABNF 1.0;\nlanguage en;\nroot $a;\npublic $a = hello {out = ;};\n")
    bad = tmp_path / "bad.gram"
    bad.write_text("#ABNF 1.0;\nlanguage en;\nroot $a;\npublic $a = (;\n")
    seen = []

    def tags_parse(bundle):
        seen.append(bundle.main)
        grammar = bundle.main_grammar
        return [GrammarSyntaxError("tag script: unexpected ';'", tag.span)
                for rule in grammar.rules for tag in [rule.expansion.items[1]]]

    assert run_check(check_args(good, bad, extra_checks=[tags_parse])) == 1
    err = capsys.readouterr().err.splitlines()
    assert seen == [good.as_uri()]  # only the grammar that loaded
    assert err[0] == f"{good}:4:19: error: tag script: unexpected ';'"
    assert err[1].startswith(f"{bad}:4:14: error: ")
    assert run_check(check_args(good, extra_checks=[lambda bundle: []])) == 0
    assert run_check(check_args(good)) == 0


def test_a_referenced_grammar_s_problems_are_reported_once_at_its_path(tmp_path):
    (tmp_path / "sub.gram").write_text("#ABNF 1.0;\nlanguage en;\nroot $s;\npublic $s = a+;\npublic $x = (b;\n")
    main = tmp_path / "main.gram"
    main.write_text("#ABNF 1.0;\nlanguage en;\nroot $m;\npublic $m = $<sub.gram> $<sub.gram#x>;\n")
    with pytest.raises(GrammarErrors) as info:
        load_bundle(str(main))
    sub = tmp_path / "sub.gram"
    assert [line.split(" error: ")[0] for line in info.value.diagnostics()] == [
        f"{main}:4:13:", f"{main}:4:25:", f"{sub}:4:14:", f"{sub}:5:15:"]
    assert info.value.diagnostics()[0].endswith(f"referenced grammar {sub} is not valid")
    assert info.value.records()[2]["file"] == str(sub)


GRAMS = sorted(p for p in w3c.TEST_DIR.rglob("*.gram") if p.name not in ILLEGAL)


@pytest.mark.parametrize("path", GRAMS, ids=lambda p: p.stem)
def test_abnf_recovery_reads_the_rest_as_a_clean_read_does(path):
    """A rule in error before the first rule of each legal W3C ABNF grammar: one problem, and
    every other rule read as without it (after the error, in the fast mode)."""
    text = abnf_reader._decode(path.read_bytes(), path.name).lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    clean = parse_grammar(text, path.name)
    line = clean.rules[0].span.line
    lines = text.split("\n")
    broken = "\n".join(lines[:line - 1] + ["$zzbad = a+;"] + lines[line - 1:])
    problems: list[SrgsError] = []
    grammar = parse_grammar(broken, path.name, problems=problems)
    assert [(p.span.line, p.span.column) for p in problems] == [(line, 11)]
    assert grammar.rules[0].name == "zzbad"
    assert grammar.rules[1:] == clean.rules
    assert (grammar.language, grammar.mode, grammar.root, grammar.metas, grammar.tags) == (
        clean.language, clean.mode, clean.root, clean.metas, clean.tags)
