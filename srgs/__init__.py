"""The SRGS front end and compiler.

Read grammars in either SRGS form into one model (``srgs.model``), validate and resolve them
(``srgs.load.loader.load_bundle``), write them back (``srgs.xml.writer``, ``srgs.abnf.writer``) and
compile them to weighted FSTs (``srgs.compile``). Errors are ``srgs.errors.SrgsError``s that say
where: ``FILE:LINE:COL: message``.
"""


def __getattr__(name: str) -> str:
    if name == "__version__":  # looked up on demand: package metadata costs start-up time
        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def version() -> str:
    """The installed package's version, else the one pyproject.toml declares (a source tree)."""
    from importlib import metadata

    try:
        return metadata.version("srgs-engine")
    except metadata.PackageNotFoundError:
        pass
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"
