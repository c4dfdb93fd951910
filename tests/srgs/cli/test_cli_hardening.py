"""The command line's contract, end to end: exit status (0 ran, 1 bad input, 2 usage, 3 FAILURE),
failed tags in every format, argument validation, DTMF labels, compiled grammars, batch mode,
confidence threshold, the SISR tag check of ``srgs check``, UTF-8 JSON and ``--version``.

Most tests run ``srgs.cli.main`` in process (fast); the ones about processes (stdin streaming,
``--version``, OpenFst's own stderr) run the real command.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
from lxml import etree

from interpreter.formats import SRGS_NS
from srgs.cli import EXIT_ERROR, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, build_parser, main

REPO = Path(__file__).resolve().parents[3]
NS = {"m": "urn:ietf:params:xml:ns:mrcpv2", "emma": "http://www.w3.org/2003/04/emma"}
EMMA = "{http://www.w3.org/2003/04/emma}"

THROWS = """#ABNF 1.0 UTF-8;
language en-US;
tag-format <semantics/1.0>;
root $main;
public $main = hello {out = undefinedThing.x;} | bye {out = "bye";};
"""
BAD_TAG = THROWS.replace("undefinedThing.x;", "(;")
CAFE = """#ABNF 1.0 UTF-8;
language fr-FR;
tag-format <semantics/1.0>;
root $main;
public $main = un café {!{ out = {"ville": "Québec", "mot": "北京"}; }!};
"""
GARBAGE = """#ABNF 1.0 UTF-8;
language en-US;
tag-format <semantics/1.0>;
root $main;
public $main = $GARBAGE hello {out = "hi";};
"""
TWO_RULES = """#ABNF 1.0 UTF-8;
language en-US;
tag-format <semantics/1.0>;
root $main;
public $main = yes {out = true;} | no {out = false;};
public $number = one {out = 1;} | two {out = 2;};
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``srgs ARGV`` in process: (exit status, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse: usage errors, --help, --version
        code = exc.code if isinstance(exc.code, int) else EXIT_ERROR
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def srgs(*args: str, input: str | bytes | None = None) -> subprocess.CompletedProcess:
    """The real command, as a separate process."""
    return subprocess.run([sys.executable, "-m", "srgs.cli", *args], capture_output=True, cwd=REPO, timeout=120,
                          input=input.encode() if isinstance(input, str) else input)


@pytest.fixture
def grammar(tmp_path):
    def write(text: str, name: str = "g.gram") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def stdin(monkeypatch):
    def feed(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))

    return feed


# --- 1. srgs test: a failed tag is a FAILURE, never a NO_MATCH ------------------------------------


def test_test_reports_a_failed_tag_as_failure_with_the_message(capsys, grammar, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text("- text: hello\n  expect: NO_MATCH\n- text: bye\n  expect: bye\n- text: what\n  expect: NO_MATCH\n")
    code, out, _ = run(capsys, "test", grammar(THROWS), str(cases))
    assert code == EXIT_ERROR
    fail = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fail) == 1 and "hello" in fail[0]
    assert 'expected "NO_MATCH", got FAILURE: ' in fail[0] and "ReferenceError" in fail[0] and "(1)" in fail[0]
    assert "2 passed, 1 failed" in out

    code, out, _ = run(capsys, "test", grammar(THROWS), str(cases), "--format", "json")
    body = json.loads(out)
    assert code == EXIT_ERROR and (body["passed"], body["failed"]) == (2, 1)
    first = body["cases"][0]
    assert first["got"] == "FAILURE" and first["passed"] is False and "ReferenceError" in first["error"]


def test_test_runs_each_case_with_its_rule(capsys, grammar, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "yes", "expect": true}\n{"text": "two", "expect": 2, "rule": "number"}\n'
                     '{"text": "two", "expect": "NO_MATCH"}\n{"text": "yes", "expect": 1}\n')
    code, out, _ = run(capsys, "test", grammar(TWO_RULES), str(cases))
    assert code == EXIT_ERROR, out
    assert "3 passed, 1 failed" in out  # true is not 1
    assert out.splitlines()[3].startswith("FAIL  yes")


