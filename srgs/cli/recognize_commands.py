"""``srgs recognize``: decode a WAV file under SRGS grammars and interpret the result.

The back end (``--backend``, default the configuration's ``decoder.backend``): pocketsphinx
(``decoder.pocketsphinx_backend``, en-US) or CTC (``decoder.ctc_backend``: hama's phoneme model,
en-US and pt-BR lexicons, the grammar's language picks one) searches only the sentences of the
grammars; the n-best go through the interpreter, and the JSON result is that of ``srgs
interpret`` plus ``words``: the best path's words with start/end times in seconds.

Exit status as in every ``srgs`` command (``srgs.cli``): 0 it ran (RECOGNIZED or NO_MATCH),
1 bad grammar, audio or dictionary problem, 2 usage error, 3 FAILURE (a tag failed).
"""

from __future__ import annotations

import argparse
from typing import Any

from srgs.cli import EXIT_FAILURE, EXIT_OK, EXIT_STATUS_HELP, EXIT_USAGE, error, write_line
from srgs.cli.interpret_commands import HELP_MAX_NBEST, nbest_type
from srgs.cli.lm_commands import add_free_speech_arguments, free_speech_requested, recognize_free_speech


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recognize = subparsers.add_parser(
        "recognize",
        help="recognize speech in a WAV file under SRGS grammars (pocketsphinx or CTC) and interpret it",
        description="Decode AUDIO (16-bit PCM mono WAV, 8 or 16 kHz) constrained to the grammars' sentences, "
        "then interpret the n-best. pocketsphinx: en-US. ctc (hama's phoneme model): en-US and pt-BR grammars, "
        "the lexicon chosen by each grammar's language. A grammar word with no pronunciation is an error naming "
        "it.",
        epilog=EXIT_STATUS_HELP,
    )
    recognize.add_argument("grammars", nargs="*", metavar="GRAMMAR",
                           help="grammar location(s) active together; or one language model (builtin:slm/general, "
                           "LM.arpa) for free speech")
    recognize.add_argument("audio", metavar="AUDIO.wav", help="the audio to recognize")
    recognize.add_argument("--nbest", type=nbest_type, default=None, metavar="N",
                           help=f"at most N alternatives, 1 to {HELP_MAX_NBEST} (default 1)")
    recognize.add_argument("--backend", choices=("pocketsphinx", "ctc"), default=None,
                           help="the decoder (default: the configuration's decoder.backend, pocketsphinx)")
    recognize.add_argument("--rejection-threshold", type=_fraction, default=None, metavar="T",
                           help="0-1: under this rejection score the result is NO_MATCH (0 accepts everything; "
                           "default: decoder.rejection_threshold, else the back end's calibrated one: pocketsphinx "
                           "0.70, the share of its phone loop's speech frames inside grammar words; ctc en-US 0.25, "
                           "pt-BR 0.47, exp of the per-speech-frame log-probability loss against the unconstrained "
                           "best path, or for pt-BR a loop of the lexicon's words). Free speech: the utterance "
                           "confidence / 100 (default: decoder.free_speech_rejection_threshold, else pocketsphinx 0.39 "
                           "for builtin:slm/general, 0.47 for your own model; ctc 0.57 and 0.76)")
    recognize.add_argument("--hint", action="append", type=_hint, default=[], metavar="WORD[:BOOST]",
                           help="boost a grammar word (repeatable; the WebSocket API's hints.words): BOOST b "
                           "multiplies the grammar probability of the word wherever the grammars allow it by e^b "
                           "(negative: less likely; clamped to -10..10; 5 when not given). A word no grammar has is "
                           "ignored, with a note on stderr. Grammars only, not free speech")
    add_free_speech_arguments(recognize)
    recognize.add_argument("--format", choices=("json",), default="json",
                           help="json: the srgs interpret result plus 'words' with times")
    recognize.set_defaults(run=run_recognize)


def _fraction(text: str) -> float:
    """argparse type of --rejection-threshold: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _hint(text: str) -> tuple[str, float]:
    """argparse type of --hint: ``WORD`` or ``WORD:BOOST`` (a number)."""
    from server.parameters import word_boosts

    try:
        found = word_boosts(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not WORD or WORD:BOOST (a number): {text!r}") from None
    if len(found) != 1:
        raise argparse.ArgumentTypeError(f"one WORD[:BOOST] per --hint, got {text!r}")
    return next(iter(found.items()))


def run_recognize(args: argparse.Namespace) -> int:
    from decoder.audio import read_wav
    from interpreter.formats import json_line, to_json_dict
    from interpreter.store import GrammarStore

    if free_speech_requested(args) is not None:
        if args.hint:
            error("recognize", "--hint boosts grammar words: free speech (--lm) takes none")
            return EXIT_USAGE
        return recognize_free_speech(args)
    if not args.grammars:
        error("recognize", "give at least one grammar, or --lm LM (or builtin:slm/general) for free speech")
        return EXIT_USAGE
    audio = read_wav(args.audio)
    store = GrammarStore(args.config)
    activation = store.activate(list(args.grammars), nbest=args.nbest)
    settings = args.config.decoder
    backend = args.backend or settings.backend
    threshold = args.rejection_threshold if args.rejection_threshold is not None else settings.rejection_threshold
    options: dict[str, Any] = {} if threshold is None else {"rejection_threshold": threshold}
    if args.hint:
        options["word_boosts"] = dict(args.hint)  # a word given twice: its last boost
    if backend == "ctc":
        from decoder.ctc_backend import CtcModel

        with CtcModel().session(activation, **options) as ctc_session:
            recognition = ctc_session.decode(audio)
            ignored = ctc_session.boosts.ignored
    else:
        from decoder.pocketsphinx_backend import PocketsphinxModel

        with PocketsphinxModel().session(activation, **options) as session:
            recognition = session.decode(audio)
            ignored = session.boosts.ignored
    if ignored:
        error("recognize", f"note: --hint word(s) in no active grammar, ignored: {', '.join(ignored)}")
    output = to_json_dict(recognition.result)
    output["words"] = [word.to_json_dict() for word in recognition.words]
    write_line(json_line(output))
    if recognition.result.status == "FAILURE":
        error("recognize", f"FAILURE: {recognition.result.error}")
        return EXIT_FAILURE
    return EXIT_OK
