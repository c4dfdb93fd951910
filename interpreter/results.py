"""Recognition results: what an interpretation (or a recognition) found, in no wire format.

``RecognitionResult`` is RECOGNIZED with alternatives best first, NO_MATCH with none, or FAILURE
when the words matched but a semantic tag failed. Writers for the formats clients read (the ASR
WebSocket API's JSON, NLSML, EMMA, the W3C parse notation) live in ``interpreter.formats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .tree import ParseRule

Status = Literal["RECOGNIZED", "NO_MATCH", "FAILURE"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Interpretation:
    """One semantic value (JSON-able) with its integer confidence 0-100 and its parse tree."""

    value: object
    score: int
    tree: ParseRule


@dataclass(frozen=True, slots=True, kw_only=True)
class Alternative:
    """One n-best entry: the words, confidence 0-100, the grammar/LM that matched, its readings."""

    text: str
    score: int
    lm: str
    interpretations: tuple[Interpretation, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognitionResult:
    """A final result: ``RECOGNIZED`` with alternatives best first, ``NO_MATCH`` with none, or
    ``FAILURE`` when the words matched but the semantics failed (``error`` says why; MRCP's
    completion cause "semantics-failure")."""

    status: Status
    alternatives: tuple[Alternative, ...] = ()
    error: str | None = None
    mode: Literal["voice", "dtmf"] = "voice"  # the input mode of the grammar(s) that were active


__all__ = ["Alternative", "Interpretation", "RecognitionResult", "Status"]
