"""Word normalisation shared by the compiler (grammar tokens) and the interpreter (input text).

Both sides must agree exactly, so there is one function: Unicode NFC, case folding, punctuation
removed (an apostrophe or hyphen inside a word stays: "don't", "x-ray"), whitespace collapsed.
SRGS §2.2: a token "new york" is matched by the words "new" "york" in sequence.
DTMF (SRGS §2.2.4, mode="dtmf"): every key is one word; ``715#`` is ``7 1 5 #``.
By language (the grammar's ``xml:lang`` / ``language``, or a token's own): Chinese and Japanese
are written without spaces, so there each Han, kana or CJK character is a word of its own, in
the grammar and in the text alike ("你好" matches "你 好" and "你好").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

DTMF_KEYS = frozenset("0123456789*#ABCD")
# Bare words a DTMF grammar reads as keys (SRGS App. E; W3C dtmf-pound-star-text).
DTMF_KEY_WORDS = {"star": "*", "pound": "#"}
# Plain ASCII letters, digits and spaces (most text and most grammar tokens) split directly:
# for them NFC, case folding and separator removal are exactly lower() and split().
_PLAIN = re.compile(r"[A-Za-z0-9 ]*\Z")
_INNER_KEEP = frozenset("'’-")
# Languages written without spaces between words (BCP 47 primary subtags).
CHARACTER_WORD_LANGUAGES = frozenset({"zh", "ja", "yue", "wuu", "hak", "nan", "gan", "lzh", "cmn"})
_CJK_CHARACTER = re.compile("([\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])")


def splits_characters(language: str | None) -> bool:
    """Whether ``language`` is one whose CJK characters are words of their own."""
    if not language:
        return False
    return language.split("-", 1)[0].lower() in CHARACTER_WORD_LANGUAGES


def _is_separator(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "PSZC" and char not in _INNER_KEEP


def normalize_words(
    text: str, *, mode: str = "voice", language: str | None = None, by_character: bool | None = None
) -> tuple[str, ...]:
    """The words of ``text`` as the matcher sees them. CJK characters are words of their own when
    ``by_character`` says so, or else when ``language`` is one written without spaces."""
    if mode == "voice" and _PLAIN.match(text):
        return tuple(text.lower().split())
    text = unicodedata.normalize("NFC", text)
    if mode == "dtmf":
        keys: list[str] = []
        for chunk in text.split():
            upper = chunk.upper()
            if all(ch in DTMF_KEYS for ch in upper):
                keys.extend(upper)
            else:
                keys.append(chunk.casefold())
        return tuple(keys)
    folded = text.casefold()
    chars = [" " if _is_separator(ch) else ch for ch in folded]
    words: list[str] = []
    if by_character is None:
        by_character = splits_characters(language)
    for word in "".join(chars).split():
        word = word.strip("'’-")
        if by_character and _CJK_CHARACTER.search(word):
            words.extend(part for part in _CJK_CHARACTER.split(word) if part)
        elif word:
            words.append(word)
    return tuple(words)


@lru_cache(maxsize=262_144)
def token_words(token_text: str, *, mode: str = "voice", language: str | None = None) -> tuple[str, ...]:
    """The input words one grammar token stands for (empty if it is only punctuation);
    memoised, since word lists repeat the same tokens across passes."""
    if mode == "dtmf":
        stripped = token_text.strip()
        if stripped and all(ch in DTMF_KEYS for ch in stripped.upper()):
            return tuple(stripped.upper())
    return normalize_words(token_text, mode=mode, language=language)
