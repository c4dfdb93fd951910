"""The input words of a grammar token, memoised (SRGS §2.2; the rules are ``srgs.text``'s).

Large word lists repeat the same normalisation in several passes; plain lowercase ASCII text
(the common case) is split directly, which gives exactly what ``token_words`` gives for it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..text import token_words

_PLAIN = re.compile(r"[A-Za-z0-9 ]*\Z")


@lru_cache(maxsize=262_144)
def grammar_token_words(text: str, mode: str) -> tuple[str, ...]:
    """``token_words(text, mode=mode)``."""
    if mode == "voice" and _PLAIN.match(text):
        return tuple(text.lower().split())
    return token_words(text, mode=mode)
