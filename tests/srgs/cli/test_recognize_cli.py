"""``srgs recognize --hint WORD[:BOOST]``: word boosts on the command line (espeak-ng speech), both
back ends; bad hints and hints with free speech are usage errors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

from srgs.cli import main
from tests.decoder.speech import synthesise

NAMES = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nroot $r;\npublic $r = call (bill {out='b'} | will {out='w'});\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recognize")
    grammar = folder / "names.abnf"
    grammar.write_text(NAMES, encoding="utf-8")
    return str(grammar), str(synthesise("call bill", folder))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(["recognize", *argv])
        except SystemExit as exc:  # argparse's usage errors
            status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


def value(stdout: str) -> object:
    return json.loads(stdout)["alternatives"][0]["interpretations"][0]


@pytest.mark.parametrize("backend", ["pocketsphinx", "ctc"])
def test_hints_move_the_result_toward_the_boosted_word(files, backend):
    grammar, audio = files
    common = (grammar, audio, "--backend", backend, "--rejection-threshold", "0")
    status, out, _ = run(*common)
    assert status == 0 and value(out) == "b"
    status, out, err = run(*common, "--hint", "will:8")
    assert status == 0 and value(out) == "w" and err == ""
    status, out, err = run(*common, "--hint", "bill:-8", "--hint", "nobody")
    assert status == 0 and value(out) == "w"
    assert err == "srgs recognize: note: --hint word(s) in no active grammar, ignored: nobody\n"


def test_bad_hints_are_usage_errors(files):
    grammar, audio = files
    for bad in ("will:lots", "will:1,bill:2", ":3"):
        status, _, err = run(grammar, audio, "--hint", bad)
        assert status == 2 and "--hint" in err, bad
    status, _, err = run("builtin:slm/general", audio, "--hint", "will")
    assert status == 2 and err == "srgs recognize: --hint boosts grammar words: free speech (--lm) takes none\n"
