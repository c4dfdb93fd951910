"""The ABNF parser's tables are cached only in a private directory of the user's, and a damaged
cache file costs a rebuild, never a failure."""

from __future__ import annotations

import os

from srgs.abnf import reader


def test_cache_lives_in_a_private_user_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = reader._parser_cache_file()
    assert path is not None and path.parent == tmp_path / "srgs-engine"
    assert (path.parent.stat().st_mode & 0o077) == 0


def test_a_directory_others_can_write_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "srgs-engine").mkdir(mode=0o777)
    os.chmod(tmp_path / "srgs-engine", 0o777)
    assert reader._parser_cache_file() is None


def test_a_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = reader._parser_cache_file()
    assert path is not None
    path.write_bytes(b"not a pickle at all")
    parser, _ = reader._parser.__wrapped__()
    grammar = reader.read_abnf(b"#ABNF 1.0 UTF-8;\nlanguage en;\nroot $a;\n$a = b c;\n", "t.gram")
    assert grammar.rule("a") is not None and parser is not None
