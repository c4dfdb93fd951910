"""``srgs lm build`` and ``srgs lm score``: n-gram language models for free speech (issue 10).

``srgs lm build CORPUS.txt -o LM.arpa [--order N]`` estimates an interpolated modified Kneser-Ney
model (``decoder.lm``) from one sentence per line (``-`` reads stdin) and writes it as ARPA, which
pocketsphinx free speech and KenLM both read; ``srgs generate GRAMMAR -n 500 | srgs lm build - -o
G.arpa`` gives a grammar-shaped statistical model for open prompts. ``srgs lm score LM [TEXT...]``
prints each sentence's log10 probability and the perplexity.

``recognize_free_speech(args)`` is ``srgs recognize`` with a language model instead of grammars
(``builtin:slm/general`` or ``--lm LM.arpa``): same JSON as ``srgs recognize`` (the ``srgs
interpret`` result plus ``words``), the alternatives' ``lm`` being the model's location.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import IO

from srgs.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_STATUS_HELP,
    add_config_arguments,
    error,
    int_range,
    json_line,
    write_line,
)

DEFAULT_ORDER = 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lm = subparsers.add_parser(
        "lm", help="build and score n-gram language models for free speech",
        description="N-gram language models (ARPA) for free-speech recognition: 'srgs lm build' estimates one "
                    "from sentences (interpolated modified Kneser-Ney), 'srgs lm score' gives perplexities.",
        epilog=EXIT_STATUS_HELP)
    commands = lm.add_subparsers(dest="lm_command", metavar="SUBCOMMAND")
    build = commands.add_parser(
        "build", help="estimate an n-gram model from a corpus, one sentence per line",
        description="Estimate an interpolated modified Kneser-Ney n-gram model from CORPUS (one sentence a line, "
                    "words split on white space, '-' for stdin) and write it as ARPA to OUT (written under a "
                    "temporary name and renamed, never half a file). For example: srgs generate GRAMMAR -n 500 "
                    "| srgs lm build - -o grammar.arpa",
        epilog=EXIT_STATUS_HELP)
    build.add_argument("corpus", metavar="CORPUS.txt", help="one sentence per line; - reads standard input")
    build.add_argument("-o", "--output", required=True, metavar="LM.arpa", help="the ARPA file to write (- for stdout)")
    build.add_argument("--order", type=int_range(2, 6), default=DEFAULT_ORDER, metavar="N",
                       help=f"n-gram order, 2 to 6 (default {DEFAULT_ORDER})")
    build.add_argument("--format", choices=("text", "json"), default="text",
                       help="text: a summary line on stderr; json: the summary as one JSON object on stdout")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    build.set_defaults(run=run_build)
    score = commands.add_parser(
        "score", help="log10 probability of sentences and their perplexity under a model",
        description="Score sentences with LM (an ARPA or KenLM binary file, or builtin:slm/general) through "
                    "KenLM: each sentence's log10 probability (with <s> and </s>) and the perplexity of all.",
        epilog=EXIT_STATUS_HELP)
    score.add_argument("model", metavar="LM", help="ARPA or KenLM binary file, or builtin:slm/general")
    score.add_argument("text", nargs="*", metavar="TEXT", help="sentences (default: one per line from stdin)")
    score.add_argument("--file", metavar="FILE", help="read the sentences from FILE, one per line")
    score.add_argument("--format", choices=("text", "json"), default="text",
                       help="text: one line per sentence and the perplexity; json: one JSON object")
    score.set_defaults(run=run_score)
    for command in (build, score):
        add_config_arguments(command, default=argparse.SUPPRESS)
    lm.set_defaults(run=_lm_help(lm))


def _lm_help(parser: argparse.ArgumentParser) -> object:
    def run(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return run


def _lines(handle: IO[str]) -> Iterator[str]:
    for line in handle:
        yield line.rstrip("\r\n")


def _open_text(path: str, command: str) -> IO[str]:
    if path == "-":
        return open(sys.stdin.fileno(), encoding="utf-8", errors="strict", closefd=False)
    return open(path, encoding="utf-8", errors="strict")


def run_build(args: argparse.Namespace) -> int:
    from decoder.lm import estimate, write_atomic

    source = "<stdin>" if args.corpus == "-" else args.corpus
    began = time.perf_counter()

    def progress(count: int) -> None:
        if not args.quiet:
            print(f"srgs lm build: {count} sentences read", file=sys.stderr, flush=True)

    try:
        with _open_text(args.corpus, "build") as handle:
            model = estimate(_lines(handle), args.order, progress=progress, source=source)
    except UnicodeDecodeError as exc:
        error("lm build", f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        return EXIT_ERROR
    if args.output == "-":
        model.write(sys.stdout)
        sys.stdout.flush()
    else:
        write_atomic(args.output, model.write)
    summary = {
        "output": args.output, "order": model.order, "sentences": model.sentences, "words": model.tokens,
        "vocabulary": len(model.entries[0]), "ngrams": model.counts(),
        "discounts": [[round(d, 4) for d in order] for order in model.discounts],
        "fallback_discounts": list(model.fallback_orders), "seconds": round(time.perf_counter() - began, 3),
    }
    if args.format == "json" and args.output != "-":
        write_line(json_line(summary))
    elif not args.quiet:
        counts = " ".join(f"{n}={count}" for n, count in enumerate(model.counts(), 1))
        note = (f"; too little data for estimated discounts at order(s) {', '.join(map(str, model.fallback_orders))}:"
                " fallback discounts 0.5 1 1.5" if model.fallback_orders else "")
        print(f"srgs lm build: wrote {args.output}: order {model.order}, {model.sentences} sentences, "
              f"{model.tokens} words, n-grams {counts}{note}", file=sys.stderr)
    return EXIT_OK


def run_score(args: argparse.Namespace) -> int:
    from decoder.lm import LanguageModel

    if args.text and args.file:
        error("lm score", "give sentences as arguments or --file, not both")
        return 2
    if args.text:
        sentences = list(args.text)
    else:
        try:
            with _open_text(args.file or "-", "score") as handle:
                sentences = list(_lines(handle))
        except UnicodeDecodeError as exc:
            error("lm score", f"{args.file or '<stdin>'}: not UTF-8 text ({exc.reason} at byte {exc.start})")
            return EXIT_ERROR
    sentences = [s for s in sentences if s.split()]
    if not sentences:
        error("lm score", "no sentence to score")
        return EXIT_ERROR
    model = LanguageModel(args.model)
    scores = [model.score(sentence) for sentence in sentences]
    perplexity = model.perplexity(sentences)
    oov = sorted({word for sentence in sentences for word in sentence.split() if not model.contains(word)})
    if args.format == "json":
        scored = [{"text": s, "log10_prob": round(p, 4)} for s, p in zip(sentences, scores, strict=True)]
        write_line(json_line({"model": args.model, "order": model.order, "perplexity": round(perplexity, 4),
                              "sentences": scored, "oov": oov}))
    else:
        for sentence, value in zip(sentences, scores, strict=True):
            write_line(f"{value:.4f}\t{sentence}")
        write_line(f"perplexity {perplexity:.4f} ({len(sentences)} sentences, {len(oov)} unknown words)")
    return EXIT_OK


# --- free speech for srgs recognize ---------------------------------------------------------------


def add_free_speech_arguments(parser: argparse.ArgumentParser) -> None:
    """``--lm LM``: what ``srgs recognize`` needs to take a language model instead of grammars."""
    parser.add_argument("--lm", metavar="LM", default=None,
                        help="free speech: recognise with this n-gram model instead of grammars: ARPA ('srgs lm "
                             "build' writes one), a pocketsphinx binary, with --backend ctc also a KenLM binary "
                             "(build_binary), or builtin:slm/general")


def free_speech_requested(args: argparse.Namespace) -> str | None:
    """The language model ``srgs recognize`` was asked for: ``--lm LM``, or a single location
    before the audio that names one (``builtin:slm/general``, ``*.arpa``, ``*.lm.bin``); else None."""
    from decoder.free_speech import is_free_speech_location

    chosen = getattr(args, "lm", None)
    if chosen:
        return str(chosen)
    grammars = list(getattr(args, "grammars", None) or [])
    if len(grammars) == 1 and is_free_speech_location(grammars[0]):
        return str(grammars[0])
    return None


def recognize_free_speech(args: argparse.Namespace, location: str | None = None) -> int:
    """``srgs recognize`` with a language model: decode ``args.audio`` (a WAV file) with the model
    ``location`` (default: ``free_speech_requested(args)``), print the JSON result (``srgs
    interpret``'s, plus ``words``). Uses ``args.nbest`` (None: 1)."""
    from decoder.audio import read_wav
    from decoder.base import DecoderSession
    from decoder.free_speech import free_speech_session
    from decoder.pocketsphinx_backend import PocketsphinxModel
    from interpreter.formats import to_json_dict
    from srgs.load.policy import AccessPolicy

    location = location or free_speech_requested(args)
    if location is None:
        error("recognize", "no language model: give --lm LM or builtin:slm/general")
        return 2
    if getattr(args, "lm", None) and getattr(args, "grammars", None):
        error("recognize", "give grammars or --lm, not both")
        return 2
    config = getattr(args, "config", None)
    settings = config.decoder if config is not None else None
    backend = getattr(args, "backend", None) or (settings.backend if settings is not None else None)
    if backend not in (None, "pocketsphinx", "ctc"):
        error("recognize", f"free speech runs on the pocketsphinx or ctc back end, not {backend}")
        return 2
    audio = read_wav(args.audio)
    threshold = getattr(args, "rejection_threshold", None)
    if threshold is None and settings is not None:
        threshold = settings.free_speech_rejection_threshold
    session: DecoderSession
    if backend == "ctc":
        from decoder.ctc_backend import CtcModel
        from decoder.ctc_free_speech import ctc_free_speech_session

        session = ctc_free_speech_session(CtcModel(), location, nbest=getattr(args, "nbest", None),
                                          policy=AccessPolicy.local(), rejection_threshold=threshold)
    else:
        session = free_speech_session(PocketsphinxModel(), location, nbest=getattr(args, "nbest", None),
                                      policy=AccessPolicy.local(), rejection_threshold=threshold)
    try:
        recognition = session.decode(audio)
    finally:
        session.close()
    output = to_json_dict(recognition.result)
    output["words"] = [word.to_json_dict() for word in recognition.words]
    write_line(json_line(output))
    return EXIT_OK


__all__ = ["add_free_speech_arguments", "free_speech_requested", "recognize_free_speech", "register"]
