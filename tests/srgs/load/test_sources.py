"""Where grammars come from: one size limit per kind of source, flags named where they help,
``--uri-map`` onto a directory, directories refused as such."""

from __future__ import annotations

import argparse

import pytest

from srgs.cli.grammar_commands import fetch_options, run_check, run_convert
from srgs.errors import GrammarErrors, InputLimitError
from srgs.limits import DEFAULT_LIMITS, Limits
from srgs.load.loader import bundle_from_text, load_bundle, parse_grammar
from srgs.load.sources import FetchOptions, location_to_uri

HEAD = "#ABNF 1.0;\nlanguage en;\n"
MiB = 1024 * 1024


def abnf_of_size(size: int, rule: str = "public $a = hello;\n") -> str:
    """A grammar of ``size`` bytes: a header, one rule and a long comment."""
    head = HEAD + "root $a;\n" + rule + "/* "
    return head + "x" * (size - len(head) - 4) + " */\n"


def only_error(info) -> InputLimitError:
    (error,) = info.value.errors
    assert isinstance(error, InputLimitError)
    return error


# --- item 1: one limit per kind of source ------------------------------------------------------


def test_a_9_mib_local_grammar_loads_with_the_default_limits(tmp_path):
    assert DEFAULT_LIMITS.max_fetch_bytes < 9 * MiB < DEFAULT_LIMITS.max_grammar_bytes
    path = tmp_path / "big.gram"
    path.write_text(abnf_of_size(9 * MiB))
    assert path.stat().st_size == 9 * MiB
    assert load_bundle(str(path)).main_grammar.rule("a") is not None
    xml = tmp_path / "big.grxml"
    xml.write_text('<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en" root="a">'
                   f'<!-- {"x" * 9 * MiB} --><rule id="a">hello</rule></grammar>')
    assert load_bundle(str(xml)).main_grammar.rule("a") is not None


def test_a_local_grammar_over_the_file_limit_is_refused_naming_the_limit(tmp_path):
    path = tmp_path / "big.gram"
    path.write_text(abnf_of_size(2000))
    small = FetchOptions(limits=Limits(max_grammar_bytes=1000))
    with pytest.raises(GrammarErrors) as info:
        load_bundle(str(path), options=small)
    error = only_error(info)
    assert str(error) == (f"{path}: {path} is over the local grammar file limit of 1000 bytes "
                          "(Limits.max_grammar_bytes)")
    # the http(s) and inline limits do not apply to a local file
    assert load_bundle(str(path), options=FetchOptions(limits=Limits(max_fetch_bytes=1000, max_inline_bytes=1000)))


def test_a_referenced_local_grammar_is_bounded_by_the_file_limit(tmp_path):
    (tmp_path / "big.gram").write_text(abnf_of_size(2000, "public $a = big;\n"))
    main = tmp_path / "main.gram"
    main.write_text(HEAD + "root $m;\npublic $m = $<big.gram>;\n")
    with pytest.raises(GrammarErrors) as info:
        load_bundle(str(main), options=FetchOptions(limits=Limits(max_grammar_bytes=1000)))
    assert info.value.errors[0].span.line == 4
    assert "over the local grammar file limit of 1000 bytes (Limits.max_grammar_bytes)" in str(info.value)
    assert load_bundle(str(main), options=FetchOptions(limits=Limits(max_fetch_bytes=1000))).grammars


def test_builtin_grammars_are_bounded_by_the_file_limit():
    with pytest.raises(GrammarErrors, match=r"over the local grammar file limit of 100 bytes"):
        load_bundle("builtin:examples/pizza", options=FetchOptions(limits=Limits(max_grammar_bytes=100)))


def test_inline_text_is_bounded_by_the_inline_limit():
    text = abnf_of_size(2000)
    with pytest.raises(GrammarErrors) as info:
        bundle_from_text(text, source="t.gram", options=FetchOptions(limits=Limits(max_inline_bytes=1000)))
    assert str(only_error(info)) == ("t.gram: grammar is 2000 bytes, over the inline grammar text limit of "
                                     "1000 bytes (Limits.max_inline_bytes)")
    assert bundle_from_text(text, source="t.gram", options=FetchOptions(limits=Limits(max_grammar_bytes=1000)))
    with pytest.raises(InputLimitError, match=r"Limits.max_inline_bytes"):
        parse_grammar(text, "t.gram", limits=Limits(max_inline_bytes=1000))


