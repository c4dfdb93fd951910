"""The grammar playground: a page at ``/`` and the JSON endpoints it calls (issue 11).

The page (``server/playground/``: static HTML, script and style, nothing fetched from elsewhere)
lets a person paste or pick a grammar, see its problems at their positions, interpret a text
(result JSON and parse trees) and draw the compiled automaton. Every endpoint takes the grammar as
text (either form, ABNF or XML) and reads it through the store's *text* policy: built-in grammars
only, no files, no network. Work that compiles or parses runs in the thread pool, never on the
event loop. Request bodies are bounded by ``[server] max_message_bytes``; every answer, errors
included, is JSON (``{"error": {"code", "message"}}``, plus ``"errors"``, one record per grammar
problem with ``line``/``column``, for a grammar that does not load).

    GET  /                        the page (and /playground/app.js, /playground/style.css)
    GET  /playground/builtins     the built-in grammars to pick from, with example texts
    GET  /playground/source?uri=  a built-in grammar's text (parameters at their defaults)
    POST /playground/check        {"grammar"}                -> {"ok", "form", "rules", "errors"}
    POST /playground/interpret    {"grammar", "text", "nbest"?} -> {"result", "parses"}
    POST /playground/draw         {"grammar", "acceptor"?}   -> {"svg", "states", "arcs"}
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from interpreter.formats import to_json_dict, tree_notation
from interpreter.tree import ParseGarbage, ParseRule, ParseTag, ParseToken
from server.errors import engine_error_status
from server.responses import ApiJSONResponse, error_response
from srgs.errors import ErrorRecord, GrammarErrors, SrgsError
from srgs.load.builtins import builtin_languages, builtin_names, parse_builtin
from srgs.load.loader import bundle_from_text, sniff_form
from srgs.load.sources import FetchOptions, fetch
from srgs.model import SourceSpan

if TYPE_CHECKING:
    from interpreter.results import RecognitionResult
    from server.engine import ServerEngine

log = logging.getLogger("srgs.server.playground")

PAGE_DIR = Path(__file__).resolve().parent / "playground"
SOURCE_NAME = "<playground>"  # how problems in the pasted grammar name their file
MAX_DRAW_STATES = 2000        # larger automata are refused by draw: graphviz would take long and the picture say little
DRAW_TIMEOUT_S = 20.0         # graphviz dot's time for one drawing
MAX_PLAYGROUND_NBEST = 10
# The page loads only what this server sends: no inline script, no other origin.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
_STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8",
           "favicon.svg": "image/svg+xml"}
_EXAMPLE = re.compile(r"@example\s+(.+?)\s*(?:\*/|$)", re.MULTILINE)


class PlaygroundError(Exception):
    """A request the playground refuses: HTTP ``status``, a ``code`` and a one-line message."""

    def __init__(self, status: int, code: str, message: str, errors: list[ErrorRecord] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors


def _grammar_refused(exc: SrgsError) -> PlaygroundError:
    """A grammar that does not load, compile or pass its tag check, with each problem positioned:
    403 when it reaches outside the access policy, 413 over a limit, else 422 (as the HTTP API)."""
    records = exc.records(SOURCE_NAME)
    first = records[0]["message"] if records else exc.message
    more = f" (and {len(records) - 1} more: see errors)" if len(records) > 1 else ""
    status, code = engine_error_status(exc)
    return PlaygroundError(status, code, f"{first}{more}", records)


def _engine(request: Request) -> ServerEngine:
    engine: ServerEngine = request.app.state.engine
    return engine


Handler = Callable[[Request], Awaitable[Response]]


def _json_endpoint(action: str, handler: Handler) -> Handler:
    """``handler`` with its refusals and unexpected faults as JSON, counted and timed."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        engine = _engine(request)
        clock = time.perf_counter()
        try:
            response = await handler(request)
        except PlaygroundError as exc:
            engine.metrics.count("playground_errors", action=action, code=exc.code)
            return error_response(exc.status, exc.code, exc.message, exc.errors)
        except Exception:  # a fault of ours: logged here, never sent as a traceback
            log.exception("playground %s failed", action)
            engine.metrics.count("playground_errors", action=action, code="INTERNAL_ERROR")
            return error_response(500, "INTERNAL_ERROR", f"the server failed to {action} (see its log)")
        engine.metrics.count("playground_requests", action=action)
        engine.metrics.observe("playground", time.perf_counter() - clock, action=action)
        return response

    return endpoint


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, read up to ``[server] max_message_bytes`` and no further."""
    limit = _engine(request).config.server.max_message_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PlaygroundError(413, "REQUEST_TOO_LARGE", f"the request is {declared} bytes; the limit is {limit}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise PlaygroundError(413, "REQUEST_TOO_LARGE", f"the request is over the limit of {limit} bytes")
    try:
        body = json.loads(bytes(data))
    except RecursionError:
        raise PlaygroundError(400, "INVALID_REQUEST", "the body is not JSON this server reads: nested too deep") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PlaygroundError(400, "INVALID_REQUEST", f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise PlaygroundError(400, "INVALID_REQUEST", "the body must be a JSON object")
    return body


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise PlaygroundError(400, "INVALID_REQUEST", f"'{name}' must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PlaygroundError(400, "INVALID_REQUEST", f"'{name}' is not Unicode text (it holds a lone surrogate)") from None
    return value


def _grammar_field(body: dict[str, Any]) -> str:
    grammar = _text_field(body, "grammar")
    if not grammar.strip():
        raise PlaygroundError(400, "INVALID_REQUEST", "the grammar is empty: paste one or pick a built-in")
    return grammar


# --- the work (run in the thread pool) -----------------------------------------------------------


def check_grammar(engine: ServerEngine, grammar: str) -> dict[str, Any]:
    """``srgs check`` of a pasted grammar: every problem found reading it, its references and its
    tags (and, when those pass, compiling it), as records with line and column."""
    from interpreter.sisr import tag_problems

    data = grammar.encode("utf-8")
    store = engine.store
    options = FetchOptions(policy=store.text_policy, limits=engine.config.limits)
    form: str | None = None
    try:
        form = sniff_form(data, SOURCE_NAME)  # neither '<' nor '#' first: not a grammar, said at 1:1
        bundle = bundle_from_text(data, source=SOURCE_NAME, options=options)
    except SrgsError as exc:
        return {"ok": False, "form": form, "errors": exc.records(SOURCE_NAME)}
    problems: list[SrgsError] = list(tag_problems(bundle, limits=store.options.script_limits))
    if problems:
        return {"ok": False, "form": form, "errors": GrammarErrors(problems).records(SOURCE_NAME)}
    try:
        store.prepare_text(data, name=SOURCE_NAME)  # compile problems (limits, recursion) too; cached for later
    except SrgsError as exc:
        return {"ok": False, "form": form, "errors": exc.records(SOURCE_NAME)}
    grammar_model = bundle.main_grammar
    return {"ok": True, "form": form, "rules": len(grammar_model.rules), "root": grammar_model.root,
            "mode": grammar_model.mode, "referenced_grammars": len(bundle.grammars) - 1, "errors": []}


def interpret_text(engine: ServerEngine, grammar: str, text: str, nbest: int) -> dict[str, Any]:
    """The result JSON (the RECOGNITION_RESULT body) and every interpretation's parse tree."""
    store = engine.store
    try:
        prepared = store.prepare_text(grammar, name=SOURCE_NAME)
        result = store.activate([prepared], nbest=nbest).interpreter().interpret(text)
    except SrgsError as exc:
        if exc.code == "TEXT_TOO_LONG":
            raise PlaygroundError(413, exc.code, exc.message) from None
        raise _grammar_refused(exc) from None
    return {"result": to_json_dict(result), "parses": _parses(result)}