# --- 2. FAILURE in every format, the same exit status ---------------------------------------------


def test_failure_is_exit_3_in_every_format_with_the_message_on_stderr(capsys, grammar):
    path = grammar(THROWS)
    for fmt in ("json", "nlsml", "emma"):
        code, out, err = run(capsys, "interpret", path, "hello", "--format", fmt)
        assert code == EXIT_FAILURE, (fmt, err)
        assert err.startswith("srgs interpret: FAILURE: ") and "ReferenceError" in err
        assert out.strip(), fmt  # the result is still printed
    code, out, _ = run(capsys, "interpret", path, "hello")
    assert json.loads(out)["result_status"] == "FAILURE"


def test_nlsml_failure_is_no_nomatch(capsys, grammar):
    code, out, _ = run(capsys, "interpret", grammar(THROWS), "hello", "--format", "nlsml")
    doc = etree.fromstring(out.encode())
    assert code == EXIT_FAILURE
    assert doc.find(".//m:nomatch", NS) is None and doc.find(".//m:instance", NS) is None
    assert doc.findtext("m:interpretation/m:input", namespaces=NS) == "hello"
    assert any("semantics-failure" in c.text for c in doc.iter(etree.Comment))
    assert any("ReferenceError" in c.text for c in doc.iter(etree.Comment))


def test_emma_failure_is_in_emma_info(capsys, grammar):
    code, out, _ = run(capsys, "interpret", grammar(THROWS), "hello", "--format", "emma")
    doc = etree.fromstring(out.encode())
    interp = doc.find("emma:interpretation", NS)
    assert code == EXIT_FAILURE
    assert interp.get(EMMA + "uninterpreted") is None
    assert "ReferenceError" in interp.find(f"emma:info/{{{SRGS_NS}}}failure", NS).text


def test_ran_is_exit_0_and_bad_grammar_exit_1(capsys, grammar):
    assert run(capsys, "interpret", grammar(THROWS), "bye")[0] == EXIT_OK
    assert run(capsys, "interpret", grammar(THROWS), "nothing", "--format", "nlsml")[0] == EXIT_OK
    code, _, err = run(capsys, "interpret", grammar(BAD_TAG), "bye")
    assert code == EXIT_ERROR and ":5:" in err and "Traceback" not in err


def test_match_reports_a_failed_tag_as_interpret_does(capsys, grammar):
    path = grammar(THROWS)
    code, out, err = run(capsys, "match", path, "hello")
    assert code == EXIT_FAILURE
    assert out.strip().endswith(" FAILURE") and out.split()[0] in ("MATCH", "MATCH_END")
    assert err.startswith("srgs match: FAILURE: ") and "ReferenceError" in err
    code, out, err = run(capsys, "match", path, "hello", "--format", "json")
    body = json.loads(out)
    assert code == EXIT_FAILURE and body["interpretation"] is None
    assert body["error"]["code"] == "SEMANTICS_FAILURE" and "ReferenceError" in body["error"]["message"]
    assert run(capsys, "match", path, "bye")[0] == EXIT_OK


# --- 4. weights ---------------------------------------------------------------------------------


@pytest.mark.parametrize("weight", ["0", "-1", "inf", "-inf", "nan", "1e999", "heavy"])
def test_bad_weights_are_usage_errors(capsys, weight):
    code, out, err = run(capsys, "interpret", "builtin:examples/pizza", "yes", "--grammar", "builtin:examples/yesno",
                         "--weight", "1", f"--weight={weight}")
    assert code == EXIT_USAGE and out == ""
    assert "argument --weight:" in err and "Traceback" not in err
    assert ("finite number greater than 0" in err) or ("not a number" in err)


def test_weights_count_and_effect(capsys):
    code, _, err = run(capsys, "interpret", "builtin:examples/pizza", "yes", "--grammar", "builtin:examples/yesno",
                       "--weight", "1")
    assert code == EXIT_USAGE and "one --weight per grammar" in err
    code, out, err = run(capsys, "interpret", "builtin:examples/pizza", "yes", "--grammar", "builtin:examples/yesno",
                         "--weight", "0.5", "--weight", "2e3")
    assert code == EXIT_OK, err
    assert json.loads(out)["alternatives"][0]["lm"] == "builtin:examples/yesno"


