"""Read an SRGS grammar in the ABNF form (SRGS 1.0 §4) into the grammar model.

Bytes become text here (§4.1: byte order mark, then the header's charset); ``abnf.lark`` is the
syntax, read by lark's LALR parser over ``abnf_lexer``'s contextual lexer, which calls
``abnf_builder``'s callbacks as it reduces (no intermediate parse tree). Errors come out as
``GrammarSyntaxError`` with ``FILE:LINE:COL``; cross-rule checks (undefined rules, root, ...)
belong to the validation passes, not here.

A grammar is read first with the lexer's fast ``PHRASE`` mode; if that meets any error the
grammar is read again token by token, whose diagnostics (``abnf_errors``) are the ones reported.
Both reads build the same model, spans included.

``read_abnf`` raises the first error. Given a ``problems`` list, it records every error instead:
after one, reading resumes with the next statement (after the ``;`` that ends the one in error,
or at the next ``$name =``), each rule in error standing in the model as a placeholder, so that
one run reports every syntax error and the validator still sees every rule name.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark import __version__ as lark_version
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from ..errors import GrammarSyntaxError, InputLimitError, SrgsError
from ..limits import DEFAULT_LIMITS, Limits, SourceKind, check_size
from ..model import Grammar, Rule, Scope, SourceSpan, SpecialRef
from ..user_cache import private_cache_directory
from .builder import ModelBuilder, grammar_of
from .context import STATE, ReadContext, start_of
from .errors import describe_unexpected
from .lexer import SKIP_ALL, ContextualLexer
from .nodes import phrase_parts_pattern

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CHARSET = re.compile(rb"#ABNF[ \t]+[^ \t;\r\n]+[ \t]+([A-Za-z0-9._:\-]+)[ \t]*;")
_HEADER = re.compile(r"#ABNF(?:[ \t]+([^ \t;\r\n]+))?(?:[ \t]+([^ \t;\r\n]+))?[ \t]*(;?)[ \t]*")


def read_abnf(
    data: bytes | str,
    source: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    kind: SourceKind = "inline",
    problems: list[SrgsError] | None = None,
) -> Grammar | None:
    """Parse an ABNF grammar document (SRGS §4); ``source`` names it in spans and ``Grammar.uri``.

    ``kind`` says where the text came from ("file", "http" or "inline"): its size limit applies.
    Without ``problems`` the first error is raised; with it, every error is appended to it and
    the model read around them is returned (``None`` if the text could not be read at all).
    """
    if problems is None:
        return _read(data, source, limits, kind, None)
    try:
        return _read(data, source, limits, kind, problems)
    except SrgsError as error:
        problems.append(error)
        return None


def _read(data: bytes | str, source: str, limits: Limits, kind: SourceKind, problems: list[SrgsError] | None) -> Grammar | None:
    _check_size(data, source, limits, kind)
    text = _decode(data, source) if isinstance(data, bytes) else data.lstrip("\ufeff")
    if "\r" in text:  # one newline convention, as XML does, so tags and tokens compare equal
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        _check_self_identifying_header(text, source)
    except GrammarSyntaxError as error:
        if problems is None or not _SELF_IDENT.match(text):
            raise
        problems.append(error)  # the header is readable enough to go on with the grammar
    parser, phrase_parts = _parser()
    try:
        return _parse(parser, text, ReadContext(source, limits, phrase_parts))
    except (GrammarSyntaxError, UnexpectedInput):
        pass  # read again token by token, for the diagnostic
    if problems is not None:
        return _Recovery(parser, text, source, limits, phrase_parts, problems).run()
    ctx = ReadContext(source, limits)
    try:
        return _parse(parser, text, ctx)
    except UnexpectedInput as error:
        message, line, column = describe_unexpected(error, ctx, text)
        raise GrammarSyntaxError(message, SourceSpan(source, line, column)) from None


def _parse(parser: Lark, text: str, ctx: ReadContext, start: str = "start") -> Grammar | None:
    """The grammar (``start``), or None (``body``, ``rules``: what they read is in ``ctx``)."""
    STATE.ctx = ctx
    try:
        # lark types parse() as returning a tree; with a transformer it returns what the builder does
        return parser.parse(text, start=start)  # type: ignore[return-value]
    except VisitError as error:  # only if lark wraps a builder error; ours are raised as is
        raise error.orig_exc from None
    finally:
        del STATE.ctx


# --- error recovery: every syntax error of a grammar in one read ------------------------------

_SELF_IDENT = re.compile(r"#ABNF[^;\n]*;")  # abnf.lark's SELF_IDENT_HEADER
# one step of the scan for where to resume: a `;`, a rule head `[scope] $name =`, or something
# that may hold either without meaning it (a quoted token, a tag, a <uri>, a word, a comment)
_RESUME = re.compile(SKIP_ALL + r"""(?:(?P<semi>;)
    |(?P<head>(?:(?:public|private)\s+)?\$[^\W\d][\w\-]*)(?=""" + SKIP_ALL + r"""=)
    |(?P<keyword>language|mode)(?![\w\-])
    |"(?:[^"\\]|\\.)*"
    |\{!\{(?:[^}]|\}(?!!\}))*\}!\}|\{(?!!\{)[^}]*\}
    |\$?<[^>\n]*>
    |[^;"{<$/\s]+
    |[\s\S])""", re.VERBOSE)


class _Recovery:
    """Reads a grammar that has errors statement by statement, recording each error.

    Each attempt parses from ``begin`` to the end (lark with the ``start``, ``body`` or ``rules``
    entry of ``abnf.lark``). At an error at offset P, the statement in error starts after the
    last top-level ``;`` before P; reading resumes after the first ``;`` at or after P, or at
    the next rule head, whichever comes first. The statement before the one in error may not
    have been reduced yet (LALR waits for the token after its ``;``): it is read again alone.

    The first attempt reads token by token, as ``read_abnf`` does for the error it raises, so
    the first problem is that error. After an error the rest is read in the fast mode; where
    that fails, the statement in error is read again token by token for its diagnostic.
    """

    def __init__(self, parser: Lark, text: str, source: str, limits: Limits, phrase_parts: re.Pattern[str],
                 problems: list[SrgsError]):
        self.parser = parser
        self.text = text
        self.source = source
        self.problems = problems
        self.ctx = ReadContext(source, limits, phrase_parts)
        header = _SELF_IDENT.match(text)
        self.floor = header.end() if header else 0  # no statement starts inside the header

    def run(self) -> Grammar | None:
        ctx, text = self.ctx, self.text
        begin, start, fast = (0, 1, 0), "start", False
        while True:
            ctx.semis = []
            failure = self._attempt(begin, None, start, fast)
            if failure is None:
                return self._grammar()
            error, offset = failure
            if fast:  # read the statement in error (and on) token by token, for its diagnostic
                statement = max([self.floor, begin[0], *(end for end in ctx.semis if end <= offset)])
                if ctx.last_end < statement:
                    self._reduce_pending(max(ctx.last_end, begin[0]), statement, begin, start)
                begin, start, fast = self._position(statement, begin), "rules" if ctx.rules else "body", False
                continue
            self.problems.append(error)
            if isinstance(error, InputLimitError):
                return None
            statement = max([self.floor, begin[0], *(end for end in ctx.semis if end <= offset)])
            if ctx.last_end < statement:
                self._reduce_pending(max(ctx.last_end, begin[0]), statement, begin, start)
            resume, head, keyword = self._resume_point(statement, offset)
            if head is not None:
                self._placeholder(head, begin)
            if keyword is not None:  # `language` or `mode` in error: do not also miss a language
                ctx.header.setdefault("language", "und")
            if error.message.startswith("unterminated") or resume >= len(text):
                return self._grammar()
            begin, start, fast = self._position(resume, begin), "rules" if ctx.rules else "body", True

    def _attempt(self, begin: tuple[int, int, int], stop: int | None, start: str,
                 fast: bool = False) -> tuple[GrammarSyntaxError, int] | None:
        """None if the text from ``begin`` (to ``stop``) reads, else (error, offset of the error);
        ``fast``: in the lexer's fast mode."""
        ctx = self.ctx
        ctx.begin, ctx.stop, ctx.open, ctx.phrases = begin, stop, [], fast
        del ctx.docs[self._docs_before(begin[0]):]
        ctx.doc_index = min(ctx.doc_index, len(ctx.docs))
        try:
            _parse(self.parser, self.text, ctx, start)
        except UnexpectedInput as error:
            message, line, column = describe_unexpected(error, ctx, self.text)
            if isinstance(error, UnexpectedCharacters):
                # lark declares pos_in_stream as None; UnexpectedCharacters sets the offset
                offset: int = error.pos_in_stream  # type: ignore[assignment]
            else:
                assert isinstance(error, UnexpectedToken)  # LALR raises no other (describe_unexpected checks)
                token = error.token
                offset = token.start_pos if token.type != "$END" else len(self.text)
            return GrammarSyntaxError(message, SourceSpan(self.source, line, column)), offset
        except GrammarSyntaxError as error:
            return error, self._offset(error.span, begin)
        return None

    def _reduce_pending(self, start_offset: int, end: int, begin: tuple[int, int, int], start: str) -> None:
        """Read the complete statements in [start_offset, end) that the failed attempt left unreduced."""
        if not self.text[start_offset:end].strip():
            return
        position = self._position(start_offset, begin)
        ctx = self.ctx
        semis, ctx.semis = ctx.semis, None
        self._attempt(position, end, start if start_offset == begin[0] else ("rules" if ctx.rules else "body"))
        ctx.semis = semis

    def _resume_point(self, statement: int, offset: int) -> tuple[int, re.Match[str] | None, re.Match[str] | None]:
        """Where to read on, and the rule head or header keyword the statement in error starts with."""
        text, pos, first = self.text, statement, True
        head = keyword = None
        while True:
            match = _RESUME.match(text, pos)
            if match is None or match.end() == pos:
                return len(text), head, keyword
            kind = match.lastgroup
            if kind == "semi" and match.start() >= offset:
                return match.end(), head, keyword
            if kind == "head":
                if not first:
                    return match.start(kind), head, keyword
                head = match
            elif kind == "keyword" and first:
                keyword = match
            first = False
            pos = match.end()

    def _placeholder(self, head: re.Match[str], begin: tuple[int, int, int]) -> None:
        """The rule in error, as a rule that matches nothing: its name stays defined."""
        words = head.group("head").split()
        name = words[-1][1:]
        scope: Scope = "public" if len(words) > 1 and words[0] == "public" else "private"
        offset = head.start("head") + len(head.group("head")) - len(words[-1])
        _, line, line_start = self._position(offset, begin)
        span = SourceSpan(self.source, line, offset - line_start + 1)
        self.ctx.rules.append(Rule(name=name, scope=scope, expansion=SpecialRef(name="VOID", span=span), span=span))

    def _grammar(self) -> Grammar:
        return grammar_of(self.ctx)

    def _docs_before(self, offset: int) -> int:
        docs = self.ctx.docs
        count = len(docs)
        while count and start_of(docs[count - 1]) >= offset:
            count -= 1
        return count

    def _position(self, offset: int, known: tuple[int, int, int]) -> tuple[int, int, int]:
        """(offset, line, line start) for ``offset``, counted from a ``known`` earlier position."""
        start, line, line_start = known
        if offset < start:
            start, line, line_start = 0, 1, 0
        newlines = self.text.count("\n", start, offset)
        if newlines:
            line += newlines
            line_start = self.text.rfind("\n", start, offset) + 1
        return offset, line, line_start

    def _offset(self, span: SourceSpan | None, begin: tuple[int, int, int]) -> int:
        """The offset of a line and column at or after ``begin``."""
        if span is None or span.line <= 0:
            return begin[0]
        text, (pos, line, line_start) = self.text, begin
        if span.line < line:
            pos, line, line_start = 0, 1, 0
        while line < span.line:
            found = text.find("\n", line_start)
            if found < 0:
                break
            line, line_start = line + 1, found + 1
        return max(pos, min(line_start + span.column - 1, len(text)))


