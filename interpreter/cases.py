"""Grammar regression cases: a file of texts with the value each must give (``srgs test``).

A cases file is YAML (a list of mappings) or JSON lines (``.jsonl``/``.ndjson``), each case
``{"text": "two large pizzas", "expect": {"qty": 2, "size": "L"}}``; ``expect: NO_MATCH`` says
the text must not match. Optional ``rule`` names the rule to activate for that case (instead of
the grammar's root or the ``#rule`` given on the command line). Optional ``params``
(``"minlength=3;maxlength=5"``) tests the case against the built-in grammar with those VoiceXML
parameters: ``location_with_params`` adds them to a ``builtin:`` URI's query.

Each case has one outcome: its value (compared with ``expect`` as JSON values: ``true`` is not
``1``), ``NO_MATCH``, or ``FAILURE`` -- the words matched but a tag failed -- which never passes,
whatever the case expects, and carries the error message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from srgs.errors import SrgsError
from srgs.model import SourceSpan

NO_MATCH = "NO_MATCH"
FAILURE = "FAILURE"


class CasesFileError(SrgsError):
    """A cases file that cannot be read or has a malformed case."""

    code = "CASES_INVALID"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    expect: object  # a JSON value, or NO_MATCH
    line: int
    rule: str | None = None
    params: str | None = None  # "minlength=3;maxlength=5": the grammar's parameters for this case


@dataclass(frozen=True, slots=True)
class Failure:
    """What ``run_cases``'s ``interpret`` returns when the text matched but a tag failed."""

    message: str


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """``got``: the value, ``NO_MATCH``, ``FAILURE`` (``error`` says why) or None when the case
    could not run (``error`` says why)."""

    case: Case
    got: object
    passed: bool
    error: str | None = None


def read_cases(path: str) -> list[Case]:
    """Every case of a YAML or JSON-lines file, with the line it starts on."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CasesFileError(f"cannot read cases file: {exc}", SourceSpan(path, 0, 0)) from None
    if path.endswith((".jsonl", ".ndjson")):
        return _json_lines(text, path)
    return _yaml_cases(text, path)


def _json_lines(text: str, path: str) -> list[Case]:
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CasesFileError(f"not JSON: {exc.msg}", SourceSpan(path, number, exc.colno)) from None
        cases.append(_case(item, path, number))
    return cases


def _yaml_cases(text: str, path: str) -> list[Case]:
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()  # the nodes keep each case's line
            items = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        span = SourceSpan(path, mark.line + 1, mark.column + 1) if mark else SourceSpan(path, 0, 0)
        raise CasesFileError(f"not YAML: {getattr(exc, 'problem', exc)}", span) from None
    if items is None:
        return []
    if not isinstance(items, list):
        raise CasesFileError("a cases file is a list of {text, expect} entries", SourceSpan(path, 1, 1))
    lines = [node.start_mark.line + 1 for node in root.value] if root is not None else []
    return [_case(item, path, line) for item, line in zip(items, lines, strict=True)]


def _case(item: object, path: str, line: int) -> Case:
    if not isinstance(item, dict) or "text" not in item or "expect" not in item:
        raise CasesFileError("each case needs 'text' and 'expect'", SourceSpan(path, line, 1))
    if not isinstance(item["text"], str):
        raise CasesFileError(
            f"'text' must be a string, not {item['text']!r}: quote it (YAML reads yes, no, on, off "
            "and numbers as other types)", SourceSpan(path, line, 1))
    rule = item.get("rule")
    if rule is not None and (not isinstance(rule, str) or not rule.strip() or "#" in rule):
        raise CasesFileError(f"'rule' must be a rule name, not {rule!r}", SourceSpan(path, line, 1))
    params = item.get("params")
    if params is not None and (not isinstance(params, str) or not params.strip() or "?" in params):
        raise CasesFileError(f"'params' must be a string such as \"minlength=3;maxlength=5\", not {params!r}",
                             SourceSpan(path, line, 1))
    return Case(text=item["text"], expect=item["expect"], line=line, rule=rule.strip() if rule else None,
                params=params.strip() if params else None)


def location_with_params(location: str, params: str | None) -> str:
    """``builtin:dtmf/digits`` + ``"length=4"`` -> ``builtin:dtmf/digits?length=4`` (joined with
    ``;`` to a query already there, a ``#`` key written ``%23``, a ``#rule`` kept last). Parameters are
    for ``builtin:`` URIs only."""
    if not params:
        return location
    if not location.startswith("builtin:"):
        raise CasesFileError(f"a case with 'params' needs a builtin: grammar, not {location!r}")
    base, hash_, fragment = location.partition("#")
    params = params.replace("#", "%23")  # the DTMF key '#' (y=#), not a fragment
    joined = f"{base};{params}" if "?" in base else f"{base}?{params}"
    return joined + hash_ + fragment


def run_cases(cases: list[Case], interpret: Callable[[Case], object]) -> list[CaseOutcome]:
    """Each case's outcome; ``interpret`` gives a case's value, ``NO_MATCH`` or a ``Failure``."""
    outcomes: list[CaseOutcome] = []
    for case in cases:
        try:
            got = interpret(case)
        except SrgsError as exc:
            outcomes.append(CaseOutcome(case, None, False, error=str(exc)))
            continue
        if isinstance(got, Failure):
            outcomes.append(CaseOutcome(case, FAILURE, False, error=got.message))
            continue
        outcomes.append(CaseOutcome(case, got, same_value(got, case.expect)))
    return outcomes


def same_value(a: object, b: object) -> bool:
    """Equality of JSON values: booleans are not numbers (``true`` != ``1``), 2 == 2.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list, tuple)) or isinstance(b, (dict, list, tuple)):
        return False
    return a == b