def _parses(result: RecognitionResult) -> list[dict[str, Any]]:
    parses: list[dict[str, Any]] = []
    if result.status != "RECOGNIZED":
        return parses
    for alternative in result.alternatives:
        for interpretation in alternative.interpretations:
            parses.append({"text": alternative.text, "score": interpretation.score, "value": interpretation.value,
                           "notation": tree_notation(interpretation.tree), "nodes": tree_nodes(interpretation.tree)})
    return parses


def tree_nodes(tree: ParseRule) -> list[dict[str, Any]]:
    """A parse tree as a flat list in document order, each node with its ``depth``: ``rule`` (the
    label, ``$name``), ``token`` (as written, and the words it read), ``tag`` or ``garbage``.
    Flat, so that no reader (JSON encoder, page script) recurses as deep as the tree goes."""
    nodes: list[dict[str, Any]] = []
    stack: list[tuple[int, Any]] = [(0, tree)]
    while stack:
        depth, node = stack.pop()
        if isinstance(node, ParseRule):
            nodes.append({"depth": depth, "kind": "rule", "text": node.label})
            stack.extend((depth + 1, child) for child in reversed(node.children))
        elif isinstance(node, ParseToken):
            nodes.append({"depth": depth, "kind": "token", "text": node.text, "words": list(node.words)})
        elif isinstance(node, ParseTag):
            nodes.append({"depth": depth, "kind": "tag", "text": node.text})
        elif isinstance(node, ParseGarbage):
            nodes.append({"depth": depth, "kind": "garbage", "text": " ".join(node.words), "words": list(node.words)})
    return nodes


