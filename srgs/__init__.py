"""The SRGS front end and compiler.

Read grammars in either SRGS form into one model (``srgs.model``), validate and resolve them
(``srgs.loader.load_bundle``), write them back (``srgs.xml_writer``, ``srgs.abnf_writer``) and
compile them to weighted FSTs (``srgs.compile``). Errors are ``srgs.errors.SrgsError``s that say
where: ``FILE:LINE:COL: message``.
"""


def __getattr__(name: str):
    if name == "__version__":  # looked up on demand: package metadata costs start-up time
        from .cli import version

        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
