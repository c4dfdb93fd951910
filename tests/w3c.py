"""The W3C SRGS 1.0 implementation-report corpus, as the tests use it.

Which grammars the suite treats as illegal, which grammars run rules in parallel, and how its
external references (published URLs, example.com stand-ins) map to local files.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from srgs.load.policy import AccessPolicy
from srgs.load.sources import FetchOptions

REPO = Path(__file__).resolve().parent.parent
# Vendored copy of the W3C corpus (its notice: tests/data/w3c-srgs-1.0-ir/README.md).
CORPUS = REPO / "tests" / "data" / "w3c-srgs-1.0-ir"
TEST_DIR = CORPUS / "test"
EXTERNAL_STANDINS = REPO / "tests" / "data" / "w3c-external"

# Grammars that are legal but accept nothing: every case is REJECT because of what they say.
LEGAL_BUT_REJECTING = {"special-void.gram", "special-void.grxml"}

# conformance-3/-4: "the root rule and the rule 'parallel' must be activated in parallel".
PARALLEL_RULES = {
    "conformance-3.gram": ("main", "parallel"),
    "conformance-3.grxml": ("main", "parallel"),
    "conformance-4.gram": ("main", "parallel"),
    "conformance-4.grxml": ("main", "parallel"),
}


@lru_cache(maxsize=1)
def manifest() -> list[dict]:
    return json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))


def entries_with_cases() -> list[dict]:
    return [entry for entry in manifest() if entry["cases"]]


def is_illegal(entry: dict) -> bool:
    cases = entry["cases"]
    return bool(cases) and all(c["out"] == "REJECT" for c in cases) and entry["file"] not in LEGAL_BUT_REJECTING


def fetch_options() -> FetchOptions:
    return FetchOptions(policy=AccessPolicy.local(
        roots=(str(TEST_DIR), str(EXTERNAL_STANDINS)),
        uri_map=(
            ("http://www.w3.org/Voice/2003/srgs-ir/test/", TEST_DIR.as_uri() + "/"),
            ("http://www.example.com/", EXTERNAL_STANDINS.as_uri() + "/"),
        ),
    ))


def active_rules(file: str) -> tuple[str, ...]:
    return PARALLEL_RULES.get(file, ())