def draw_grammar(engine: ServerEngine, grammar: str, acceptor: bool) -> dict[str, Any]:
    """The compiled transducer (or token acceptor) drawn by graphviz ``dot`` as SVG text, as
    ``srgs draw -o X.svg`` draws it."""
    from srgs.compile.draw import DrawError, DrawTimeout, DrawUnavailable, dot_text, graphviz_available, render

    if not graphviz_available():
        raise PlaygroundError(501, "DRAW_UNAVAILABLE", "drawing needs the graphviz 'dot' program, which this server "
                                                       "does not have (install graphviz)")
    try:
        compiled = engine.store.prepare_text(grammar, name=SOURCE_NAME).compiled
    except SrgsError as exc:
        raise _grammar_refused(exc) from None
    fst = compiled.acceptor if acceptor else compiled.transducer
    states = fst.num_states()
    if states > MAX_DRAW_STATES:
        raise PlaygroundError(422, "TOO_LARGE_TO_DRAW", f"the automaton has {states} states; the playground draws "
                                                        f"up to {MAX_DRAW_STATES} (use srgs draw for larger ones)")
    arcs = sum(fst.num_arcs(state) for state in fst.states())
    try:
        # a large page: graphviz shrinks a drawing to fit it, and the page scrolls instead
        source = dot_text(compiled, acceptor=acceptor, title="grammar", page_inches=200)
        svg = render(source, "svg", timeout_s=DRAW_TIMEOUT_S).decode("utf-8", errors="replace")
    except DrawUnavailable as exc:
        raise PlaygroundError(501, exc.code, exc.message) from None
    except DrawTimeout as exc:
        raise PlaygroundError(422, exc.code, exc.message) from None
    except DrawError as exc:
        raise PlaygroundError(500, exc.code, exc.message) from None
    start = svg.find("<svg")
    if start < 0:
        raise PlaygroundError(500, "DRAW_FAILED", "graphviz dot gave no SVG")
    return {"svg": svg[start:], "states": states, "arcs": arcs, "acceptor": acceptor}


@cache
def builtin_catalogue() -> tuple[dict[str, Any], ...]:
    """Every built-in grammar (examples, each language's voice grammars, DTMF) with the example
    texts its ``@example`` comments and regression cases give. Read once: built-ins do not change."""
    from interpreter.cases import read_cases

    entries: list[dict[str, Any]] = []
    uris: list[tuple[str, str, str | None]] = []
    for name in builtin_names():
        kind = name.split("/", 1)[0]
        if kind == "grammar":
            uris.extend((f"builtin:{name}?lang={lang}", kind, lang) for lang in builtin_languages())
        else:
            uris.append((f"builtin:{name}", kind, None))
    for uri, kind, language in uris:
        try:
            ref = parse_builtin(uri)
        except SrgsError:
            continue  # a voice grammar this language does not have
        text = ref.path.read_text(encoding="utf-8")
        examples = [m.group(1) for m in _EXAMPLE.finditer(text)]
        for suffix in (".cases.yaml", ".cases.jsonl"):
            cases = ref.path.with_name(ref.path.stem + suffix)
            if cases.is_file():
                try:
                    examples += [case.text for case in read_cases(str(cases))
                                 if case.expect != "NO_MATCH" and not case.rule and not case.params]
                except SrgsError:
                    pass
        unique = list(dict.fromkeys(examples))[:12]
        label = f"{ref.kind}/{ref.name}" + (f" ({language})" if language else "")
        entries.append({"uri": uri, "label": label, "kind": kind, "language": language,
                        "form": "xml" if ref.path.suffix == ".grxml" else "abnf", "examples": unique})
    return tuple(entries)


