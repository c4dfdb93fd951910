"""The user's private cache directory, for what one process may leave for the next.

Used for lark's parser tables and the converted general language model: both are trusted when
read back (a pickle, a model file), so the directory must be the user's own and closed to others
(``$XDG_CACHE_HOME/srgs-engine``, else ``~/.cache/srgs-engine``, made 0700), never /tmp.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_cache_directory() -> Path | None:
    """The directory, created 0700 when missing; None when it cannot be had or is not private
    (another owner, or writable by group or others): the caller then goes without a cache."""
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "srgs-engine"
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = base.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            return None
    except (OSError, RuntimeError, KeyError):
        return None
    return base
