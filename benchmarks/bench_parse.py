"""Parse throughput (MB/s) of the XML and ABNF readers on a generated grammar of several MB,
beside lxml's bare parse of the same XML (the baseline: what reading XML costs at all).

    python benchmarks/bench_parse.py [--rules N] [--repeat R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from lxml import etree

from srgs.abnf.reader import read_abnf
from srgs.abnf.writer import write_abnf
from srgs.xml.reader import read_xml

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
         "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]


def generated_xml(rules: int, seed: int = 7) -> bytes:
    """A grammar of ``rules`` rules, each a one-of of weighted items with tags, repeats and refs."""
    rng = random.Random(seed)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en-US" root="r0"'
           ' tag-format="semantics/1.0">']
    for i in range(rules):
        out.append(f'  <rule id="r{i}" scope="public">')
        out.append("    <one-of>")
        for j in range(6):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
            ref = f'<ruleref uri="#r{rng.randrange(i + 1, rules)}"/>' if i + 1 < rules and j == 0 else ""
            out.append(f'      <item weight="{rng.randint(1, 9)}">{words} <item repeat="0-1">{rng.choice(WORDS)}</item>{ref}'
                       f'<tag>out.v{j} = "{words}";</tag></item>')
        out.append("    </one-of>")
        out.append("  </rule>")
    out.append("</grammar>")
    return "\n".join(out).encode("utf-8")


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    xml = generated_xml(args.rules)
    grammar = read_xml(xml, "bench.grxml")
    abnf = write_abnf(grammar).encode("utf-8")
    hardened = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

    rows = [
        ("lxml bare parse (baseline)", len(xml), best_of(lambda: etree.fromstring(xml, hardened), args.repeat)),
        ("srgs XML reader", len(xml), best_of(lambda: read_xml(xml, "bench.grxml"), args.repeat)),
        ("srgs ABNF reader", len(abnf), best_of(lambda: read_abnf(abnf, "bench.gram"), args.repeat)),
    ]
    base = rows[0][2][0]
    print(f"grammar: {args.rules} rules; XML {len(xml) / 1e6:.2f} MB, ABNF {len(abnf) / 1e6:.2f} MB; best of {args.repeat}")
    print(f"{'reader':<28} {'MB':>6} {'best s':>8} {'median s':>9} {'MB/s':>8} {'x baseline':>11}")
    for name, size, (best, median) in rows:
        print(f"{name:<28} {size / 1e6:>6.2f} {best:>8.3f} {median:>9.3f} {size / 1e6 / best:>8.1f} {best / base:>11.1f}")


if __name__ == "__main__":
    main()
