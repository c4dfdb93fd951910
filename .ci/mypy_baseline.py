"""mypy --strict over srgs/, interpreter/, decoder/ and server/ against a stated, shrinking baseline.

``.ci/mypy-baseline.json`` holds, per file, how many strict errors it may still have. The check
fails when a file has more than its baseline (a new error) and says so when a file has fewer (the
baseline can shrink: run with ``--update`` to write the new counts). Files not in the baseline
must be clean. ``--update`` only ever shrinks the baseline: with a new error it writes nothing and
fails as the check does.

The baseline is empty now (every file is clean, so this is plain ``mypy --strict``); it stays the
place to state, file by file, errors a change cannot fix at once.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".ci" / "mypy-baseline.json"
ERROR = re.compile(r"^(?P<file>[^:]+\.py):\d+: error: ")


def main() -> int:
    run = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT,
                         capture_output=True, text=True)
    counts = Counter(m["file"] for line in run.stdout.splitlines() if (m := ERROR.match(line)))
    if run.returncode not in (0, 1) or (run.returncode == 1 and not counts):
        print(run.stdout + run.stderr)
        return 2
    allowed: dict[str, int] = json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.exists() else {}
    worse = {f: (n, allowed.get(f, 0)) for f, n in counts.items() if n > allowed.get(f, 0)}
    if "--update" in sys.argv and not worse:  # every count at most its baseline: a shrink
        BASELINE.write_text(json.dumps(dict(sorted(counts.items())), indent=1) + "\n", encoding="utf-8")
        print(f"mypy baseline: {sum(counts.values())} errors in {len(counts)} files written")
        return 0
    better = {f: (counts.get(f, 0), n) for f, n in allowed.items() if counts.get(f, 0) < n}
    total, limit = sum(counts.values()), sum(allowed.values())
    checked = ("srgs", "interpreter", "decoder", "server")
    clean = sorted({str(p.relative_to(ROOT)) for d in checked for p in (ROOT / d).rglob("*.py")} - set(counts))
    print(f"mypy --strict: {total} errors (baseline {limit}); {len(clean)} files clean")
    for f, (n, was) in sorted(better.items()):
        print(f"  {f}: {n} errors, baseline {was}: the baseline can shrink (--update)")
    if worse:
        for line in run.stdout.splitlines():
            m = ERROR.match(line)
            if m and m["file"] in worse:
                print(line)
        for f, (n, was) in sorted(worse.items()):
            print(f"  {f}: {n} errors, over its baseline of {was}")
        if "--update" in sys.argv:
            print("  baseline not written: --update only shrinks it (fix the new errors)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
