"""Accuracy of the decoder back ends on synthesised speech, beside pocketsphinx's own JSGF decoding.

The benchmark makes its own audio (espeak-ng and sox, cached in a work folder) and decodes every
utterance with each back end under the grammar it belongs to:

- sets: ``clean`` (4 en-US grammars, 2 voices x 2 speeds), ``noisy`` (the same speech with white
  noise at 15 dB SNR), ``telephone`` (8 kHz, 300-3400 Hz band-pass), ``oog`` (out-of-grammar
  speech decoded under each en-US grammar), ``pt-br`` and ``pt-br-oog`` (pt-BR grammars, espeak-ng
  pt-br voices; only for back ends with a pt-BR model);
- back ends: ``pocketsphinx`` (ours: FSG search under the grammar, rejection, interpretation),
  ``ctc`` (ours, ``decoder.ctc_backend``, when importable) and ``baseline`` (pocketsphinx's own
  JSGF grammar search of the same audio: the SRGS grammar converted rule for rule to JSGF,
  ``Decoder.add_jsgf_string``, no rejection; its words are interpreted by our interpreter so that
  semantic accuracy compares like with like);
- figures per back end and set: sentence accuracy (the words, homophone digits and accents
  folded), semantic accuracy (the interpretation equals the expected value), rejection (the share
  of NO_MATCH: the rejection rate on out-of-grammar sets, false rejections on the others) and the
  real-time factor (CPU seconds of the decode call / audio seconds, and wall-clock);
- targets (issue 10): semantic accuracy at least the baseline's on every set, rejection >= 90%,
  RTF <= 0.1 on one core.

    python benchmarks/bench_accuracy.py [--quick] [--sets clean,oog,...] [--backends pocketsphinx,baseline]
                                        [--work DIR] [--jobs N] [--format text|json]

See benchmarks/accuracy/README.md for the method. Needs espeak-ng and sox.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy.audio import read_samples, speech_file  # noqa: E402
from benchmarks.accuracy.jsgf import bundle_to_jsgf  # noqa: E402
from benchmarks.accuracy.sets import (  # noqa: E402
    ALL_SETS,
    FULL,
    QUICK,
    SNR_DB,
    Utterance,
    build_utterances,
    canonical,
    comparable_words,
)

BACKENDS = ("pocketsphinx", "ctc", "baseline")
BASELINE = "baseline"
OOG_SETS = ("oog", "near-miss", "pt-br-oog")
REJECTION_TARGET_SETS = ("oog", "pt-br-oog")  # near-misses are reported, not held to the target
TARGET_REJECTION = 0.90
TARGET_RTF = 0.10


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one back end made of one utterance."""

    status: str  # RECOGNIZED, NO_MATCH, FAILURE, ERROR (the back end could not take the grammar)
    words: tuple[str, ...]
    value: str | None  # canonical JSON of the first interpretation
    audio_seconds: float
    cpu_seconds: float
    wall_seconds: float
    error: str | None = None


# --- back ends ---------------------------------------------------------------------------------


class Backend:
    """One back end: sessions made once per grammar, ``decode`` per utterance."""

    name = ""
    languages: tuple[str, ...] = ("en-US",)

    def __init__(self) -> None:
        from interpreter.store import GrammarStore

        self.store = GrammarStore()
        self.sessions: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    def make_session(self, grammar: str) -> Any:
        raise NotImplementedError

    def session(self, grammar: str) -> Any:
        if grammar not in self.sessions and grammar not in self.errors:
            try:
                self.sessions[grammar] = self.make_session(grammar)
            except Exception as exc:  # noqa: BLE001 - reported as the grammar's error, per back end
                self.errors[grammar] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return self.sessions.get(grammar)

    def decode(self, grammar: str, path: Path) -> Outcome:
        from decoder.audio import read_wav

        audio = read_wav(path)
        session = self.session(grammar)
        if session is None:
            return Outcome("ERROR", (), None, audio.seconds, 0.0, 0.0, self.errors[grammar])
        cpu, wall = time.process_time(), time.perf_counter()
        status, words, value = self.run(session, grammar, audio)
        return Outcome(status, words, value, audio.seconds, time.process_time() - cpu, time.perf_counter() - wall)

    def run(self, session: Any, grammar: str, audio: Any) -> tuple[str, tuple[str, ...], str | None]:
        recognition = session.decode(audio)
        result = recognition.result
        words = recognition.hypotheses[0][0] if recognition.hypotheses and result.status != "NO_MATCH" else ()
        return result.status, tuple(words), _first_value(result)


