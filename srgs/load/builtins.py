"""The built-in grammars (``grammars/builtin/``): their URIs, languages and parameters.

- ``builtin:examples/NAME``: the example grammars (``examples/NAME.grxml|.gram``);
- ``builtin:grammar/NAME[?params]``: the voice grammars of one language
  (``voice/LANG/NAME.grxml|.gram``); the language is ``lang=xx-YY`` in the query, else the
  language of the referring grammar, else ``FetchOptions.language``, else en-US (a language
  with no folder of its own falls back to the only folder of the same primary language);
- ``builtin:dtmf/NAME[?params]``: the DTMF grammars (``dtmf/NAME.gram``), language-free.

Parameters follow ``?``, separated by ``;`` (VoiceXML 2.0): ``digits?minlength=3;maxlength=5``,
``digits?length=4`` (both lengths), ``boolean?y=1;n=2`` (a ``#`` key is written ``%23``). A grammar
declares the parameters it takes as ``srgs.param.NAME`` metas whose content is the default, and
writes ``__NAME__`` where the value goes, or ``__NAME-OTHER__`` for the difference of two integer
parameters (``__maxlength-minlength__``: how many digits past the minimum are allowed); the bytes
fetched have every placeholder replaced. A grammar may declare ``none`` as the default of
``maxlength`` (no upper bound unless one is given): its placeholder, and any difference with it,
is then the word ``none``.
Each distinct (name, language, parameters) is a distinct canonical URI, its parameters sorted:
``builtin:grammar/digits?lang=en-US;maxlength=5;minlength=3``.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import ResolveError
from ..model import SourceSpan

BUILTIN_SCHEME = "builtin:"
BUILTIN_DIR = Path(__file__).resolve().parents[2] / "grammars" / "builtin"
BUILTIN_SUFFIXES = (".grxml", ".gram")
BUILTIN_KINDS = ("examples", "grammar", "dtmf")
DEFAULT_LANGUAGE = "en-US"
MAX_LENGTH_PARAM = 64  # the largest minlength/maxlength a built-in grammar accepts
DTMF_KEYS = "0123456789*#"
NO_BOUND = "none"  # a maxlength default that sets no upper bound (VoiceXML gives none)


def builtin_names() -> list[str]:
    """Every built-in grammar as ``KIND/NAME`` (voice names once, whatever their languages)."""
    names = {f"examples/{n}" for n in _names_in(BUILTIN_DIR / "examples")}
    names |= {f"dtmf/{n}" for n in _names_in(BUILTIN_DIR / "dtmf")}
    for language in builtin_languages():
        names |= {f"grammar/{n}" for n in _names_in(BUILTIN_DIR / "voice" / language)}
    return sorted(names)


def builtin_languages() -> list[str]:
    """The languages that have built-in voice grammars (the folders under ``voice/``)."""
    voice = BUILTIN_DIR / "voice"
    return sorted(p.name for p in voice.iterdir() if p.is_dir()) if voice.is_dir() else []


def _names_in(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted({p.stem for p in folder.iterdir() if p.suffix in BUILTIN_SUFFIXES and p.is_file()})


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z")
_PARAM_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_PARAM_VALUE = re.compile(r"[A-Za-z0-9_.+*#-]{1,64}\Z")
_XML_META = re.compile(rb"<meta\b[^>]*>")
_XML_ATTR = re.compile(rb"""\b(name|content)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ABNF_META = re.compile(rb"""\bmeta\s+(?:"([^"]*)"|'([^']*)')\s+is\s+(?:"([^"]*)"|'([^']*)')\s*;""")
_PARAM_META = "srgs.param."
_DIFFERENCE = re.compile(rb"__([a-z][a-z0-9]*)-([a-z][a-z0-9]*)__")


@dataclass(frozen=True, slots=True)
class BuiltinRef:
    """One built-in grammar with its parameters: ``kind`` ("examples", "grammar" or "dtmf"),
    ``name``, ``language`` (the folder under ``voice/``, for "grammar" only) and ``params``
    (the parameters given, sorted, ``length`` already expanded)."""

    kind: str
    name: str
    language: str | None
    params: tuple[tuple[str, str], ...]
    path: Path

    @property
    def uri(self) -> str:
        """The canonical URI: the key under which this grammar is read and compiled."""
        query = [("lang", self.language)] if self.language else []
        query += list(self.params)
        text = ";".join(f"{k}={urllib.parse.quote(v, safe='*')}" for k, v in sorted(query))
        return f"{BUILTIN_SCHEME}{self.kind}/{self.name}" + (f"?{text}" if text else "")


