"""Every shipped grammar passes its own regression cases (grammars/builtin/NAME.cases.*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from interpreter.cases import CasesFileError, read_cases
from tests.srgs.cli.test_cli import srgs

BUILTIN = Path(__file__).resolve().parent.parent / "grammars" / "builtin"
CASES = sorted(p for p in BUILTIN.iterdir() if ".cases." in p.name)


def test_every_builtin_grammar_has_cases():
    grammars = {p.stem for p in BUILTIN.iterdir() if p.suffix in (".grxml", ".gram")}
    assert grammars == {p.name.split(".cases.")[0] for p in CASES}


@pytest.mark.parametrize("cases", CASES, ids=lambda p: p.name)
def test_builtin_grammar_passes_its_cases(cases):
    name = cases.name.split(".cases.")[0]
    out = srgs("test", f"builtin:{name}", str(cases))
    assert out.returncode == 0, out.stdout + out.stderr
    count = len(read_cases(str(cases)))
    assert f"{count} passed, 0 failed" in out.stdout


def test_a_yaml_boolean_text_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "cases.yaml"
    bad.write_text('- text: "fine"\n  expect: NO_MATCH\n- text: yes\n  expect: "yes"\n')
    with pytest.raises(CasesFileError) as info:
        read_cases(str(bad))
    assert str(info.value).startswith(f"{bad}:3:1: 'text' must be a string")