def _first_value(result: Any) -> str | None:
    if result.status != "RECOGNIZED" or not result.alternatives or not result.alternatives[0].interpretations:
        return None
    return canonical(result.alternatives[0].interpretations[0].value)


class PocketsphinxBackend(Backend):
    name = "pocketsphinx"

    def __init__(self) -> None:
        super().__init__()
        from decoder.pocketsphinx_backend import PocketsphinxModel

        self.model = PocketsphinxModel()

    def make_session(self, grammar: str) -> Any:
        return self.model.session(self.store.activate([grammar]))


class CtcBackend(Backend):
    name = "ctc"
    languages = ("en-US", "pt-BR")

    def __init__(self) -> None:
        super().__init__()
        from decoder.ctc_backend import CtcModel  # type: ignore[import-not-found,unused-ignore]

        self.model = CtcModel()

    def make_session(self, grammar: str) -> Any:
        return self.model.session(self.store.activate([grammar]))


class JsgfBaseline(Backend):
    """pocketsphinx's own grammar search: the SRGS grammar as JSGF, no rejection; the words it
    returns are interpreted by our interpreter (a text that is not a sentence of the grammar,
    pocketsphinx's fallback when no path reaches the end, is NO_MATCH)."""

    name = BASELINE

    def __init__(self) -> None:
        super().__init__()
        import pocketsphinx

        from decoder.pocketsphinx_backend import PocketsphinxModel

        path = pocketsphinx.get_model_path()
        self.decoder = pocketsphinx.Decoder(lm=None, hmm=os.path.join(path, "en-us", "en-us"),
                                            dict=os.path.join(path, "en-us", "cmudict-en-us.dict"), loglevel="FATAL")
        self.lexicon = PocketsphinxModel()  # the same spellings our back end uses (dictionary, digits, G2P)
        self.count = 0

    def spell(self, word: str) -> str | None:
        """The word as our back end spells it (dictionary, digit words, a hyphenated compound as its
        parts, G2P: ``PocketsphinxModel.pronounce``), added to this decoder's dictionary."""
        found = self.lexicon.pronounce(word)
        phones = self.lexicon.spell_phones(found) if found is not None else None
        if found is None or phones is None:
            return None
        if not self.decoder.lookup_word(found):
            self.decoder.add_word(found, phones, True)
        return found

    def make_session(self, grammar: str) -> Any:
        from srgs.load.loader import load_bundle

        self.count += 1
        name = f"jsgf{self.count}"
        converted = bundle_to_jsgf(load_bundle(grammar), spell=self.spell)
        self.decoder.add_jsgf_string(name, converted.text)
        return name, self.store.activate([grammar]).interpreter()

    def run(self, session: Any, grammar: str, audio: Any) -> tuple[str, tuple[str, ...], str | None]:
        name, interpreter = session
        self.decoder.activate_search(name)
        self.decoder.start_utt()
        self.decoder.process_raw(audio.pcm(), full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        words = tuple(_base(word) for word in (hyp.hypstr.split() if hyp is not None and hyp.hypstr else [])
                      if not word.startswith(("<", "[", "+")))
        if not words:
            return "NO_MATCH", (), None
        result = interpreter.interpret(" ".join(words))
        return result.status, words, _first_value(result)


def _base(word: str) -> str:
    return word[: word.rindex("(")] if word.endswith(")") and "(" in word else word


def backend_class(name: str) -> type[Backend]:
    return {"pocketsphinx": PocketsphinxBackend, "ctc": CtcBackend, "baseline": JsgfBaseline}[name]


def available(name: str) -> str | None:
    """None when the back end can run here, else why not."""
    if name == "ctc":
        try:
            import decoder.ctc_backend  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
        except ImportError as exc:
            return f"decoder.ctc_backend not importable ({exc})"
    return None


# --- running -----------------------------------------------------------------------------------

_WORKER: dict[str, Backend] = {}


def _decode_chunk(job: tuple[str, list[tuple[str, str]]]) -> list[Outcome]:
    """Worker: decode (grammar, wav path) pairs with one back end (loaded once per process)."""
    name, items = job
    with _quiet_stderr():  # pocketsphinx logs to the stderr fd while loading and searching
        if name not in _WORKER:
            _WORKER[name] = backend_class(name)()
        backend = _WORKER[name]
        return [backend.decode(grammar, Path(path)) for grammar, path in items]


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 on /dev/null for the block (restored before any exception is shown)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


CHUNK = 24  # utterances per task: a decoder process that dies loses at most these


def _limit_memory(limit: int) -> None:
    """Worker initializer: this decoder process's address space capped (a runaway back end fails
    alone instead of starving the machine)."""
    if limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def decode_all(name: str, utterances: Sequence[Utterance], paths: Sequence[Path], jobs: int,
               memory_limit: int = 0) -> list[Outcome]:
    """Every utterance decoded by back end ``name`` in ``jobs`` worker processes (each with its own
    model, capped at ``memory_limit`` bytes). Tasks a dying worker took down are retried, each in a
    fresh process; a task that kills its process again is reported as ERROR outcomes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    items = [(u.grammar, str(p)) for u, p in zip(utterances, paths, strict=True)]
    order = sorted(range(len(items)), key=lambda i: items[i][0])  # grammars grouped: few sessions per worker
    chunks = [order[k:k + CHUNK] for k in range(0, len(order), CHUNK)]
    out: dict[int, Outcome] = {}
    context = multiprocessing.get_context("spawn")

    def run(batch: list[list[int]], workers: int) -> list[list[int]]:
        failed: list[list[int]] = []
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_limit_memory,
                                 initargs=(memory_limit,)) as pool:
            futures = [(pool.submit(_decode_chunk, (name, [items[i] for i in chunk])), chunk) for chunk in batch]
            for future, chunk in futures:
                try:
                    outcomes = future.result()
                except (BrokenProcessPool, MemoryError, OSError):
                    failed.append(chunk)
                    continue
                out.update(zip(chunk, outcomes, strict=True))
        return failed

    for chunk in [c for failed in run(chunks, jobs) for c in run([failed], 1)]:
        for i in chunk:
            u = utterances[i]
            seconds = float(len(read_samples(paths[i]))) / (8000 if u.condition == "telephone" else 16000)
            out[i] = Outcome("ERROR", (), None, seconds, 0.0, 0.0,
                             "the decoder process died on this batch of utterances (memory limit or crash)")
    return [out[i] for i in range(len(items))]


# --- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    n: int
    sentence: int
    semantic: int
    rejected: int
    errors: int  # grammar the back end could not take
    audio_seconds: float
    cpu_seconds: float
    wall_seconds: float

    @property
    def rtf_cpu(self) -> float:
        return self.cpu_seconds / self.audio_seconds if self.audio_seconds else 0.0

    @property
    def rtf_wall(self) -> float:
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else 0.0


def correct_sentence(utterance: Utterance, outcome: Outcome) -> bool:
    return utterance.in_grammar and outcome.status != "NO_MATCH" and \
        comparable_words(outcome.words) == comparable_words(utterance.text.split())


def correct_semantic(utterance: Utterance, outcome: Outcome) -> bool:
    if not utterance.in_grammar:
        return outcome.status == "NO_MATCH"
    return outcome.status == "RECOGNIZED" and outcome.value == utterance.expected


def figures(pairs: Iterable[tuple[Utterance, Outcome]]) -> Figures:
    rows = list(pairs)
    return Figures(
        n=len(rows),
        sentence=sum(correct_sentence(u, o) for u, o in rows),
        semantic=sum(correct_semantic(u, o) for u, o in rows if u.in_grammar),
        rejected=sum(o.status == "NO_MATCH" for _, o in rows),
        errors=sum(o.status == "ERROR" for _, o in rows),
        audio_seconds=sum(o.audio_seconds for _, o in rows),
        cpu_seconds=sum(o.cpu_seconds for _, o in rows),
        wall_seconds=sum(o.wall_seconds for _, o in rows),
    )


def _pct(count: int, total: int) -> str:
    return f"{100 * count / total:5.1f}%" if total else "   - "


def report(results: dict[str, list[tuple[Utterance, Outcome]]], sets: Sequence[str],
           skipped: dict[str, str]) -> dict[str, Any]:
    """The figures, the comparison with the baseline and the targets, as a JSON-able dict."""
    out: dict[str, Any] = {"backends": {}, "skipped": skipped, "targets": {}}
    for name, pairs in results.items():
        per_set: dict[str, Any] = {}
        for set_name in sets:
            chosen = [(u, o) for u, o in pairs if u.set == set_name]
            if not chosen:
                continue
            f = figures(chosen)
            per_grammar = {}
            for grammar in dict.fromkeys(u.grammar for u, _ in chosen):
                g = figures((u, o) for u, o in chosen if u.grammar == grammar)
                per_grammar[grammar] = {"n": g.n, "sentence": g.sentence, "semantic": g.semantic, "rejected": g.rejected,
                                        "errors": g.errors, "rtf_cpu": round(g.rtf_cpu, 4)}
            per_set[set_name] = {"n": f.n, "sentence": f.sentence, "semantic": f.semantic, "rejected": f.rejected,
                                 "errors": f.errors, "rtf_cpu": round(f.rtf_cpu, 4), "rtf_wall": round(f.rtf_wall, 4),
                                 "audio_seconds": round(f.audio_seconds, 1), "grammars": per_grammar}
        total = figures(pairs)
        voices: dict[str, Any] = {}
        for voice, speed in sorted({(u.voice, u.speed) for u, _ in pairs if u.in_grammar}):
            v = figures((u, o) for u, o in pairs if u.in_grammar and u.voice == voice and u.speed == speed)
            voices[f"{voice} {speed}"] = {"n": v.n, "semantic": v.semantic, "rejected": v.rejected}
        out["backends"][name] = {"sets": per_set, "voices": voices, "rtf_cpu": round(total.rtf_cpu, 4),
                                 "rtf_wall": round(total.rtf_wall, 4),
                                 "grammar_errors": _grammar_errors(pairs),
                                 "losses": _losses(pairs)}
    base = out["backends"].get(BASELINE)
    for name, data in out["backends"].items():
        if name == BASELINE:
            continue
        checks: list[dict[str, Any]] = []
        for set_name, row in data["sets"].items():
            if set_name in OOG_SETS:
                if set_name not in REJECTION_TARGET_SETS:
                    continue
                rate = row["rejected"] / row["n"]
                checks.append({"target": f"rejection >= 90% on {set_name}", "value": round(rate, 4),
                               "met": rate >= TARGET_REJECTION})
            else:
                accuracy = row["semantic"] / row["n"]
                base_row = base["sets"].get(set_name) if base else None
                if base_row is None:
                    checks.append({"target": f"semantic >= baseline on {set_name}", "value": round(accuracy, 4),
                                   "met": None, "note": "no baseline on this set"})
                else:
                    base_accuracy = base_row["semantic"] / base_row["n"]
                    row["ratio_to_baseline"] = round(accuracy / base_accuracy, 3) if base_accuracy else None
                    checks.append({"target": f"semantic >= baseline on {set_name}", "value": round(accuracy, 4),
                                   "baseline": round(base_accuracy, 4), "met": accuracy >= base_accuracy})
        checks.append({"target": "RTF <= 0.1 (CPU, one core)", "value": data["rtf_cpu"], "met": data["rtf_cpu"] <= TARGET_RTF})
        out["targets"][name] = checks
    return out


def _grammar_errors(pairs: Sequence[tuple[Utterance, Outcome]]) -> dict[str, str]:
    return {u.grammar: o.error for u, o in pairs if o.status == "ERROR" and o.error}


def _losses(pairs: Sequence[tuple[Utterance, Outcome]]) -> list[dict[str, Any]]:
    """Every utterance the back end got wrong (semantics, or an out-of-grammar one accepted)."""
    lost = []
    for u, o in pairs:
        if correct_semantic(u, o) or o.status == "ERROR":
            continue
        kind = "accepted" if not u.in_grammar else "rejected" if o.status == "NO_MATCH" else "wrong"
        lost.append({"set": u.set, "grammar": u.grammar, "kind": kind, "text": u.text, "heard": " ".join(o.words),
                     "expected": u.expected, "got": o.value, "voice": u.voice, "speed": u.speed})
    return lost


def print_report(data: dict[str, Any], plan_name: str, seconds: float, examples: int) -> None:
    print(f"accuracy benchmark ({plan_name}), {seconds:.0f} s")
    for name, why in data["skipped"].items():
        print(f"  back end {name} skipped: {why}")
    header = (f"{'set':<10} {'n':>5} {'sentence':>9} {'semantic':>9} {'rejected':>9} {'no gram':>7} {'RTF cpu':>8}"
              f" {'RTF wall':>8} {'sem/base':>8}")
    for name, backend in data["backends"].items():
        print(f"\n== {name} ==")
        print(header)
        for set_name, row in backend["sets"].items():
            n = row["n"]
            in_grammar = set_name not in OOG_SETS
            ratio = row.get("ratio_to_baseline")
            print(f"{set_name:<10} {n:>5} {_pct(row['sentence'], n) if in_grammar else '    -':>9} "
                  f"{_pct(row['semantic'], n) if in_grammar else '    -':>9} {_pct(row['rejected'], n):>9} "
                  f"{row['errors']:>7} {row['rtf_cpu']:>8.3f} {row['rtf_wall']:>8.3f} "
                  f"{'' if ratio is None else f'{ratio:.2f}':>8}")
        print(f"{'all':<10} {'':>5} {'':>9} {'':>9} {'':>9} {'':>7} {backend['rtf_cpu']:>8.3f} {backend['rtf_wall']:>8.3f}")
        for grammar, error in backend["grammar_errors"].items():
            print(f"  cannot decode {grammar}: {error}")
    print("\nsemantic accuracy per grammar (in-grammar sets; oog: rejected)")
    grammars: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for name, backend in data["backends"].items():
        for set_name, row in backend["sets"].items():
            for grammar, g in row["grammars"].items():
                count = g["rejected"] if set_name in OOG_SETS else g["semantic"]
                grammars[(set_name, grammar)][name] = f"{count}/{g['n']}" + (" ERR" if g["errors"] else "")
    names = list(data["backends"])
    print(f"{'set':<10} {'grammar':<36} " + " ".join(f"{n:>14}" for n in names))
    for (set_name, grammar), cells in grammars.items():
        print(f"{set_name:<10} {grammar:<36} " + " ".join(f"{cells.get(n, '-'):>14}" for n in names))
    print("\nin-grammar utterances per voice and speed (all in-grammar sets): semantic / rejected")
    combos = list(dict.fromkeys(combo for backend in data["backends"].values() for combo in backend["voices"]))
    print(f"{'voice':<16} " + " ".join(f"{n:>22}" for n in names))
    for combo in combos:
        row_cells: list[str] = []
        for name in names:
            v = data["backends"][name]["voices"].get(combo)
            row_cells.append(f"{_pct(v['semantic'], v['n'])} / {_pct(v['rejected'], v['n'])}" if v else "-")
        print(f"{combo:<16} " + " ".join(f"{cell:>22}" for cell in row_cells))
    print("\ntargets")
    for name, checks in data["targets"].items():
        for check in checks:
            met = {True: "MET", False: "NOT MET", None: "n/a"}[check["met"]]
            base = f" (baseline {check['baseline']:.3f})" if "baseline" in check else ""
            note = f" ({check['note']})" if "note" in check else ""
            print(f"  {name:<13} {check['target']:<36} {check['value']:.3f}{base}{note}: {met}")
    if examples:
        print(f"\nlosses (first {examples} per back end, set and kind)")
        for name, backend in data["backends"].items():
            groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for loss in backend["losses"]:
                groups[(loss["set"], loss["kind"])].append(loss)
            for (set_name, kind), losses in groups.items():
                print(f"  {name} {set_name} {kind}: {len(losses)}")
                for loss in losses[:examples]:
                    print(f"    [{loss['grammar'].split(':', 1)[1]}] said {loss['text']!r} ({loss['voice']} "
                          f"{loss['speed']}), heard {loss['heard']!r} -> {loss['got']} (expected {loss['expected']})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small subset (a few utterances per grammar and set)")
    parser.add_argument("--sets", default=",".join(ALL_SETS), help=f"comma-separated, of {', '.join(ALL_SETS)}")
    parser.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated, of {', '.join(BACKENDS)}")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the synthesised audio, kept between runs (default: a folder in the temp dir)")
    parser.add_argument("--jobs", type=int, default=1, help="decoder processes per back end (default 1)")
    parser.add_argument("--memory-limit", type=int, default=4096, metavar="MB",
                        help="address-space limit of each decoder process in MB (default 4096; 0: none)")
    parser.add_argument("--examples", type=int, default=3, help="lost utterances shown per back end, set and kind")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--save", type=Path, default=None, metavar="FILE", help="also write the JSON output to FILE")
    args = parser.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    backends = [b for b in args.backends.split(",") if b]
    for value, known, what in ((sets, ALL_SETS, "set"), (backends, BACKENDS, "back end")):
        unknown = [v for v in value if v not in known]
        if unknown:
            parser.error(f"unknown {what}(s): {', '.join(unknown)} (known: {', '.join(known)})")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"bench_accuracy: {tool} is not installed (the benchmark synthesises its speech with it)", file=sys.stderr)
            return 1
    began = time.perf_counter()
    from interpreter.store import GrammarStore

    plan = QUICK if args.quick else FULL
    utterances = build_utterances(GrammarStore(), plan, sets)
    work = args.work or Path(tempfile.gettempdir()) / "srgs-bench-accuracy"
    def make(u: Utterance, condition: str) -> Path:
        return speech_file(work / u.language, u.text, voice=u.voice, speed=u.speed, condition=condition, snr_db=SNR_DB)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:  # clean speech first: the copies read it
        list(pool.map(lambda u: make(u, "clean"), utterances))
        paths = list(pool.map(lambda u: make(u, u.condition), utterances))
    skipped: dict[str, str] = {}
    results: dict[str, list[tuple[Utterance, Outcome]]] = {}
    for name in backends:
        why = available(name)
        if why is not None:
            skipped[name] = why
            continue
        cls = backend_class(name)
        chosen = [i for i, u in enumerate(utterances) if u.language in cls.languages]
        outcomes = decode_all(name, [utterances[i] for i in chosen], [paths[i] for i in chosen], args.jobs,
                              args.memory_limit * 1024 * 1024)
        results[name] = [(utterances[i], o) for i, o in zip(chosen, outcomes, strict=True)]
        if len(chosen) < len(utterances):
            missing = sorted({u.language for u in utterances if u.language not in cls.languages})
            skipped[f"{name} on {', '.join(missing)}"] = "no acoustic model for that language"
    data = report(results, sets, skipped)
    elapsed = time.perf_counter() - began
    data["plan"] = asdict(plan)
    data["seconds"] = round(elapsed, 1)
    if args.save is not None:
        args.save.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False))
    else:
        print_report(data, "quick" if args.quick else "full", elapsed, args.examples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