def parse_builtin(uri: str, *, referrer_language: str | None = None, default_language: str | None = None,
                  span: SourceSpan | None = None) -> BuiltinRef:
    """A ``builtin:`` URI read and checked: kind, name, language and parameter syntax (the
    parameters a grammar takes are checked against its metas when it is read), or a ResolveError."""
    if not uri.startswith(BUILTIN_SCHEME):
        raise ResolveError(f"not a builtin: URI: {uri!r}", span)
    rest = uri[len(BUILTIN_SCHEME):]
    path, _, query = rest.partition("?")
    if path.startswith(("/", "\\")) or "\\" in path or any(part in ("..", ".") for part in path.split("/")):
        raise ResolveError(f"refused {uri!r}: a builtin: URI names a grammar as KIND/NAME, without '..', "
                           "'.' or an absolute path", span)
    parts = path.split("/")
    if len(parts) != 2:
        near = [f"{BUILTIN_SCHEME}{known}" for known in builtin_names() if known.split("/", 1)[1] == path]
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise ResolveError(f"no builtin grammar {uri!r}: built-in grammars are builtin:examples/NAME, "
                           f"builtin:grammar/NAME (voice) and builtin:dtmf/NAME (known: {_known()}){hint}", span)
    kind, name = parts
    if kind not in BUILTIN_KINDS:
        raise ResolveError(f"no builtin grammar {uri!r}: unknown kind {kind!r} "
                           f"(kinds: {', '.join(BUILTIN_KINDS)})", span)
    if not _NAME.match(name):
        raise ResolveError(f"no builtin grammar {uri!r}: {name!r} is not a grammar name", span)
    params = _parse_query(uri, query, span)
    asked = params.pop("lang", None)
    language = None
    if kind == "grammar":
        language = _pick_language(uri, asked, referrer_language, default_language, span)
        folder = BUILTIN_DIR / "voice" / language
    else:
        if asked is not None and not _LANGUAGE.match(asked):
            raise ResolveError(f"{uri}: lang={asked!r} is not a language tag such as en-US", span)
        folder = BUILTIN_DIR / kind
    if kind == "examples" and params:
        raise ResolveError(f"{uri}: builtin:examples grammars take no parameters", span)
    if "length" in params:
        if "minlength" in params or "maxlength" in params:
            raise ResolveError(f"{uri}: length=N cannot be combined with minlength or maxlength", span)
        params["minlength"] = params["maxlength"] = params.pop("length")
    _check_values(uri, params, span)
    file = next((folder / f"{name}{s}" for s in BUILTIN_SUFFIXES if (folder / f"{name}{s}").is_file()), None)
    if file is None:
        where = f"builtin:grammar/ in {language}" if language else f"builtin:{kind}/"
        known = ", ".join(_names_in(folder)) or "none"
        raise ResolveError(f"no builtin grammar {name!r} under {where} (known: {known})", span)
    return BuiltinRef(kind, name, language, tuple(sorted(params.items())), file)


def canonical_builtin_uri(uri: str, *, referrer_language: str | None = None, default_language: str | None = None,
                          span: SourceSpan | None = None) -> str:
    """The canonical form of a ``builtin:`` URI (language chosen, parameters sorted)."""
    return parse_builtin(uri, referrer_language=referrer_language, default_language=default_language, span=span).uri


def _known() -> str:
    return ", ".join(builtin_names()) or "none"


