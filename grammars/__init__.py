"""Grammars the project ships: ``builtin/`` holds the grammars reachable as ``builtin:NAME``."""