@lru_cache(maxsize=1)
def _parser() -> tuple[Lark, re.Pattern[str]]:
    """The parser, and the pattern that splits the fast lexer's phrases (both from abnf.lark)."""
    grammar = (Path(__file__).with_name("abnf.lark")).read_text(encoding="utf-8")
    options: dict[str, object] = {"parser": "lalr", "lexer": ContextualLexer, "transformer": ModelBuilder(),
                                  "maybe_placeholders": True, "start": ["start", "body", "rules"]}
    cache = _parser_cache_file()
    try:
        parser = Lark(grammar, **options, cache=str(cache)) if cache else Lark(grammar, **options)
    except Exception:  # whatever a damaged cache file raises (unpickling): build the tables again
        parser = Lark(grammar, **options)
    return parser, phrase_parts_pattern({t.name: t for t in parser.terminals})


def _parser_cache_file() -> Path | None:
    """Where lark may keep this grammar's LALR tables between processes (a one-shot command
    starts ~50 ms faster): a directory of the user's own (``$XDG_CACHE_HOME/srgs-engine``, else
    ``~/.cache/srgs-engine``), made private; never a shared one such as /tmp, since lark's cache
    is a pickle. None (no cache) when no such directory can be had."""
    base = private_cache_directory()
    return base / f"abnf-lark-{lark_version}.cache" if base is not None else None


# --- bytes to text (§4.1: BOM first, then the header's charset, UTF-8 by default) -------------


def _check_size(data: bytes | str, source: str, limits: Limits, kind: SourceKind) -> None:
    size, limit = len(data), limits.max_bytes(kind)
    if isinstance(data, str) and size * 4 > limit >= size:
        size = len(data.encode("utf-8", "surrogatepass"))
    check_size(size, kind, limits, "grammar", SourceSpan(source, 0, 0))


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
