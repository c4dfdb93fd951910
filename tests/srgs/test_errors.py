"""Errors a protocol can map: every kind has its own stable code, none disguised as another."""

from __future__ import annotations

import pytest

from interpreter.api import Interpreter, InterpreterOptions
from srgs import errors
from srgs.config import ConfigError, EngineConfig
from srgs.errors import (
    AccessDeniedError,
    GrammarErrors,
    GrammarSyntaxError,
    InputLimitError,
    LimitExceededError,
    SrgsError,
    TextTooLongError,
)
from srgs.limits import Limits
from srgs.load.loader import bundle_from_text, load_bundle
from srgs.load.policy import AccessPolicy
from srgs.load.sources import FetchOptions
from srgs.model import SourceSpan

EXPECTED = {
    "SrgsError": "ENGINE_ERROR",
    "GrammarSyntaxError": "GRAMMAR_SYNTAX",
    "InputLimitError": "GRAMMAR_LIMIT",
    "GrammarValidationError": "GRAMMAR_INVALID",
    "ResolveError": "REFERENCE_FAILED",
    "AccessDeniedError": "ACCESS_DENIED",
    "CompileError": "COMPILE_FAILED",
    "CompileLimitError": "COMPILE_LIMIT",
    "LimitExceededError": "LIMIT_EXCEEDED",
    "TextTooLongError": "TEXT_TOO_LONG",
}


def test_every_error_class_has_its_documented_code():
    classes = {name: getattr(errors, name) for name in EXPECTED}
    assert {name: cls.code for name, cls in classes.items()} == EXPECTED
    assert len(set(EXPECTED.values())) == len(EXPECTED)
    assert ConfigError.code == "CONFIG_INVALID"
    for code in EXPECTED.values():
        assert code in errors.__doc__


def test_a_too_long_text_is_not_a_grammar_error():
    interpreter = Interpreter.load("builtin:examples/yesno", options=InterpreterOptions(max_text_chars=5))
    with pytest.raises(TextTooLongError) as caught:
        interpreter.interpret("yes yes yes")
    assert not isinstance(caught.value, GrammarSyntaxError)
    assert caught.value.code == "TEXT_TOO_LONG" and caught.value.limit == "Limits.max_text_chars"


def test_a_grammar_over_a_size_limit_says_which_limit():
    with pytest.raises(GrammarErrors) as caught:
        bundle_from_text("#ABNF 1.0;\nroot $a;\n$a = a;\n" + "// x\n" * 100,
                         options=FetchOptions(limits=Limits(max_inline_bytes=64)))
    first = caught.value.errors[0]
    assert isinstance(first, InputLimitError) and isinstance(first, LimitExceededError)
    assert first.limit == "Limits.max_inline_bytes" and caught.value.code == "GRAMMAR_LIMIT"


def test_a_policy_refusal_is_access_denied():
    with pytest.raises(GrammarErrors) as caught:
        load_bundle("builtin:examples/yesno", options=FetchOptions(policy=AccessPolicy(builtin=False)))
    assert isinstance(caught.value.errors[0], AccessDeniedError)
    assert caught.value.code == "ACCESS_DENIED"


def test_syntax_errors_are_syntax_errors():
    with pytest.raises(GrammarErrors) as caught:
        bundle_from_text("#ABNF 1.0;\nlanguage en;\nroot $a;\n$a = (a;\n")
    assert caught.value.code == "GRAMMAR_SYNTAX"


def test_configuration_errors_have_their_code():
    with pytest.raises(SrgsError) as caught:
        EngineConfig.load(overrides={"script.time_s": "-1"})
    assert caught.value.code == "CONFIG_INVALID"


def test_a_set_of_errors_has_the_code_of_its_first_in_source_order():
    later = GrammarSyntaxError("b", SourceSpan("g.gram", 9, 1))
    first = AccessDeniedError("a", SourceSpan("g.gram", 2, 5))
    errors_ = GrammarErrors([later, first])
    assert errors_.errors == (first, later) and errors_.code == "ACCESS_DENIED"
    assert GrammarErrors([]).code == "GRAMMAR_INVALID"
    assert errors_.records("x") == [
        {"file": "g.gram", "line": 2, "column": 5, "message": "a", "severity": "error"},
        {"file": "g.gram", "line": 9, "column": 1, "message": "b", "severity": "error"},
    ]
    assert SrgsError("no place").records("f") == [
        {"file": "f", "line": None, "column": None, "message": "no place", "severity": "error"}]
    assert SrgsError("whole file", SourceSpan("h.grxml", 0, 0)).records()[0]["line"] is None
