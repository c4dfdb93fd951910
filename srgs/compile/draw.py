"""Drawing a compiled grammar: OpenFst's DOT text, and graphviz ``dot`` to turn it into a picture.

One place for what ``srgs draw`` and the server's playground both do; neither caller writes
files of its own here (the DOT text and the picture come back as values).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from srgs.errors import SrgsError

from .artifact import CompiledGrammar


class DrawError(SrgsError):
    """OpenFst or graphviz could not draw the grammar (one-line message)."""

    code = "DRAW_FAILED"


class DrawUnavailable(DrawError):
    """graphviz ``dot`` is not installed."""

    code = "DRAW_UNAVAILABLE"


class DrawTimeout(DrawError):
    """graphviz ``dot`` ran over its time."""

    code = "DRAW_TIMEOUT"


def dot_text(compiled: CompiledGrammar, *, acceptor: bool = False, title: str = "grammar",
             page_inches: float | None = None) -> str:
    """The transducer (or the token acceptor) as OpenFst's DOT text, with readable labels.
    ``page_inches``: a large page makes graphviz keep the drawing's size (a web page scrolls)."""
    from .sample import display_symbols

    fst = (compiled.acceptor if acceptor else compiled.transducer).copy()
    symbols = display_symbols(compiled)
    size = {} if page_inches is None else {"width": page_inches, "height": page_inches}
    with tempfile.TemporaryDirectory(prefix="srgs-draw-") as tmp:
        source = Path(tmp) / "fst.dot"
        fst.draw(str(source), isymbols=symbols, osymbols=symbols, acceptor=acceptor, title=title, portrait=True,
                 **size)
        if not source.is_file():
            raise DrawError("OpenFst could not draw the grammar")
        return source.read_text(encoding="utf-8")


def render(dot_source: str, graphviz_format: str, *, timeout_s: float | None = None) -> bytes:
    """``dot_source`` drawn by graphviz ``dot -T<graphviz_format>`` (svg, png, pdf)."""
    dot = shutil.which("dot")
    if dot is None:
        raise DrawUnavailable(f"drawing .{graphviz_format} needs the graphviz 'dot' program: install graphviz")
    try:
        done = subprocess.run([dot, f"-T{graphviz_format}"], input=dot_source.encode("utf-8"), capture_output=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise DrawTimeout(f"graphviz dot took more than {timeout_s:g} s") from None
    if done.returncode != 0 or not done.stdout:
        reason = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise DrawError(f"graphviz dot failed: {reason[-1] if reason else done.returncode}")
    return done.stdout


def graphviz_available() -> bool:
    return shutil.which("dot") is not None
