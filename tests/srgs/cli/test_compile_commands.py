"""``srgs compile``, ``srgs generate`` and ``srgs draw`` end to end."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from interpreter.parse import parse_words
from srgs.cli import main
from srgs.compile import CompiledGrammar

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


# --- output files ---------------------------------------------------------------------------------


def test_compile_to_a_missing_directory_fails_before_compiling(grammar_file, tmp_path, capsys):
    target = tmp_path / "missing" / "g.far"
    assert main(["compile", str(grammar_file), "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"srgs compile: cannot write {target}: No such file or directory"  # nothing compiled
    assert not target.parent.exists()


def test_compile_to_a_directory_or_under_a_file_fails(grammar_file, tmp_path, capsys):
    assert main(["compile", str(grammar_file), "-o", str(tmp_path)]) == 1
    assert f"srgs compile: cannot write {tmp_path}: Is a directory" in capsys.readouterr().err
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert main(["compile", str(grammar_file), "-o", str(plain / "g.far")]) == 1
    assert f"cannot write {plain / 'g.far'}: Not a directory" in capsys.readouterr().err


def test_compile_permission_denied_is_reported(grammar_file, tmp_path, capsys, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)  # root ignores file modes: refuse the way the OS would
    assert main(["compile", str(grammar_file), "-o", str(tmp_path / "g.far")]) == 1
    assert capsys.readouterr().err.strip() == f"srgs compile: cannot write {tmp_path / 'g.far'}: Permission denied"


def test_a_write_openfst_does_not_finish_is_an_error(grammar_file, tmp_path, capsys, monkeypatch):
    # OpenFst reports a failed write (a full disk) only on stderr; the archive is read back.
    monkeypatch.setattr(CompiledGrammar, "save", lambda self, path: Path(path).write_bytes(b"\0" * 64))
    target = tmp_path / "g.far"
    assert main(["compile", str(grammar_file), "-o", str(target)]) == 1
    assert f"srgs compile: cannot write {target}: the written file is not readable" in capsys.readouterr().err
    assert not target.exists() and list(tmp_path.iterdir()) == [grammar_file]  # no half file, no temporary


def test_compile_replaces_a_file_and_leaves_no_temporary(grammar_file, tmp_path):
    target = tmp_path / "g.far"
    target.write_text("old")
    assert main(["compile", str(grammar_file), "-o", str(target)]) == 0
    assert CompiledGrammar.load(target).metadata["active"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cities.gram", "g.far"]


def test_draw_to_a_missing_directory_fails(grammar_file, tmp_path, capsys):
    target = tmp_path / "missing" / "g.dot"
    assert main(["draw", str(grammar_file), "-o", str(target)]) == 1
    assert f"srgs draw: cannot write {target}: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["g.txt", "g", "g.jpeg"])
def test_draw_refuses_a_name_it_cannot_tell_the_format_of(grammar_file, tmp_path, capsys, name):
    with pytest.raises(SystemExit) as info:
        main(["draw", str(grammar_file), "-o", str(tmp_path / name)])
    assert info.value.code == 2
    assert "use .dot or .gv (DOT text), or .svg, .png, .pdf" in capsys.readouterr().err
    assert not (tmp_path / name).exists()


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """A graphviz `dot` stand-in on PATH: writes FORMAT and the DOT input it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text(f"#!{sys.executable}\n"  # dot -TFORMAT < DOT > PICTURE
                      "import sys\n_, fmt = sys.argv\n"
                      "sys.stdout.write(f'FAKE {fmt[2:]}\\n' + sys.stdin.read())\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return script


@pytest.mark.parametrize("suffix", ["png", "pdf", "svg", "PNG"])
def test_draw_writes_the_format_the_name_asks_for(grammar_file, tmp_path, fake_dot, suffix):
    target = tmp_path / f"g.{suffix}"
    assert main(["draw", str(grammar_file), "-o", str(target)]) == 0
    written = target.read_text()
    assert written.startswith(f"FAKE {suffix.lower()}\ndigraph") and "paris" in written


def test_draw_png_without_graphviz_is_a_clear_error(grammar_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    target = tmp_path / "g.png"
    assert main(["draw", str(grammar_file), "-o", str(target)]) == 1
    assert "writing .png needs the graphviz 'dot' program" in capsys.readouterr().err
    assert not target.exists()


def test_draw_gv_is_dot_text(grammar_file, tmp_path):
    target = tmp_path / "g.gv"
    assert main(["draw", str(grammar_file), "-o", str(target), "--acceptor"]) == 0
    assert target.read_text(encoding="utf-8").startswith("digraph")
