"""Incremental matching: how far a token prefix has got through a grammar (DTMF collection).

A type per outcome, as a DTMF collector needs to decide whether to keep listening:
``NO_MATCH`` (no sentence starts this way), ``PARTIAL`` (a valid prefix, not yet a sentence),
``MATCH`` (a sentence that could still go on) and ``MATCH_END`` (a sentence nothing can follow).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class MatchStatus(str, Enum):  # noqa: UP042 - str() and format() of members stay as they were
    NO_MATCH = "NO_MATCH"
    PARTIAL = "PARTIAL"
    MATCH = "MATCH"
    MATCH_END = "MATCH_END"


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The status and, when the tokens form a complete sentence, its interpretation.

    ``error``: set when the tokens form a sentence (MATCH or MATCH_END) but the winning parse's
    SISR tags failed; ``interpretation`` is then None and ``failed`` True. The status stays the
    one the tokens reached: a DTMF collector can still tell complete from incomplete input.
    """

    status: MatchStatus
    interpretation: Any = None
    lm: str | None = None
    error: str | None = None

    @property
    def is_complete(self) -> bool:
        return self.status in (MatchStatus.MATCH, MatchStatus.MATCH_END)

    @property
    def failed(self) -> bool:
        """Whether the semantic interpretation of a complete sentence failed (see ``error``)."""
        return self.error is not None

    def to_json_dict(self) -> dict[str, Any]:
        body = {"status": self.status.value, "interpretation": self.interpretation}
        if self.error is not None:
            body["error"] = {"code": "SEMANTICS_FAILURE", "message": self.error}
        return body


def match_status(complete: bool, prefix: bool, can_continue: bool) -> MatchStatus:
    """The outcome from the three facts the acceptor tells about a token sequence."""
    if complete:
        return MatchStatus.MATCH if can_continue else MatchStatus.MATCH_END
    return MatchStatus.PARTIAL if prefix else MatchStatus.NO_MATCH

