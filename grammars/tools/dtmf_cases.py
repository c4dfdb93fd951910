"""Run the DTMF built-in grammars' cases with their parameters substituted by hand.

The loader substitutes ``__NAME__`` placeholders for ``builtin:dtmf/NAME?...``; this script does the
same on the files themselves (no loader needed, so it also checks a grammar before it ships): each
grammar's ``meta "srgs.param.NAME" is "DEFAULT";`` gives the defaults, a case's
``params: "minlength=3;maxlength=5"`` overrides them (``length=N`` means minlength=maxlength=N),
and the cases of each parameter set are run with ``srgs test`` on a substituted copy.

    python grammars/tools/dtmf_cases.py [NAME ...]     # default: every grammar in builtin/dtmf
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

DTMF = Path(__file__).resolve().parent.parent / "builtin" / "dtmf"
META = re.compile(r'^meta\s+"srgs\.param\.(\w+)"\s+is\s+"([^"]*)"\s*;', re.M)


def parse_params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, value = part.partition("=")
        if name == "length":
            params["minlength"] = params["maxlength"] = value
        else:
            params[name] = value
    return params


def substitute(source: str, params: dict[str, str]) -> str:
    values = dict(META.findall(source))
    unknown = set(params) - set(values)
    if unknown:
        raise SystemExit(f"unknown parameter(s) {sorted(unknown)}")
    values.update(params)
    for name, value in values.items():
        source = source.replace(f"__{name}__", value)
    return source


def run(name: str) -> bool:
    grammar = DTMF / f"{name}.gram"
    source = grammar.read_text(encoding="utf-8")
    cases = yaml.safe_load((DTMF / f"{name}.cases.yaml").read_text(encoding="utf-8")) or []
    groups: dict[str, list[dict[str, object]]] = {}
    for case in cases:
        groups.setdefault(case.get("params", ""), []).append(case)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for number, (params, group) in enumerate(groups.items()):
            gram = Path(tmp, f"{name}{number}.gram")
            gram.write_text(substitute(source, parse_params(params)), encoding="utf-8")
            path = Path(tmp, f"{name}{number}.cases.yaml")
            path.write_text(yaml.safe_dump([{k: v for k, v in c.items() if k != "params"} for c in group]),
                            encoding="utf-8")
            done = subprocess.run(["srgs", "test", str(gram), str(path)], capture_output=True, text=True)
            last = (done.stdout.strip().splitlines() or [""])[-1]
            print(f"{name} [{params or 'defaults'}]: {len(group)} cases: {last}")
            if done.returncode != 0:
                ok = False
                print(done.stdout + done.stderr)
    return ok


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.name.split(".")[0] for p in DTMF.glob("*.gram"))
    sys.exit(0 if all([run(n) for n in names]) else 1)
