"""Compile time and peak memory of ``compile_bundle`` beside a direct pynini construction.

Each figure runs in its own subprocess (peak RSS = that process's ``ru_maxrss``; the base RSS
before the clock starts is printed too, and the peak RSS of the optimiser child process when
one ran; a figure that takes over ``TIMEOUT_S`` is reported as such). The grammar is written as XML and loaded as
``srgs compile`` loads it before the clock starts: reading a grammar is the readers' cost
(``bench_parse.py``), not the compiler's. Baselines build the same WORD language straight
with pynini (``string_map`` / ``union`` / ``closure`` over a word symbol table) and optimise it.

    python benchmarks/bench_compile.py            # every case
    python benchmarks/bench_compile.py names100k  # one case
    python benchmarks/bench_compile.py cpf-dtmf cpf-voice  # the CPF built-ins (load not timed)
CPU s: the CPU time of the process and of its optimiser child, which a busy machine does not
inflate as it does the wall-clock time.
Target (issue 3): 100,000-entry list < 10 s and < 1 GB, within 3x of the baseline.
Target (issue 7): counted repeats (``a<6000>``, ``a<50000-90000>``, ``(a|b)<6000>``) in seconds;
their baseline is ``pynini.closure(word, lower, upper).optimize(compute_props=True)``.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = ("names100k", "numbers", "digits20", "a6000", "a50000-90000", "ab6000", "w3c", "cpf-dtmf", "cpf-voice")
# Built-in grammars (issue 9): case -> URI; no baseline.
BUILTINS = {"cpf-dtmf": "builtin:dtmf/cpf", "cpf-voice": "builtin:grammar/cpf?lang=pt-BR"}
# Counted repeats (issue 7): case -> (words of the one-of, lower, upper).
REPEATS = {"a6000": (("a",), 6000, 6000), "a50000-90000": (("a",), 50_000, 90_000), "ab6000": (("a", "b"), 6000, 6000)}
TIMEOUT_S = 600


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process and its waited-for children (the optimiser's child)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --- the grammars, as models and as word lists ----------------------------------------------

def _names(count: int = 100_000) -> list[str]:
    rng = random.Random(1)
    syllables = ["ka", "lo", "mi", "ra", "to", "ne", "su", "vi", "da", "po", "ri", "ge", "ha", "ju", "be"]
    names: set[str] = set()
    while len(names) < count:
        names.add(" ".join("".join(rng.choice(syllables) for _ in range(3)) for _ in range(2)))
    return sorted(names)


DIGITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _model(case: str):
    from srgs.bundle import GrammarBundle
    from srgs.model import Alternative, Grammar, OneOf, Repeat, Rule, RuleRef, Tag, Token, sequence

    def alts(items):
        return OneOf(alternatives=tuple(Alternative(expansion=e) for e in items))

    def tagged(words, values):
        return alts([sequence([Token(text=w), Tag(text=f"out={v};")]) for w, v in zip(words, values, strict=True)])

    def opt(e):
        return Repeat(expansion=e, min=0, max=1)

    def ref(name):
        return RuleRef(uri=f"#{name}")

    if case == "names100k":
        rules = [Rule(name="main", scope="public",
                      expansion=tagged(_names(), [f'"{i}"' for i in range(100_000)]))]
    elif case == "numbers":
        rules = [
            Rule(name="digit", expansion=tagged(DIGITS, range(1, 10))),
            Rule(name="teen", expansion=tagged(TEENS, range(10, 20))),
            Rule(name="tens", expansion=tagged(TENS, range(20, 100, 10))),
            Rule(name="under100", expansion=alts([
                ref("digit"), ref("teen"),
                sequence([ref("tens"), opt(sequence([ref("digit"), Tag(text="out += rules.digit;")]))])])),
            Rule(name="under1000", expansion=alts([
                sequence([ref("digit"), Token(text="hundred"), Tag(text="out = rules.digit * 100;"),
                          opt(sequence([opt(Token(text="and")), ref("under100"), Tag(text="out += rules.under100;")]))]),
                ref("under100")])),
            Rule(name="main", scope="public", expansion=alts([
                Token(text="zero"),
                ref("under1000"),
                sequence([ref("under1000"), Token(text="thousand"), Tag(text="out = rules.under1000 * 1000;"),
                          opt(sequence([opt(Token(text="and")), ref("under1000"), Tag(text="out += rules.under1000;")]))]),
            ])),
        ]
    elif case in REPEATS:
        words, low, high = REPEATS[case]
        body = Token(text=words[0]) if len(words) == 1 else alts([Token(text=w) for w in words])
        rules = [Rule(name="main", scope="public", expansion=Repeat(expansion=body, min=low, max=high))]
    elif case == "digits20":
        rules = [Rule(name="digit", expansion=tagged(["zero"] + DIGITS, range(10))),
                 Rule(name="main", scope="public", expansion=Repeat(expansion=ref("digit"), min=1, max=20))]
    else:
        raise ValueError(case)
    grammar = Grammar(root="main", language="en-US", rules=tuple(rules), uri=f"{case}.grxml")
    return GrammarBundle.single(grammar, key=f"{case}.grxml")


def _loaded(bundle):
    """The bundle as ``srgs compile`` gets it: its grammar written out as XML and read back by the
    loader (validated, resolved, source-hashed), all before the clock starts."""
    from srgs.load.loader import bundle_from_text
    from srgs.xml.writer import write_xml

    return bundle_from_text(write_xml(bundle.main_grammar), source=bundle.main)


def _baseline(case: str):
    """The same word language built directly with pynini, optimised."""
    import pynini

    symbols = pynini.SymbolTable()
    symbols.add_symbol("<eps>")
    words = DIGITS + TEENS + TENS + ["zero", "hundred", "thousand", "and"]

    def accep(text):
        return pynini.accep(text, token_type=symbols)

    def union(items):
        return pynini.union(*[accep(w) for w in items])

    if case in REPEATS:
        repeated, low, high = REPEATS[case]
        for word in repeated:
            symbols.add_symbol(word)
        # Properties computed: a plain ``optimize()`` of this chain takes pynini's transducer
        # minimisation (8.8 s and 1.1 GB for a<6000>: the very cost issue 7 is about).
        return pynini.closure(union(repeated) if len(repeated) > 1 else accep(repeated[0]), low, high).optimize(
            compute_props=True)
    if case == "names100k":
        names = _names()
        for name in names:
            for word in name.split():
                symbols.add_symbol(word)
        return pynini.string_map(names, input_token_type=symbols, output_token_type=symbols).optimize()
    for word in words:
        symbols.add_symbol(word)
    digit = union(DIGITS)
    if case == "digits20":
        return pynini.closure(pynini.union(digit, accep("zero")), 1, 20).optimize()
    under100 = pynini.union(digit, union(TEENS), union(TENS) + pynini.closure(digit, 0, 1))
    under1000 = pynini.union(digit + accep("hundred") + pynini.closure(pynini.closure(accep("and"), 0, 1) + under100, 0, 1),
                             under100)
    return pynini.union(accep("zero"), under1000,
                        under1000 + accep("thousand") + pynini.closure(pynini.closure(accep("and"), 0, 1) + under1000, 0, 1)
                        ).optimize()


# --- one measurement per subprocess -------------------------------------------------------------

def _measure(case: str, which: str) -> dict:
    import pynini  # noqa: F401  (imported before the base RSS is taken)

    from srgs.compile import compile_bundle

    if case == "w3c":
        return _measure_w3c()
    if case in BUILTINS:
        from srgs.load.loader import load_bundle

        bundle = load_bundle(BUILTINS[case])
    else:
        bundle = _loaded(_model(case)) if which == "ours" else None
    base = _rss_mb()
    cpu = _cpu_s()
    clock = time.perf_counter()
    if which == "ours":
        compiled = compile_bundle(bundle)
        states = compiled.transducer.num_states()
        extra = {"acceptor_states": compiled.acceptor.num_states()}
    else:
        fst = _baseline(case)
        states = fst.num_states()
        extra = {}
    seconds = time.perf_counter() - clock
    return {"seconds": seconds, "cpu_s": _cpu_s() - cpu, "peak_mb": _rss_mb(), "base_mb": base, "states": states,
            "child_mb": _rss_mb(resource.RUSAGE_CHILDREN), **extra}


def _measure_w3c() -> dict:
    from srgs.compile import compile_bundle
    from srgs.errors import SrgsError
    from srgs.load.loader import load_bundle
    from tests import w3c

    bundles = []
    for entry in w3c.entries_with_cases():
        try:
            bundles.append(load_bundle(str(w3c.TEST_DIR / entry["file"]), options=w3c.fetch_options(),
                                       active=w3c.active_rules(entry["file"])))
        except SrgsError:
            continue
    base = _rss_mb()
    cpu = _cpu_s()
    clock = time.perf_counter()
    states = sum(compile_bundle(bundle).transducer.num_states() for bundle in bundles)
    seconds = time.perf_counter() - clock
    return {"seconds": seconds, "cpu_s": _cpu_s() - cpu, "peak_mb": _rss_mb(), "base_mb": base, "states": states,
            "grammars": len(bundles),
            "child_mb": _rss_mb(resource.RUSAGE_CHILDREN)}


def _run(case: str, which: str) -> dict | None:
    """The figures of one measurement, or None when it took over ``TIMEOUT_S``."""
    try:
        result = subprocess.run([sys.executable, __file__, "--measure", case, which], capture_output=True,
                                text=True, cwd=ROOT, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None
    if result.returncode != 0:
        raise SystemExit(f"{case}/{which} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        print(json.dumps(_measure(argv[1], argv[2])))
        return 0
    cases = argv or list(CASES)
    print(f"{'case':<13} {'ours s':>8} {'CPU s':>7} {'peak MB':>8} {'child MB':>8} {'states':>8} | "
          f"{'pynini s':>8} {'peak MB':>8} {'states':>8} | ratio")
    for case in cases:
        ours = _run(case, "ours")
        if ours is None:
            print(f"{case:<13} {'>' + str(TIMEOUT_S):>8} (stopped)")
            continue
        child = f"{ours['child_mb']:>8.0f}" if ours["child_mb"] else f"{'-':>8}"
        head = (f"{case:<13} {ours['seconds']:>8.3f} {ours['cpu_s']:>7.2f} {ours['peak_mb']:>8.0f} {child} "
                f"{ours['states']:>8} | ")
        if case == "w3c":
            print(head + f"{'-':>8} {'-':>8} {'-':>8} | ({ours['grammars']} grammars, no baseline)")
            continue
        if case in BUILTINS:
            print(head + f"{'-':>8} {'-':>8} {'-':>8} | (acceptor {ours['acceptor_states']} states, no baseline)")
            continue
        base = _run(case, "baseline")
        if base is None:
            print(head + f"{'>' + str(TIMEOUT_S):>8} (stopped)")
            continue
        ratio = ours["seconds"] / base["seconds"] if base["seconds"] else float("inf")
        print(head + f"{base['seconds']:>8.3f} {base['peak_mb']:>8.0f} {base['states']:>8} | {ratio:.2f}x "
              f"(base RSS {ours['base_mb']:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
