"""Drawing: OpenFst's DOT text and graphviz's picture, shared by `srgs draw` and the playground."""

from __future__ import annotations

import sys

import pytest

from srgs.compile import compile_bundle
from srgs.compile.draw import DrawError, DrawTimeout, DrawUnavailable, dot_text, render
from srgs.load import bundle_from_text

GRAMMAR = b"#ABNF 1.0;\nlanguage en-US;\nroot $a;\n$a = yes {out='y'} | no;\n"


def fake_dot(tmp_path, monkeypatch, body: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_dot_text_has_the_words_of_either_automaton():
    compiled = compile_bundle(bundle_from_text(GRAMMAR))
    assert dot_text(compiled).startswith("digraph") and "yes" in dot_text(compiled)
    assert "yes" in dot_text(compiled, acceptor=True, page_inches=200)


def test_render_gives_svg_from_graphviz():  # graphviz is installed by .ci/run
    compiled = compile_bundle(bundle_from_text(GRAMMAR))
    assert b"<svg" in render(dot_text(compiled), "svg", timeout_s=20)


def test_render_failures_are_one_line_errors(tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, "sys.stderr.write('syntax error in line 1\\n'); sys.exit(1)")
    with pytest.raises(DrawError, match="graphviz dot failed: syntax error in line 1"):
        render("digraph {}", "svg")
    (tmp_path / "bin" / "dot").write_text(f"#!{sys.executable}\nimport time\ntime.sleep(5)\n")
    with pytest.raises(DrawTimeout, match="more than 0.3 s"):
        render("digraph {}", "svg", timeout_s=0.3)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DrawUnavailable, match="needs the graphviz 'dot' program"):
        render("digraph {}", "png")
