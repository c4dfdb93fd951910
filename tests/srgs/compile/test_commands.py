"""``srgs compile``, ``srgs generate`` and ``srgs draw`` end to end."""

from __future__ import annotations

import json
import shutil

import pytest

from srgs.cli import main
from srgs.compile import CompiledGrammar
from interpreter.parse import parse_words

GRAMMAR = """#ABNF 1.0 UTF-8;
language en-US;
root $main;
public $main = [please] ($city | $number) {out = 1;};
$city = /3/ paris | /1/ new york;
$number = (one | two)<1-3>;
"""


@pytest.fixture
def grammar_file(tmp_path):
    path = tmp_path / "cities.gram"
    path.write_text(GRAMMAR, encoding="utf-8")
    return path


def test_compile_writes_a_far_and_reports_counts(grammar_file, tmp_path, capsys):
    out = tmp_path / "cities.far"
    assert main(["compile", str(grammar_file), "-o", str(out), "-v"]) == 0
    err = capsys.readouterr().err
    assert "transducer:" in err and "acceptor:" in err and "states" in err and "ms" in err
    compiled = CompiledGrammar.load(out)
    assert parse_words(compiled, ["please", "new", "york"])
    assert not parse_words(compiled, ["york"])


def test_compile_with_a_rule_fragment(grammar_file, tmp_path):
    out = tmp_path / "number.far"
    assert main(["compile", f"{grammar_file}#number", "-o", str(out)]) == 0
    compiled = CompiledGrammar.load(out)
    assert compiled.metadata["active"] == ["number"]
    assert parse_words(compiled, ["one", "two"]) and not parse_words(compiled, ["paris"])


def test_compile_error_is_a_diagnostic(tmp_path, capsys):
    path = tmp_path / "left.gram"
    path.write_text("#ABNF 1.0;\nlanguage en;\nroot $main;\npublic $main = $main x | y;\n", encoding="utf-8")
    assert main(["compile", str(path), "-o", str(tmp_path / "x.far")]) == 1
    err = capsys.readouterr().err
    assert "left recursion" in err and "left.gram:4:" in err


def test_generate_is_repeatable_and_in_the_grammar(grammar_file, capsys):
    assert main(["generate", str(grammar_file), "-n", "20", "--seed", "7"]) == 0
    first = capsys.readouterr().out.splitlines()
    assert main(["generate", str(grammar_file), "-n", "20", "--seed", "7"]) == 0
    assert capsys.readouterr().out.splitlines() == first
    assert len(first) == 20
    allowed = {"please", "paris", "new york", "one", "two"}
    for line in first:
        rest = line
        for token in sorted(allowed, key=len, reverse=True):
            rest = rest.replace(token, "")
        assert not rest.strip(), line
    # weights: paris (3) should come out more often than new york (1)
    assert sum("paris" in line for line in first) >= sum("new york" in line for line in first)


def test_generate_json(grammar_file, capsys):
    assert main(["generate", str(grammar_file), "-n", "3", "--seed", "1", "--format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert all(line["tags"] == ["out = 1;"] and line["text"] == " ".join(line["tokens"]) for line in lines)


def test_draw_dot(grammar_file, tmp_path):
    out = tmp_path / "g.dot"
    assert main(["draw", str(grammar_file), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("digraph") and "paris" in text and "$city[" in text


def test_draw_svg_needs_graphviz(grammar_file, tmp_path, capsys):
    out = tmp_path / "g.svg"
    code = main(["draw", str(grammar_file), "-o", str(out), "--acceptor"])
    if shutil.which("dot"):
        assert code == 0 and out.read_text(encoding="utf-8").lstrip().startswith("<")
    else:
        assert code == 1 and "graphviz" in capsys.readouterr().err