# --- 5. DTMF is labelled DTMF -------------------------------------------------------------------


def test_dtmf_results_are_labelled_dtmf(capsys):
    code, out, _ = run(capsys, "interpret", "builtin:examples/digits", "715#", "--format", "nlsml")
    assert code == EXIT_OK
    assert etree.fromstring(out.encode()).find("m:interpretation/m:input", NS).get("mode") == "dtmf"
    code, out, _ = run(capsys, "interpret", "builtin:examples/digits", "715#", "--format", "emma")
    interp = etree.fromstring(out.encode()).find("emma:one-of/emma:interpretation", NS)
    assert interp.get(EMMA + "mode") == "dtmf" and interp.get(EMMA + "medium") == "tactile"
    code, out, _ = run(capsys, "interpret", "builtin:examples/yesno", "yes", "--format", "emma")
    interp = etree.fromstring(out.encode()).find("emma:one-of/emma:interpretation", NS)
    assert interp.get(EMMA + "mode") == "voice" and interp.get(EMMA + "medium") == "acoustic"


# --- 6. n-best, tree, UTF-8 JSON, --version ---------------------------------------------------------


@pytest.mark.parametrize("nbest", ["0", "-1", "101", "two"])
def test_bad_nbest_is_a_usage_error(capsys, nbest):
    code, out, err = run(capsys, "interpret", "builtin:examples/pizza", "one pizza", f"--nbest={nbest}")
    assert code == EXIT_USAGE and out == "" and "argument --nbest:" in err


def test_nbest_limit_is_the_api_one_and_in_help(capsys):
    from interpreter.api import MAX_NBEST
    from srgs.cli.interpret_commands import HELP_MAX_NBEST

    assert HELP_MAX_NBEST == MAX_NBEST
    code, out, _ = run(capsys, "interpret", "--help")
    assert code == EXIT_OK and f"1 to {MAX_NBEST}" in " ".join(out.split())
    code, out, _ = run(capsys, "interpret", "builtin:examples/pizza", "one pizza", f"--nbest={MAX_NBEST}")
    assert code == EXIT_OK and json.loads(out)["result_status"] == "RECOGNIZED"


def test_tree_format_says_no_match(capsys):
    code, out, _ = run(capsys, "interpret", "builtin:examples/pizza", "a cup of tea", "--format", "tree")
    assert code == EXIT_OK and out == "NO_MATCH\n"


def test_json_keeps_non_ascii_in_every_command(capsys, grammar, tmp_path):
    path = grammar(CAFE)
    for argv in (["interpret", path, "un café"], ["match", path, "un café", "--format", "json"],
                 ["generate", path, "-n", "1", "--format", "json"]):
        code, out, _ = run(capsys, *argv)
        assert code == EXIT_OK, argv
        assert ("Québec" in out or "café" in out) and "\\u" not in out, argv
        json.loads(out)
    cases = tmp_path / "cases.yaml"
    cases.write_text("- text: un café\n  expect: {ville: Montréal}\n", encoding="utf-8")
    code, out, _ = run(capsys, "test", path, str(cases), "--format", "json")
    assert code == EXIT_ERROR and "Montréal" in out and "北京" in out and "\\u" not in out


def test_version_is_the_package_version():
    from importlib import metadata

    out = srgs("--version")
    assert out.returncode == 0
    assert out.stdout.decode() == f"srgs {metadata.version('srgs-engine')}\n"


def test_version_falls_back_to_pyproject(monkeypatch):
    from importlib import metadata

    from srgs import version

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert version() == declared


# --- 7. a compiled grammar, without its sources -------------------------------------------------------


