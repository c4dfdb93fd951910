"""Cases files (``srgs test``): reading them, and the outcome of each case."""

from __future__ import annotations

import pytest

from interpreter.cases import (
    FAILURE,
    NO_MATCH,
    Case,
    CasesFileError,
    Failure,
    read_cases,
    run_cases,
    same_value,
)
from srgs.errors import SrgsError


def test_yaml_cases_keep_their_lines_and_rules(tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text("# comment\n- text: one\n  expect: 1\n- text: yes please\n  expect: NO_MATCH\n  rule: answer\n")
    assert read_cases(str(path)) == [Case("one", 1, 2), Case("yes please", NO_MATCH, 4, rule="answer")]


def test_json_lines_cases(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text('{"text": "715#", "expect": "715"}\n\n# skipped\n{"text": "#", "expect": "NO_MATCH", "rule": "key"}\n')
    assert read_cases(str(path)) == [Case("715#", "715", 1), Case("#", NO_MATCH, 4, rule="key")]


@pytest.mark.parametrize("rule", ["3", "''", "a#b", "[x]"])
def test_a_bad_rule_is_refused_with_its_line(tmp_path, rule):
    path = tmp_path / "cases.yaml"
    path.write_text(f"- text: a\n  expect: 1\n- text: b\n  expect: 2\n  rule: {rule}\n")
    with pytest.raises(CasesFileError) as info:
        read_cases(str(path))
    assert str(info.value).startswith(f"{path}:3:1: 'rule' must be a rule name")


def test_a_failure_never_passes_and_says_why():
    cases = [Case("a", NO_MATCH, 1), Case("b", FAILURE, 2), Case("c", "c", 3)]
    values = {"a": Failure("tag threw ReferenceError"), "b": Failure("boom"), "c": "c"}
    outcomes = run_cases(cases, lambda case: values[case.text])
    assert [(o.got, o.passed, o.error) for o in outcomes] == [
        (FAILURE, False, "tag threw ReferenceError"), (FAILURE, False, "boom"), ("c", True, None)]


def test_a_case_that_cannot_run_is_failed_with_the_error():
    def interpret(case):
        raise SrgsError("no such rule")

    [outcome] = run_cases([Case("a", 1, 1)], interpret)
    assert not outcome.passed and outcome.got is None and outcome.error == "no such rule"


def test_the_interpret_function_gets_the_case_with_its_rule():
    seen = []
    run_cases([Case("a", 1, 1, rule="r")], lambda case: seen.append((case.text, case.rule)) or 1)
    assert seen == [("a", "r")]


@pytest.mark.parametrize("got, expect, same", [
    (True, 1, False), (1, True, False), (False, 0, False), (True, True, True),
    (2, 2.0, True), ({"a": [1, True]}, {"a": [1, True]}, True), ({"a": [1, 1]}, {"a": [1, True]}, False),
    ({"a": 1}, {"a": 1, "b": 2}, False), ([1], (1,), True), ("1", 1, False), (None, None, True),
    ([1], {"0": 1}, False),
])
def test_values_compare_as_json(got, expect, same):
    assert same_value(got, expect) is same
