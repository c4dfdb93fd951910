"""From the grammars a request names to what recognises with them, for both front ends.

A request (START_RECOGNITION, INTERPRET_TEXT, DEFINE_GRAMMAR, or an HTTP request) names grammars
as a URI list (``text/uri-list``: ``builtin:``, ``session:`` and the operator's URIs), as inline
grammar text, or as a free-speech model (``builtin:slm/general``), which is no grammar: it goes
to the decoder beside the activation. Kept apart from the session so that the WebSocket and HTTP
front ends activate, interpret and fall back to free speech the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from interpreter.results import Alternative, Interpretation, RecognitionResult
from interpreter.tree import ParseRule

from . import protocol as p
from .errors import Refused

if TYPE_CHECKING:
    from interpreter.store import Activation, GrammarStore, PreparedGrammar, SessionGrammars

FREE_SPEECH_PREFIX = "builtin:slm/"
URI_LIST = "text/uri-list"
GRAMMAR_TYPES = frozenset({"", "application/srgs", "application/srgs+xml", "application/grammar+xml",
                           "application/xml", "text/xml", "text/plain", "application/x-srgs"})


def is_free_speech(uri: str) -> bool:
    """Whether ``uri`` names a free-speech model (``builtin:slm/general``) rather than a grammar."""
    return uri.startswith(FREE_SPEECH_PREFIX)


def uri_list(body: bytes) -> list[str]:
    """The URIs of a ``text/uri-list`` body (RFC 2483: one a line, ``#`` lines are comments)."""
    text = body.decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def uri_list_grammar(uris: Sequence[str]) -> str:
    """A grammar that is any of ``uris`` with its value (what DEFINE_GRAMMAR with a URI list defines)."""
    if not uris:
        raise Refused(p.ERR_NO_ACTIVE_LM, "the URI list names no grammar")
    for uri in uris:
        if any(ch in uri for ch in "<> \t"):
            raise Refused(p.ERR_INVALID_ARGUMENT, f"not a grammar URI: {uri[:80]!r}")
    mode = "dtmf" if all(uri.startswith("builtin:dtmf/") for uri in uris) else "voice"
    language = next((found.group(1) for uri in uris if (found := re.search(r"[?;]lang=([A-Za-z-]+)", uri))), "en-US")
    alternatives = " | ".join(f"$<{uri}> {{out = rules.latest();}}" for uri in uris)
    return (f"#ABNF 1.0 UTF-8;\nlanguage {language};\nmode {mode};\ntag-format <semantics/1.0>;\nroot $main;\n"
            f"public $main = {alternatives};\n")


def prepare_grammars(store: GrammarStore, body: bytes, kind: str, *, name: str,
                     session: SessionGrammars | None) -> tuple[list[PreparedGrammar], list[str]]:
    """The grammars a START_RECOGNITION / INTERPRET_TEXT body names, prepared, and its free-speech
    models: a URI list (``kind`` text/uri-list) or one inline grammar, defined as ``name``. A
    ``session:`` URI must be defined in ``session``; engine errors are the caller's to answer."""
    if kind == URI_LIST:
        prepared: list[PreparedGrammar] = []
        models: list[str] = []
        for uri in uri_list(body):
            if is_free_speech(uri):
                models.append(uri)
            elif uri.startswith("session:") and (session is None or session.get(uri) is None):
                raise Refused(p.ERR_FILE_OPEN, f"{uri}: no grammar of that name was defined in this session")
            else:
                prepared.append(store.prepare(uri, session=session))
        if not prepared and not models:
            raise Refused(p.ERR_NO_ACTIVE_LM, "the URI list names no grammar")
        return prepared, models
    if kind not in GRAMMAR_TYPES:
        raise Refused(p.ERR_INVALID_ARGUMENT, f"Content-Type {kind!r} is not a grammar type "
                      "(text/uri-list, application/srgs, application/srgs+xml, ...)")
    return [store.prepare_text(body, name=name, session=session)], []


def activate(store: GrammarStore, grammars: Sequence[PreparedGrammar | str | tuple[PreparedGrammar | str, float]],
             *, session: SessionGrammars | None, nbest: int | None,
             confidence_threshold: int | None) -> Activation | None:
    """The activation of ``grammars`` (with weights where given), or None when there are none
    (only free-speech models were named)."""
    if not grammars:
        return None
    return store.activate(grammars, session=session, nbest=nbest, confidence_threshold=confidence_threshold)


def interpret_text(activation: Activation | None, models: Sequence[str], text: str) -> RecognitionResult:
    """``text`` under the active grammars; when none matches and a free-speech model is active,
    the text itself (INTERPRET_TEXT and ``POST /v1/interpret`` alike)."""
    result = activation.interpreter().interpret(text) if activation is not None \
        else RecognitionResult(status="NO_MATCH")
    if result.status == "NO_MATCH" and models and text.strip():
        result = free_speech_result(text, models[0])
    return result


def free_speech_result(text: str, model: str) -> RecognitionResult:
    """INTERPRET_TEXT against a free-speech model: the text is its own interpretation."""
    words = " ".join(text.split())
    reading = Interpretation(value=words, score=100, tree=ParseRule(name=model, label=f"$<{model}>", grammar=model,
                                                                    children=()))
    return RecognitionResult(status="RECOGNIZED", alternatives=(
        Alternative(text=words, score=100, lm=model, interpretations=(reading,)),))