def _parse_query(uri: str, query: str, span: SourceSpan | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for piece in re.split(r"[;&]", query):
        if not piece.strip():
            continue
        key, equals, value = piece.partition("=")
        key = key.strip().lower()
        value = urllib.parse.unquote(value.strip())
        if not equals or not _PARAM_NAME.match(key) or not value:
            raise ResolveError(f"{uri}: parameter {piece!r} is not NAME=VALUE", span)
        if key in params:
            raise ResolveError(f"{uri}: parameter {key!r} given twice", span)
        params[key] = value
    return params


def _pick_language(uri: str, asked: str | None, referrer: str | None, default: str | None,
                   span: SourceSpan | None) -> str:
    """The voice folder for query > referrer > default > en-US."""
    for tag, origin in ((asked, "lang="), (referrer, "the referring grammar's language"),
                        (default, "the session language"), (DEFAULT_LANGUAGE, "the default language")):
        if not tag:
            continue
        available = builtin_languages()
        if not _LANGUAGE.match(tag):
            raise ResolveError(f"{uri}: {origin} {tag!r} is not a language tag such as en-US", span)
        exact = [lang for lang in available if lang.lower() == tag.lower()]
        primary = [lang for lang in available if lang.split("-")[0].lower() == tag.split("-")[0].lower()]
        if exact or len(primary) == 1:
            return (exact or primary)[0]
        raise ResolveError(f"{uri}: no built-in voice grammars for language {tag} ({origin}); "
                           f"available: {', '.join(available) or 'none'}", span)
    raise AssertionError("unreachable: the default language is always set")


def _check_values(uri: str, params: dict[str, str], span: SourceSpan | None, *,
                  unbounded: tuple[str, ...] = ()) -> None:
    """Checks parameter values; a key in ``unbounded`` may be ``none`` (a declared default)."""
    for key, value in params.items():
        if key in unbounded and value == NO_BOUND:
            continue
        if key in ("minlength", "maxlength"):
            if not value.isdigit() or not 1 <= int(value) <= MAX_LENGTH_PARAM:
                raise ResolveError(f"{uri}: {key}={value!r} must be an integer from 1 to {MAX_LENGTH_PARAM}", span)
            params[key] = str(int(value))
        elif key in ("y", "n"):
            if len(value) != 1 or value not in DTMF_KEYS:
                raise ResolveError(f"{uri}: {key}={value!r} must be one DTMF key (0-9, *, # written %23)", span)
        elif not _PARAM_VALUE.match(value):
            raise ResolveError(f"{uri}: {key}={value!r}: a parameter value is 1 to 64 letters, digits or _.+*#-",
                               span)
    if ("minlength" in params and "maxlength" in params and NO_BOUND not in (params["minlength"], params["maxlength"])
            and int(params["minlength"]) > int(params["maxlength"])):
        raise ResolveError(f"{uri}: minlength={params['minlength']} is greater than maxlength={params['maxlength']}",
                           span)
    if "y" in params and params.get("y") == params.get("n"):
        raise ResolveError(f"{uri}: y and n are the same key {params['y']!r}", span)


def declared_params(data: bytes) -> dict[str, str]:
    """The parameters a grammar declares (``srgs.param.NAME`` metas) with their defaults."""
    found: dict[str, str] = {}
    for tag in _XML_META.finditer(data):
        attrs = {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _XML_ATTR.finditer(tag.group())}
        name, content = attrs.get(b"name"), attrs.get(b"content")
        if name is not None and content is not None:
            found[name.decode("latin-1")] = content.decode("latin-1")
    for m in _ABNF_META.finditer(data):
        name = m.group(1) if m.group(1) is not None else m.group(2)
        content = m.group(3) if m.group(3) is not None else m.group(4)
        found[name.decode("latin-1")] = content.decode("latin-1")
    return {k[len(_PARAM_META):]: v for k, v in found.items() if k.startswith(_PARAM_META)}


def substitute_params(ref: BuiltinRef, data: bytes, span: SourceSpan | None) -> bytes:
    """The grammar's text ``data`` with each ``__NAME__`` placeholder replaced by the parameter's
    value (given, else the default its meta declares); a parameter it does not declare is an error."""
    declared = declared_params(data)
    unknown = sorted(set(dict(ref.params)) - set(declared))
    if unknown:
        takes = ", ".join(sorted({*declared, *(["length"] if {"minlength", "maxlength"} <= set(declared) else [])}))
        raise ResolveError(f"{ref.uri}: unknown parameter {', '.join(unknown)} "
                           f"({'it takes: ' + takes if takes else 'it takes no parameters'})", span)
    values = {**declared, **dict(ref.params)}
    try:
        _check_values(ref.uri, values, span,
                      unbounded=tuple(k for k, v in declared.items() if k == "maxlength" and v == NO_BOUND))
    except ResolveError as exc:
        raise ResolveError(f"{exc.message} (with the defaults of {ref.path.name})", span) from None
    for key, value in values.items():
        data = data.replace(f"__{key}__".encode("ascii"), value.encode("ascii"))

    def difference(match: re.Match[bytes]) -> bytes:
        first, second = (values.get(name.decode("ascii"), "") for name in match.groups())
        if NO_BOUND in (first, second) and all(name.decode("ascii") in values for name in match.groups()):
            return NO_BOUND.encode("ascii")
        if not (first.isdigit() and second.isdigit()):
            return match.group()  # not two integer parameters: left as written
        return str(int(first) - int(second)).encode("ascii")

    return _DIFFERENCE.sub(difference, data)