def test_limits_are_the_ones_of_the_options_passed_in(tmp_path):
    deep = HEAD + "root $a;\npublic $a = " + "(" * 5 + "a" + ")" * 5 + ";\n"
    path = tmp_path / "deep.gram"
    path.write_text(deep)
    tight = FetchOptions(limits=Limits(max_nesting=3))
    with pytest.raises(GrammarErrors, match="nested deeper than 3"):
        load_bundle(str(path), options=tight)
    with pytest.raises(GrammarErrors, match="nested deeper than 3"):
        bundle_from_text(deep, source="deep.gram", options=tight)
    assert load_bundle(str(path)).main_grammar.rule("a")
    main = tmp_path / "main.gram"
    main.write_text(HEAD + "root $m;\npublic $m = $<deep.gram>;\n")
    with pytest.raises(GrammarErrors, match="nested deeper than 3"):  # and for a referenced grammar
        load_bundle(str(main), options=tight)


def test_commands_take_the_limits_of_their_options(tmp_path, capsys):
    path = tmp_path / "big.gram"
    path.write_text(abnf_of_size(2000))
    small = Limits(max_grammar_bytes=1000)
    args = argparse.Namespace(files=[str(path)], format="text", allow_root=[], allow_http=False, uri_map=[], limits=small)
    assert fetch_options(args).limits is small
    assert run_check(args) == 1
    assert capsys.readouterr().err == (f"{path}: error: {path} is over the local grammar file limit of 1000 bytes "
                                       "(Limits.max_grammar_bytes)\n")
    convert = argparse.Namespace(file=str(path), to="xml", allow_root=[], allow_http=False, uri_map=[], limits=small)
    with pytest.raises(InputLimitError, match=r"Limits\.max_grammar_bytes"):
        run_convert(convert)
    args.limits = None
    assert run_check(args) == 0


# --- item 4: --uri-map onto a directory, flags named, directories ------------------------------


def test_location_to_uri_keeps_a_trailing_slash(tmp_path):
    assert location_to_uri(str(tmp_path) + "/") == tmp_path.resolve().as_uri() + "/"
    assert location_to_uri(str(tmp_path / "a.gram")) == (tmp_path / "a.gram").resolve().as_uri()


@pytest.mark.parametrize("slash", ["/", ""])
def test_uri_map_onto_a_directory(tmp_path, slash):
    copies = tmp_path / "copies"
    copies.mkdir()
    (copies / "names.gram").write_text(HEAD + "root $n;\npublic $n = marie;\n")
    main = tmp_path / "main.gram"
    main.write_text(HEAD + "root $m;\npublic $m = call $<http://example.com/g/names.gram>;\n")
    args = argparse.Namespace(allow_root=[str(tmp_path)], allow_http=False,
                              uri_map=[f"http://example.com/g/={copies}{slash}"])
    options = fetch_options(args)
    assert options.uri_map == (("http://example.com/g/", copies.resolve().as_uri() + "/"),)
    bundle = load_bundle(str(main), options=options)
    assert bundle.grammars["http://example.com/g/names.gram"].rule("n")


def test_a_refused_http_reference_names_the_flag():
    with pytest.raises(GrammarErrors) as info:
        bundle_from_text(HEAD + "root $m;\npublic $m = $<http://127.0.0.1:9/x.gram>;\n", source="m.gram")
    assert "http(s) references are disabled (allow them with --allow-http" in str(info.value)


def test_a_reference_outside_the_allowed_roots_names_the_flag(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "other.gram").write_text(HEAD + "root $o;\npublic $o = o;\n")
    main = inner / "main.gram"
    main.write_text(HEAD + "root $m;\npublic $m = $<../other.gram>;\n")
    with pytest.raises(GrammarErrors) as info:
        load_bundle(str(main))
    (line,) = info.value.diagnostics()
    assert line.startswith(f"{main}:4:13: error: {tmp_path / 'other.gram'} is outside the allowed grammar directories")
    assert line.endswith("allow its directory with --allow-root DIR (AccessPolicy.roots)")


def test_a_directory_is_reported_as_a_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(GrammarErrors) as info:
        load_bundle(str(tmp_path / "sub"))
    assert info.value.diagnostics() == [f"{tmp_path / 'sub'}: error: {tmp_path / 'sub'} is a directory, not a grammar file"]
    main = tmp_path / "main.gram"
    main.write_text(HEAD + "root $m;\npublic $m = $<sub>;\n")
    with pytest.raises(GrammarErrors) as info:
        load_bundle(str(main))
    assert info.value.diagnostics() == [f"{main}:4:13: error: {tmp_path / 'sub'} is a directory, not a grammar file"]
