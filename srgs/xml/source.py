"""The decoded text behind an SRGS XML document: encoding, entity refusal, source positions.

``decode_document`` decodes as an XML processor would (BOM, then the declaration);
``refuse_entity_declarations`` refuses an internal DTD subset that declares entities before lxml
sees it (an entity bomb or an external entity then costs one string search); ``SourceLocator``
gives every element and plain-text token its line and column, which lxml does not.
"""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING

from ..errors import InputLimitError
from ..model import SourceSpan

if TYPE_CHECKING:
    from lxml.etree import _Element

_ENCODING_DECL = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_TAG_REST = re.compile(r"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")
_DOCTYPE_HEAD = re.compile(r"""<!DOCTYPE[^\[>"']*(?:(?:"[^"]*"|'[^']*')[^\[>"']*)*""")
_NAME_ENDS = frozenset(" \t\r\n/>")


def decode_document(data: bytes) -> str:
    """The document as text, decoded as an XML processor would: BOM, then the declaration."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data.startswith((b"\x00<", b"<\x00")):
        encoding = "utf-16-be" if data[0] == 0 else "utf-16-le"
    else:
        declared = _ENCODING_DECL.match(data, 0, 256)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = "utf-8"
    return data.decode(encoding, errors="replace")


def refuse_entity_declarations(text: str, source: str) -> None:
    """Refuse an internal DTD subset that declares entities (billion laughs, XXE), unexpanded."""
    doctype = text.find("<!DOCTYPE")
    if doctype < 0:
        return
    header = _DOCTYPE_HEAD.match(text, doctype)
    end = header.end() if header else doctype
    if text.startswith("[", end) and text.find("<!ENTITY", end) >= 0:
        raise InputLimitError("entity declarations are not allowed", SourceLocator(text, source).span_at(doctype))


class SourceLocator:
    """Line and column of start tags and tokens, found by walking the text in document order."""

    __slots__ = ("text", "source", "pos", "line", "line_start")

    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def span_at(self, pos: int) -> SourceSpan:
        """The span of offset ``pos``, moving the cursor there (it never moves back)."""
        self.advance(pos)
        return SourceSpan(self.source, self.line, pos - self.line_start + 1)

    def advance(self, pos: int) -> None:
        """Moves the cursor forward to offset ``pos``, counting the lines passed."""
        if pos > self.pos:
            last_newline = self.text.rfind("\n", self.pos, pos)
            if last_newline >= 0:
                self.line += self.text.count("\n", self.pos, last_newline + 1)
                self.line_start = last_newline + 1
            self.pos = pos

    def element(self, marker: str, element: _Element) -> SourceSpan:
        """The next start tag ``marker`` ("<name"); the cursor moves past the whole tag.

        "<" cannot stand in character data or attribute values, so the next ``marker`` that is
        not inside a comment, CDATA section or processing instruction is the tag.
        """
        text, pos, width = self.text, self.pos, len(marker)
        while True:
            found = text.find(marker, pos)
            if found < 0:
                # lxml-stubs declare sourceline as `...` (an Ellipsis); lxml gives int | None
                return SourceSpan(self.source, element.sourceline or self.line, 1)  # type: ignore[arg-type]
            markup = text.find("<!", pos, found)
            if markup < 0:
                markup = text.find("<?", pos, found)
            if markup >= 0:
                pos = self._skip_markup(markup)
            elif text[found + width] in _NAME_ENDS:
                break
            else:
                pos = found + width
        span = self.span_at(found)
        rest = _TAG_REST.match(text, found)
        self.advance(rest.end() if rest else found + width)
        return span

    def token_spans(self, tokens: list[str]) -> list[SourceSpan]:
        """Spans of ``tokens`` (as ``split_tokens`` gives them) in the current run of text."""
        text, source = self.text, self.source
        run_end = text.find("<", self.pos)
        run_end = len(text) if run_end < 0 else run_end
        spans = []
        for token in tokens:
            quoted = token[0] == '"'
            needle = '"' if quoted else token
            found = text.find(needle, self.pos, run_end)
            if found < 0 and run_end < len(text):  # the text may follow end tags and comments
                found, run_end = self._find_after_markup(needle, run_end)
            if found >= 0:
                self.advance(found)
                after = text.find('"', found + 1, run_end) + 1 if quoted else found + len(token)
            else:
                found = after = self.pos
            spans.append(SourceSpan(source, self.line, found - self.line_start + 1))
            self.advance(after)
        return spans

    def _find_after_markup(self, needle: str, pos: int) -> tuple[int, int]:
        """``needle`` in the character data after the end tags, comments and PIs at ``pos``
        (a tail text follows its element's end tag); ``(offset or -1, end of its run)``."""
        text = self.text
        while pos < len(text) and (text.startswith("</", pos) or text.startswith(("<!--", "<?"), pos)):
            pos = self._skip_markup(pos)
            run_end = text.find("<", pos)
            run_end = len(text) if run_end < 0 else run_end
            found = text.find(needle, pos, run_end)
            if found >= 0:
                return found, run_end
            pos = run_end
        return -1, pos

    def _skip_markup(self, pos: int) -> int:
        """The offset after the comment, CDATA section, PI, declaration or tag at ``pos``."""
        text = self.text
        for opener, closer in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")):
            if text.startswith(opener, pos):
                end = text.find(closer, pos + len(opener))
                return len(text) if end < 0 else end + len(closer)
        rest = _TAG_REST.match(text, pos + 1)
        return rest.end() if rest else pos + 1
