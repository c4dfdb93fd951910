"""Read an SRGS grammar in the ABNF form (SRGS 1.0 §4) into the grammar model.

Bytes become text here (§4.1: byte order mark, then the header's charset); ``abnf.lark`` is the
syntax, read by lark's LALR parser over ``abnf_lexer``'s contextual lexer, which calls
``abnf_builder``'s callbacks as it reduces (no intermediate parse tree). Errors come out as
``GrammarSyntaxError`` with ``FILE:LINE:COL``; cross-rule checks (undefined rules, root, ...)
belong to the validation passes, not here.

A grammar is read first with the lexer's fast ``PHRASE`` mode; if that meets any error the
grammar is read again token by token, whose diagnostics (``abnf_errors``) are the ones reported.
Both reads build the same model, spans included.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedInput, VisitError

from .abnf_builder import ModelBuilder
from .abnf_context import STATE, ReadContext
from .abnf_errors import describe_unexpected
from .abnf_lexer import ContextualLexer
from .abnf_nodes import phrase_parts_pattern
from .errors import GrammarSyntaxError, InputLimitError
from .gc_pause import collector_paused
from .limits import DEFAULT_LIMITS, Limits
from .model import Grammar, SourceSpan

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CHARSET = re.compile(rb"#ABNF[ \t]+[^ \t;\r\n]+[ \t]+([A-Za-z0-9._:\-]+)[ \t]*;")
_HEADER = re.compile(r"#ABNF(?:[ \t]+([^ \t;\r\n]+))?(?:[ \t]+([^ \t;\r\n]+))?[ \t]*(;?)[ \t]*")


def read_abnf(data: bytes | str, source: str, *, limits: Limits = DEFAULT_LIMITS) -> Grammar:
    """Parse an ABNF grammar document (SRGS §4); ``source`` names it in spans and ``Grammar.uri``."""
    _check_size(data, source, limits)
    text = _decode(data, source) if isinstance(data, bytes) else data.lstrip("\ufeff")
    if "\r" in text:  # one newline convention, as XML does, so tags and tokens compare equal
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_self_identifying_header(text, source)
    parser, phrase_parts = _parser()
    try:
        return _parse(parser, text, ReadContext(source, limits, phrase_parts))
    except (GrammarSyntaxError, UnexpectedInput):
        pass  # read again token by token, for the diagnostic
    ctx = ReadContext(source, limits)
    try:
        return _parse(parser, text, ctx)
    except UnexpectedInput as error:
        message, line, column = describe_unexpected(error, ctx, text)
        raise GrammarSyntaxError(message, SourceSpan(source, line, column)) from None


def _parse(parser: Lark, text: str, ctx: ReadContext) -> Grammar:
    STATE.ctx = ctx
    try:
        with collector_paused():
            return parser.parse(text)
    except VisitError as error:  # only if lark wraps a builder error; ours are raised as is
        raise error.orig_exc from None
    finally:
        STATE.ctx = None


@lru_cache(maxsize=1)
def _parser() -> tuple[Lark, object]:
    """The parser, and the pattern that splits the fast lexer's phrases (both from abnf.lark)."""
    grammar = (Path(__file__).with_name("abnf.lark")).read_text(encoding="utf-8")
    parser = Lark(grammar, parser="lalr", lexer=ContextualLexer, transformer=ModelBuilder(),
                  maybe_placeholders=True)
    return parser, phrase_parts_pattern({t.name: t for t in parser.terminals})


# --- bytes to text (§4.1: BOM first, then the header's charset, UTF-8 by default) -------------


def _check_size(data: bytes | str, source: str, limits: Limits) -> None:
    size = len(data)
    if isinstance(data, str) and size * 4 > limits.max_grammar_bytes >= size:
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > limits.max_grammar_bytes:
        raise InputLimitError(
            f"grammar is {size} bytes, over the limit of {limits.max_grammar_bytes}", SourceSpan(source, 0, 0))


def _decode(data: bytes, source: str) -> str:
    encoding, start, declared = "utf-8", 0, None
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, start, declared = name, len(bom), "BOM"
            break
    else:
        if data.startswith(b"#\x00A\x00"):
            encoding = declared = "utf-16-le"
        elif data.startswith(b"\x00#\x00A"):
            encoding = declared = "utf-16-be"
        else:
            match = _CHARSET.match(data)
            if match:
                encoding = declared = match.group(1).decode("ascii")
                try:
                    codecs.lookup(encoding)
                except LookupError:
                    raise GrammarSyntaxError(f"unknown character encoding {encoding!r} in the ABNF header",
                                             SourceSpan(source, 1, match.start(1) + 1)) from None
    try:
        return data[start:].decode(encoding)
    except UnicodeDecodeError as error:
        if declared is None:  # no BOM, no charset: legacy grammars (W3C meta.gram) are Latin-1
            return data.decode("iso-8859-1")
        offset = start + error.start
        line = data.count(b"\n", 0, offset) + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        raise GrammarSyntaxError(f"bytes that are not valid {encoding}: {error.reason}",
                                 SourceSpan(source, line, column)) from None


def _check_self_identifying_header(text: str, source: str) -> None:
    """§4.1: ``#ABNF 1.0 [charset];`` comes first, alone on its line."""
    match = _HEADER.match(text)
    if match is None:
        raise GrammarSyntaxError("an ABNF grammar must start with the header '#ABNF 1.0;'",
                                 SourceSpan(source, 1, 1))
    version, _, semicolon = match.groups()
    if version is None:
        raise GrammarSyntaxError("the ABNF header has no version: write '#ABNF 1.0;'",
                                 SourceSpan(source, 1, match.end() + 1 if not semicolon else match.start(3) + 1))
    if version != "1.0":
        raise GrammarSyntaxError(f"unsupported ABNF version {version!r}: only 1.0 exists",
                                 SourceSpan(source, 1, match.start(1) + 1))
    if not semicolon:
        raise GrammarSyntaxError("expected ';' at the end of the ABNF header", SourceSpan(source, 1, match.end() + 1))
    if match.end() < len(text) and text[match.end()] != "\n":
        raise GrammarSyntaxError("the ABNF header '#ABNF 1.0;' must be followed by a new line",
                                 SourceSpan(source, 1, match.end() + 1))