def test_interpret_a_compiled_far(capsys, tmp_path):
    far = tmp_path / "pizza.far"
    assert run(capsys, "compile", "builtin:examples/pizza", "-o", str(far))[0] == EXIT_OK
    text = "two large pizzas with mushrooms"
    code, out, err = run(capsys, "interpret", str(far), text)
    assert code == EXIT_OK, err
    compiled = json.loads(out)["alternatives"][0]
    source = json.loads(run(capsys, "interpret", "builtin:examples/pizza", text)[1])["alternatives"][0]
    assert compiled["lm"] == str(far)
    assert compiled["interpretations"] == source["interpretations"] == [{"qty": 2, "size": "L", "toppings": ["mushroom"]}]
    code, out, _ = run(capsys, "interpret", str(far), "a cup of tea", "--format", "tree")
    assert code == EXIT_OK and out == "NO_MATCH\n"
    code, _, err = run(capsys, "interpret", f"{far}#order", text)
    assert code == EXIT_ERROR and "compile the grammar with #order" in err


# --- 8. batch: one text per line on stdin ----------------------------------------------------------


def test_batch_writes_one_json_line_per_text(capsys, stdin, grammar):
    stdin(b"two large pizzas\n\na cup of tea\r\nuna pizza grande\n")
    code, out, err = run(capsys, "interpret", "builtin:examples/pizza", "-")
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert [json.loads(line)["result_status"] for line in lines] == ["RECOGNIZED", "NO_MATCH", "NO_MATCH", "NO_MATCH"]
    assert lines[0] == json.dumps(json.loads(lines[0]), separators=(",", ":"), ensure_ascii=False)


def test_batch_failure_line_is_exit_3_and_the_rest_still_runs(capsys, stdin, grammar):
    stdin(b"bye\nhello\nbye\n")
    code, out, err = run(capsys, "interpret", grammar(THROWS), "-")
    assert code == EXIT_FAILURE
    assert [json.loads(line)["result_status"] for line in out.splitlines()] == ["RECOGNIZED", "FAILURE", "RECOGNIZED"]
    assert err.startswith("srgs interpret: stdin line 2: FAILURE: ")


@pytest.mark.parametrize("fmt", ["nlsml", "emma"])
def test_batch_xml_is_one_document_per_line(capsys, stdin, fmt):
    stdin(b"yes\nmaybe\n")
    code, out, _ = run(capsys, "interpret", "builtin:examples/yesno", "-", "--format", fmt)
    lines = out.splitlines()
    assert code == EXIT_OK and len(lines) == 2
    for line in lines:
        assert line.startswith('<?xml version="1.0" encoding="UTF-8"?><')
        etree.fromstring(line.encode())


def test_batch_refuses_tree_and_bad_bytes(capsys, stdin):
    code, out, err = run(capsys, "interpret", "builtin:examples/yesno", "-", "--format", "tree")
    assert code == EXIT_USAGE and out == "" and "one result per line" in err
    stdin(b"yes\n\xff\xfe\nno\n")
    code, out, err = run(capsys, "interpret", "builtin:examples/yesno", "-")
    assert code == EXIT_ERROR and len(out.splitlines()) == 1 and "stdin line 2: not UTF-8" in err


@pytest.mark.parametrize("times", [1, 2])  # refused by the interpreter; not even read whole
def test_batch_stops_at_a_line_over_the_text_limit(capsys, stdin, times):
    from srgs.limits import DEFAULT_LIMITS

    stdin(b"yes\n" + b"no " * (times * DEFAULT_LIMITS.max_text_chars) + b"\nno\n")
    code, out, err = run(capsys, "interpret", "builtin:examples/yesno", "-")
    assert code == EXIT_ERROR and len(out.splitlines()) == 1
    assert err.startswith("srgs interpret: stdin line 2: ")
    assert f"longer than {DEFAULT_LIMITS.max_text_chars} characters" in err