def builtin_source(engine: ServerEngine, uri: str) -> dict[str, Any]:
    """A built-in grammar's text as the loader reads it (parameters at their defaults)."""
    if uri not in {entry["uri"] for entry in builtin_catalogue()}:
        raise PlaygroundError(404, "NOT_FOUND", f"no built-in grammar {uri!r} (see /playground/builtins)")
    options = FetchOptions(policy=engine.store.text_policy, limits=engine.config.limits)
    try:
        data = fetch(uri, options, roots=(), span=SourceSpan(uri, 0, 0))
    except SrgsError as exc:
        raise PlaygroundError(404, exc.code, str(exc)) from None
    return {"uri": uri, "text": data.decode("utf-8", errors="replace")}


# --- endpoints -----------------------------------------------------------------------------------


async def page(request: Request) -> Response:
    """The grammar playground page (HTML; its script and style under /playground/)."""
    return Response((PAGE_DIR / "index.html").read_bytes(), media_type="text/html; charset=utf-8",
                    headers=PAGE_HEADERS)


def _static(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def static(request: Request) -> Response:
        return Response((PAGE_DIR / name).read_bytes(), media_type=media_type, headers=PAGE_HEADERS)

    static.__doc__ = f"The playground page's {name}."
    return static


async def _builtins(request: Request) -> Response:
    """The built-in grammars to pick from: uri, label, kind, language, form and example texts."""
    catalogue = await run_in_threadpool(builtin_catalogue)
    return ApiJSONResponse({"grammars": list(catalogue)})


async def _source(request: Request) -> Response:
    """A built-in grammar's source text (?uri=builtin:...; parameters at their defaults)."""
    uri = request.query_params.get("uri", "")
    return ApiJSONResponse(await run_in_threadpool(builtin_source, _engine(request), uri))


async def _check(request: Request) -> Response:
    """Check a grammar given as text, ABNF or XML ({"grammar"}): ok, form, and every problem with line and column."""
    body = await _json_body(request)
    return ApiJSONResponse(await run_in_threadpool(check_grammar, _engine(request), _grammar_field(body)))


async def _interpret(request: Request) -> Response:
    """Interpret a text with a grammar given as text ({"grammar", "text", "nbest"}): result JSON and parse trees."""
    body = await _json_body(request)
    grammar, text = _grammar_field(body), _text_field(body, "text")
    nbest = body.get("nbest", 1)
    if isinstance(nbest, bool) or not isinstance(nbest, int) or not 1 <= nbest <= MAX_PLAYGROUND_NBEST:
        raise PlaygroundError(400, "INVALID_REQUEST", f"'nbest' must be a whole number from 1 to {MAX_PLAYGROUND_NBEST}")
    return ApiJSONResponse(await run_in_threadpool(interpret_text, _engine(request), grammar, text, nbest))


async def _draw(request: Request) -> Response:
    """Draw a grammar's compiled automaton ({"grammar", "acceptor"}) as SVG (graphviz dot)."""
    body = await _json_body(request)
    acceptor = body.get("acceptor", False)
    if not isinstance(acceptor, bool):
        raise PlaygroundError(400, "INVALID_REQUEST", "'acceptor' must be true or false")
    return ApiJSONResponse(await run_in_threadpool(draw_grammar, _engine(request), _grammar_field(body), acceptor))


routes: list[BaseRoute] = [
    Route("/", page, methods=["GET"]),
    *(Route(f"/playground/{name}", _static(name, media_type), methods=["GET"]) for name, media_type in _STATIC.items()),
    Route("/playground/builtins", _json_endpoint("builtins", _builtins), methods=["GET"]),
    Route("/playground/source", _json_endpoint("source", _source), methods=["GET"]),
    Route("/playground/check", _json_endpoint("check", _check), methods=["POST"]),
    Route("/playground/interpret", _json_endpoint("interpret", _interpret), methods=["POST"]),
    Route("/playground/draw", _json_endpoint("draw", _draw), methods=["POST"]),
]

__all__ = ["PlaygroundError", "builtin_catalogue", "check_grammar", "draw_grammar", "interpret_text", "routes",
           "tree_nodes"]
