"""Run the pt-BR voice built-in grammars' cases, parameters substituted by hand.

Until the loader substitutes ``__NAME__`` placeholders itself, this does what it will do: each
grammar's ``meta "srgs.param.NAME" is "DEFAULT";`` gives the defaults, a case's
``params: "minlength=3;maxlength=5"`` overrides them (``length=N`` means minlength=maxlength=N), and
the cases of each parameter set run with ``srgs test`` on a substituted copy. Also prints the
compile time and FST size of each grammar with ``--compile``.

    python grammars/tools/pt_br_cases.py [--compile] [NAME ...]   # default: every pt-BR grammar
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

FOLDER = Path(__file__).resolve().parent.parent / "builtin" / "voice" / "pt-BR"
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


def run(name: str, compile_too: bool) -> bool:
    grammar = FOLDER / f"{name}.gram"
    source = grammar.read_text(encoding="utf-8")
    cases = yaml.safe_load((FOLDER / f"{name}.cases.yaml").read_text(encoding="utf-8")) or []
    groups: dict[str, list[dict[str, object]]] = {}
    for case in cases:
        groups.setdefault(case.get("params", ""), []).append(case)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if compile_too:
            gram = Path(tmp, f"{name}.gram")
            gram.write_text(substitute(source, {}), encoding="utf-8")
            far = Path(tmp, f"{name}.far")
            start = time.perf_counter()
            done = subprocess.run(["srgs", "compile", str(gram), "-o", str(far), "-v"], capture_output=True,
                                  text=True)
            took = time.perf_counter() - start
            sizes = " ".join(line.strip() for line in done.stderr.splitlines() + done.stdout.splitlines()
                             if line.startswith(("transducer", "acceptor")))
            print(f"{name}: compile {took:.2f} s (process), {sizes}, far {far.stat().st_size if far.exists() else 0} B")
        for number, (params, group) in enumerate(groups.items()):
            gram = Path(tmp, f"{name}{number}.gram")
            gram.write_text(substitute(source, parse_params(params)), encoding="utf-8")
            path = Path(tmp, f"{name}{number}.cases.yaml")
            path.write_text(yaml.safe_dump([{k: v for k, v in c.items() if k != "params"} for c in group],
                                           allow_unicode=True), encoding="utf-8")
            done = subprocess.run(["srgs", "test", str(gram), str(path)], capture_output=True, text=True)
            last = (done.stdout.strip().splitlines() or [""])[-1]
            print(f"{name} [{params or 'defaults'}]: {len(group)} cases: {last}")
            if done.returncode != 0:
                ok = False
                print(done.stdout + done.stderr)
    return ok


if __name__ == "__main__":
    args = sys.argv[1:]
    compile_too = "--compile" in args
    names = [a for a in args if a != "--compile"] or sorted(p.name.split(".")[0] for p in FOLDER.glob("*.gram"))
    sys.exit(0 if all([run(n, compile_too) for n in names]) else 1)