def test_batch_answers_each_line_as_it_comes():
    """A client can write a text and read its result before writing the next (flushed per line)."""
    process = subprocess.Popen([sys.executable, "-m", "srgs.cli", "interpret", "builtin:examples/yesno", "-"], cwd=REPO,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(60, process.kill)  # a missing flush would block readline: fail, do not hang
    timer.start()
    try:
        answers = []
        for text in (b"yes\n", b"no\n"):
            process.stdin.write(text)
            process.stdin.flush()
            answers.append(json.loads(process.stdout.readline())["alternatives"][0]["interpretations"])
        process.stdin.close()
        assert process.wait() == 0
    finally:
        timer.cancel()
        process.kill()
        process.stdout.close()
        process.stderr.close()
    assert answers == [["yes"], ["no"]]


# --- 9. match with several grammars ------------------------------------------------------------------


def test_match_takes_more_grammars(capsys):
    code, out, _ = run(capsys, "match", "builtin:examples/digits", "yes", "--format", "json")
    assert code == EXIT_OK and json.loads(out)["status"] == "NO_MATCH"
    code, out, _ = run(capsys, "match", "builtin:examples/digits", "yes", "--grammar", "builtin:examples/yesno",
                       "--format", "json")
    assert code == EXIT_OK and json.loads(out)["interpretation"] == "yes"
    assert json.loads(out)["status"] in ("MATCH", "MATCH_END")


# --- 10. confidence threshold ------------------------------------------------------------------------


def test_confidence_threshold_turns_low_scores_into_no_match(capsys, grammar, tmp_path):
    path = grammar(GARBAGE)  # "um hello": one word of two read by $GARBAGE, score 50
    code, out, _ = run(capsys, "interpret", path, "um hello", "--confidence-threshold", "50")
    assert code == EXIT_OK and json.loads(out)["alternatives"][0]["score"] == 50
    code, out, _ = run(capsys, "interpret", path, "um hello", "--confidence-threshold", "51")
    assert code == EXIT_OK and json.loads(out)["result_status"] == "NO_MATCH"
    cases = tmp_path / "cases.yaml"
    cases.write_text("- text: um hello\n  expect: NO_MATCH\n- text: hello\n  expect: hi\n")
    assert run(capsys, "test", path, str(cases))[0] == EXIT_ERROR
    code, out, _ = run(capsys, "test", path, str(cases), "--confidence-threshold", "80")
    assert code == EXIT_OK and "2 passed, 0 failed" in out


@pytest.mark.parametrize("value", ["-1", "101", "0.5", "high"])
def test_confidence_threshold_range(capsys, value):
    code, _, err = run(capsys, "interpret", "builtin:examples/yesno", "yes", f"--confidence-threshold={value}")
    assert code == EXIT_USAGE and "argument --confidence-threshold:" in err


# --- 11. srgs check runs the SISR tag check -------------------------------------------------------------


def test_check_registers_the_tag_check():
    from srgs.cli.interpret_commands import check_tags

    assert build_parser().parse_args(["check", "x.gram"]).extra_checks == [check_tags]


def test_check_reports_a_tag_syntax_error_with_its_position(capsys, grammar):
    path = grammar(BAD_TAG)
    code, out, err = run(capsys, "check", path)
    assert code == EXIT_ERROR, out + err
    assert err.startswith(f"{path}:5:22: error: ") and "SyntaxError" in err
    assert run(capsys, "check", grammar(THROWS, "fine.gram"))[0] == EXIT_OK  # throws only when run


# --- 3. output files (more in tests/srgs/compile/test_commands.py) ------------------------------------------


def test_unwritable_output_is_one_clear_line(tmp_path):
    out = srgs("compile", "builtin:examples/yesno", "-o", str(tmp_path / "missing" / "y.far"))
    err = out.stderr.decode()
    assert out.returncode == EXIT_ERROR
    assert f"srgs compile: cannot write {tmp_path / 'missing' / 'y.far'}: No such file or directory" in err
    assert "ERROR" not in err and "Traceback" not in err


def test_test_runs_params_cases_against_the_builtin_with_those_params(tmp_path, capsys):
    cases = tmp_path / "digits.cases.yaml"
    cases.write_text('- text: "one two three"\n  expect: "123"\n'
                     '- text: "one two three"\n  params: "minlength=4"\n  expect: NO_MATCH\n'
                     '- text: "one two three four"\n  params: "length=4"\n  expect: "1234"\n', encoding="utf-8")
    code = main(["test", "builtin:grammar/digits", str(cases)])
    out = capsys.readouterr().out
    assert code == 0 and "3 passed, 0 failed" in out
