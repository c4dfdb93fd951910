"""The real ``srgs`` command, run as a separate process, for every subcommand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import w3c

REPO = Path(__file__).resolve().parents[3]


def srgs(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "srgs.cli", *args],
        capture_output=True, text=True, cwd=cwd or REPO, timeout=timeout,
    )


def test_help_on_every_command():
    top = srgs("--help")
    assert top.returncode == 0
    for command in ("check", "convert", "compile", "generate", "draw", "interpret", "match", "test"):
        assert command in top.stdout
        sub = srgs(command, "--help")
        assert sub.returncode == 0, sub.stderr
        assert "usage: srgs " + command in sub.stdout


def test_check_reports_positioned_errors_and_exit_status(tmp_path):
    good = tmp_path / "good.gram"
    good.write_text("#ABNF 1.0;\nlanguage en;\nroot $a;\npublic $a = hello $b;\n$b = world;\n")
    bad = tmp_path / "bad.gram"
    bad.write_text("#ABNF 1.0;\nlanguage en;\nroot $a;\npublic $a = hello $nowhere;\n")
    ok = srgs("check", str(good))
    assert ok.returncode == 0, ok.stderr
    failed = srgs("check", str(good), str(bad))
    assert failed.returncode == 1
    assert failed.stderr.strip() == f"{bad}:4:19: error: reference to undefined rule 'nowhere'"
    as_json = json.loads(srgs("check", str(bad), "--format", "json").stdout)
    assert as_json["ok"] is False and as_json["files"][0]["errors"]


def test_check_refuses_a_malformed_xml_grammar_with_its_position(tmp_path):
    bad = tmp_path / "bad.grxml"
    bad.write_text('<?xml version="1.0"?>\n'
                   '<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en" root="a">\n'
                   '  <rule id="a">hi</rul>\n</grammar>\n')
    out = srgs("check", str(bad))
    assert out.returncode == 1
    assert out.stderr.startswith(f"{bad}:3:")
    assert ": error: " in out.stderr
    assert "Traceback" not in out.stderr


def test_check_the_w3c_illegal_grammars_fail():
    names = [str(w3c.TEST_DIR / n) for n in ("rule-no-empty.grxml", "undefined-root.gram", "duplicated-rulenames.grxml")]
    out = srgs("check", *names)
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) >= 3


def test_convert_both_ways_round_trips(tmp_path):
    source = w3c.TEST_DIR / "example-1.grxml"
    abnf = srgs("convert", str(source), "--to", "abnf")
    assert abnf.returncode == 0, abnf.stderr
    assert abnf.stdout.startswith("#ABNF 1.0")
    path = tmp_path / "example-1.gram"
    path.write_text(abnf.stdout)
    xml = srgs("convert", str(path), "--to", "xml")
    assert xml.returncode == 0, xml.stderr
    from srgs.load.loader import parse_grammar

    assert parse_grammar(xml.stdout.encode(), "x.grxml") == parse_grammar(source.read_bytes(), str(source))


def test_interpret_json_is_the_recognition_result_body():
    out = srgs("interpret", "builtin:examples/pizza", "two large pizzas with mushrooms")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["result_status"] == "RECOGNIZED"
    best = body["alternatives"][0]
    assert best["text"] == "two large pizzas with mushrooms"
    assert best["lm"] == "builtin:examples/pizza"
    assert best["interpretations"][0] == {"qty": 2, "size": "L", "toppings": ["mushroom"]}
    assert len(best["interpretation_scores"]) == len(best["interpretations"])


def test_interpret_no_match_exits_zero():
    out = srgs("interpret", "builtin:examples/pizza", "a cup of tea")
    assert out.returncode == 0
    assert json.loads(out.stdout)["result_status"] == "NO_MATCH"
    assert json.loads(out.stdout)["alternatives"] == []


@pytest.mark.parametrize("fmt,marker", [("nlsml", "<result"), ("emma", "emma:emma"), ("tree", "$order[")])
def test_interpret_other_formats(fmt, marker):
    out = srgs("interpret", "builtin:examples/pizza", "a small pizza", "--format", fmt)
    assert out.returncode == 0, out.stderr
    assert marker in out.stdout


def test_interpret_several_grammars():
    out = srgs("interpret", "builtin:examples/pizza", "yes please", "--grammar", "builtin:examples/yesno")
    body = json.loads(out.stdout)
    assert body["alternatives"][0]["lm"] == "builtin:examples/yesno"
    assert body["alternatives"][0]["interpretations"] == ["yes"]


def test_interpret_bad_grammar_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.gram"
    bad.write_text("#ABNF 1.0;\nlanguage en;\npublic $a = (unclosed;\n")
    out = srgs("interpret", str(bad), "x")
    assert out.returncode == 1
    assert out.stderr.startswith(f"{bad}:3:")
    assert "Traceback" not in out.stderr


def test_match_dtmf():
    out = srgs("match", "builtin:examples/digits", "715#", "--format", "json")
    assert json.loads(out.stdout) == {"status": "MATCH_END", "interpretation": "715"}
    assert json.loads(srgs("match", "builtin:examples/digits", "71", "--format", "json").stdout)["status"] == "MATCH"


def test_test_command_runs_cases(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "- text: two large pizzas\n  expect: {qty: 2, size: L}\n"
        "- text: a cup of tea\n  expect: NO_MATCH\n"
    )
    ok = srgs("test", "builtin:examples/pizza", str(cases))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 passed, 0 failed" in ok.stdout
    cases.write_text("- text: two large pizzas\n  expect: {qty: 3}\n")
    bad = srgs("test", "builtin:examples/pizza", str(cases), "--format", "json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["failed"] == 1


def test_compile_generate_draw(tmp_path):
    far = tmp_path / "pizza.far"
    out = srgs("compile", "builtin:examples/pizza", "-o", str(far), "-v")
    assert out.returncode == 0, out.stderr
    assert far.stat().st_size > 0
    assert "states" in out.stderr + out.stdout
    gen = srgs("generate", "builtin:examples/yesno", "-n", "5", "--seed", "3")
    assert gen.returncode == 0, gen.stderr
    assert len(gen.stdout.strip().splitlines()) == 5
    dot = tmp_path / "yesno.dot"
    drawn = srgs("draw", "builtin:examples/yesno", "-o", str(dot))
    assert drawn.returncode == 0, drawn.stderr
    assert dot.read_text().lstrip().startswith("digraph")
