"""Free speech on the CTC back end: word error rate and real-time factor of
``decoder.ctc_free_speech`` against pocketsphinx's free speech (``decoder.free_speech``) with the
same grammar-shaped ARPA model (``srgs generate`` samples of builtin:examples/pizza, order 3).

Synthesises with espeak-ng (voices en-us and en-us+f3) the 12 pizza orders of
``bench_free_speech.py`` (in the grammar, written there, not taken from the samples) at 150 words
per minute (the tuning set of ``--sweep``) and at 175 (held out), and decodes each with both
sessions; the pizza grammar's own CTC search (``CtcModel.session``) is the reference line. Prints
per session and set: word error rate, sentence accuracy, mean and 90th percentile real-time factor
(wall clock, emissions included). The pizza model runs on both CTC searches: the static back-off
automaton (the default for it) and the dynamic lexicon-tree search (``decoder.ctc_lexicon_search``).
``--sweep``: WER over a grid of LM weights and word bonuses (the emissions computed once), to choose
``DEFAULT_LM_WEIGHT`` / ``DEFAULT_WORD_BONUS``.

``--general``: builtin:slm/general instead (the dynamic search), on the same audio as
``bench_free_speech.py``'s everyday sentences (``GENERAL_SENTENCES``, en-us and en-us+f3 at 150
wpm: held out) and on ``TUNING_SENTENCES`` (other everyday sentences, same voices, 165 wpm: the
set ``--general --sweep`` chooses ``DYNAMIC_LM_WEIGHT`` / ``DYNAMIC_WORD_BONUS`` on), against
pocketsphinx's free speech with the same model; prints the session's load time and memory (resident
set growth) and per set WER, sentence accuracy, CPU time over audio time with and without the
acoustic model's emissions.

    python benchmarks/bench_ctc_free_speech.py [--samples 500] [--sweep]
    python benchmarks/bench_ctc_free_speech.py --general [--sweep]

Needs espeak-ng and sox (as the decoder tests do).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_free_speech import GENERAL_SENTENCES, PIZZA, PIZZA_SENTENCES, word_errors  # noqa: E402
from decoder.audio import read_wav  # noqa: E402
from decoder.ctc_backend import CtcModel  # noqa: E402
from decoder.ctc_free_speech import (  # noqa: E402
    DEFAULT_LM_WEIGHT,
    DEFAULT_WORD_BONUS,
    CtcFreeSpeechSession,
    ctc_free_speech_session,
)
from decoder.free_speech import free_speech_session  # noqa: E402
from decoder.lm import GENERAL, estimate  # noqa: E402
from decoder.pocketsphinx_backend import PocketsphinxModel  # noqa: E402
from interpreter.store import GrammarStore  # noqa: E402
from srgs.load.policy import AccessPolicy  # noqa: E402
from tests.decoder.speech import synthesise  # noqa: E402

VOICES = ("en-us", "en-us+f3")
SPEEDS = {"tune-150": 150, "held-175": 175}
LM_WEIGHTS = (0.3, 0.5, 0.8, 1.0, 1.5)
WORD_BONUSES = (0.0, 0.5, 1.0, 2.0)
TUNING_SENTENCES = [
    "i will be there in ten minutes", "can you help me with this", "the meeting starts at noon",
    "my phone is not working", "we should go home now", "do you have any water", "it is very cold outside",
    "please open the door", "i like to read books", "where did you put my keys",
]
GENERAL_SPEEDS = {"tune-165": (TUNING_SENTENCES, 165), "held-150": (GENERAL_SENTENCES, 150)}
GENERAL_WEIGHTS = (0.5, 0.8, 1.0, 1.2)
GENERAL_BONUSES = (-1.0, 0.0, 1.0)


def resident_mb() -> float:
    """This process's resident set (Linux /proc), in MB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 1e6


def general(sweep: bool) -> int:
    """builtin:slm/general: CTC's dynamic search against pocketsphinx, same audio."""
    local = AccessPolicy.local()
    ctc = CtcModel()
    sphinx = PocketsphinxModel()
    with tempfile.TemporaryDirectory(prefix="srgs-bench-ctc-general-") as name:
        folder = Path(name)
        audio = {(text, voice, set_name): read_wav(synthesise(text, folder, voice=voice, speed=speed))
                 for set_name, (texts, speed) in GENERAL_SPEEDS.items() for text in texts for voice in VOICES}
        ctc.log_probs(next(iter(audio.values())))  # the acoustic model's first run is not the search's
        before = resident_mb()
        began, cpu = time.perf_counter(), time.process_time()
        ctc_session = CtcFreeSpeechSession(ctc, GENERAL, policy=local)
        assert ctc_session._dynamic is not None
        print(f"CTC session on {GENERAL}: {time.perf_counter() - began:.1f} s to make ({time.process_time() - cpu:.1f} s "
              f"CPU: KenLM loads the ARPA, the tree of {len(ctc_session._dynamic.words)} words), resident set "
              f"+{resident_mb() - before:.0f} MB; {len(ctc_session.unpronounceable)} words without a pronunciation; "
              f"lm_weight {ctc_session.lm_weight}, word_bonus {ctc_session.word_bonus}")
        began = time.perf_counter()
        again = CtcFreeSpeechSession(ctc, GENERAL, policy=local)
        print(f"a second session: {(time.perf_counter() - began) * 1000:.0f} ms (shared search)")
        again.close()
        sessions = {"ctc general": ctc_session, "sphinx general": free_speech_session(sphinx, GENERAL, policy=local)}
        print(f"{len(audio)} utterances, {sum(a.seconds for a in audio.values()):.0f} s of audio\n")
        print(f"{'session':<16} {'set':<10} {'WER':>7} {'sentences':>10} {'CPU RTF':>8} {'search':>8}")
        emissions = {}
        for label, session in sessions.items():
            for set_name in GENERAL_SPEEDS:
                errors = words = correct = 0
                cpu = search_cpu = seconds = 0.0
                for key, clip in audio.items():
                    text, _, name = key
                    if name != set_name:
                        continue
                    began = time.process_time()
                    if label == "ctc general":
                        emissions[key] = ctc.log_probs(clip)
                        middle = time.process_time()
                        recognition = ctc_session.decode_log_probs(emissions[key], audio_seconds=clip.seconds)
                        search_cpu += time.process_time() - middle
                    else:
                        recognition = session.decode(clip)
                    cpu += time.process_time() - began
                    seconds += clip.seconds
                    result = recognition.result
                    hypothesis = result.alternatives[0].text.split() if result.status == "RECOGNIZED" else []
                    errors += word_errors(text.split(), hypothesis)
                    words += len(text.split())
                    correct += hypothesis == text.split()
                count = sum(1 for key in audio if key[2] == set_name)
                shown = f"{search_cpu / seconds:>8.3f}" if search_cpu else f"{'':>8}"
                print(f"{label:<16} {set_name:<10} {errors / words:>6.1%} {correct:>4}/{count:<5} {cpu / seconds:>8.3f} "
                      f"{shown}")
        if sweep:
            print("\nCTC general WER by (lm_weight, word_bonus): " + " / ".join(GENERAL_SPEEDS))
            for weight in GENERAL_WEIGHTS:
                cells = []
                for bonus in GENERAL_BONUSES:
                    trial = CtcFreeSpeechSession(ctc, GENERAL, policy=local, lm_weight=weight, word_bonus=bonus)
                    totals = {name: [0, 0] for name in GENERAL_SPEEDS}
                    for (text, _, name), log_probs in emissions.items():
                        result = trial.decode_log_probs(log_probs, audio_seconds=1.0).result
                        hypothesis = result.alternatives[0].text.split() if result.status == "RECOGNIZED" else []
                        totals[name][0] += word_errors(text.split(), hypothesis)
                        totals[name][1] += len(text.split())
                    cells.append(f"b={bonus}: " + "/".join(f"{e / w:.1%}" for e, w in totals.values()))
                print(f"  w={weight}: " + "  ".join(cells))
        for session in sessions.values():
            session.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500, help="srgs generate samples for the pizza model")
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--sweep", action="store_true", help="WER over a grid of LM weights and word bonuses")
    parser.add_argument("--general", action="store_true", help="builtin:slm/general (the dynamic search)")
    args = parser.parse_args()
    if args.general:
        return general(args.sweep)
    store = GrammarStore()
    ctc = CtcModel()
    sphinx = PocketsphinxModel()
    with tempfile.TemporaryDirectory(prefix="srgs-bench-ctc-free-speech-") as name:
        folder = Path(name)
        corpus = subprocess.run([sys.executable, "-m", "srgs.cli", "generate", PIZZA, "-n", str(args.samples),
                                 "--seed", "11"], check=True, capture_output=True, text=True, cwd=ROOT).stdout
        sentences = corpus.splitlines()
        arpa = estimate(sentences, args.order)
        path = folder / "pizza.arpa"
        path.write_text(arpa.to_arpa(), encoding="utf-8")
        held_in = sum(1 for text in PIZZA_SENTENCES if text in set(sentences))
        print(f"pizza model: {args.samples} samples, order {args.order}, n-grams {arpa.counts()}; "
              f"{held_in}/{len(PIZZA_SENTENCES)} test sentences occur among the samples")
        local = AccessPolicy.local()
        began = time.perf_counter()
        ctc_session = ctc_free_speech_session(ctc, str(path), policy=local)
        assert isinstance(ctc_session, CtcFreeSpeechSession)
        print(f"CTC session: {(time.perf_counter() - began) * 1000:.0f} ms to make (lexicon, automaton, graph of "
              f"{ctc_session._shared.graph.num_emitting} states; lm_weight {DEFAULT_LM_WEIGHT}, "
              f"word_bonus {DEFAULT_WORD_BONUS})")
        sessions = {
            "ctc free speech": ctc_session,
            "ctc dynamic": CtcFreeSpeechSession(ctc, str(path), policy=local, search="dynamic"),
            "sphinx free sp.": free_speech_session(sphinx, str(path), policy=local),
            "ctc grammar": ctc.session(store.activate([PIZZA])),
        }
        audio = {(text, voice, set_name): read_wav(synthesise(text, folder, voice=voice, speed=speed))
                 for set_name, speed in SPEEDS.items() for text in PIZZA_SENTENCES for voice in VOICES}
        print(f"{len(audio)} utterances, {sum(a.seconds for a in audio.values()):.0f} s of audio\n")
        print(f"{'session':<16} {'set':<10} {'WER':>7} {'sentences':>10} {'RTF mean':>9} {'RTF p90':>8}")
        for label, session in sessions.items():
            for set_name in SPEEDS:
                errors = words = correct = 0
                rtfs: list[float] = []
                for (text, _, name), clip in audio.items():
                    if name != set_name:
                        continue
                    recognition = session.decode(clip)
                    result = recognition.result
                    hypothesis = result.alternatives[0].text.split() if result.status == "RECOGNIZED" else []
                    errors += word_errors(text.split(), hypothesis)
                    words += len(text.split())
                    correct += hypothesis == text.split()
                    rtfs.append(recognition.real_time_factor)
                p90 = statistics.quantiles(rtfs, n=10)[-1]
                print(f"{label:<16} {set_name:<10} {errors / words:>6.1%} {correct:>4}/{len(rtfs):<5} "
                      f"{statistics.fmean(rtfs):>9.3f} {p90:>8.3f}")
        if args.sweep:
            emissions = {key: ctc.log_probs(clip) for key, clip in audio.items()}
            print("\nCTC free speech WER by (lm_weight, word_bonus): tune-150 / held-175")
            for weight in LM_WEIGHTS:
                cells = []
                for bonus in WORD_BONUSES:
                    trial = CtcFreeSpeechSession(ctc, str(path), policy=local, lm_weight=weight, word_bonus=bonus)
                    totals = {name: [0, 0] for name in SPEEDS}
                    for (text, _, name), log_probs in emissions.items():
                        result = trial.decode_log_probs(log_probs, audio_seconds=1.0).result
                        hypothesis = result.alternatives[0].text.split() if result.status == "RECOGNIZED" else []
                        totals[name][0] += word_errors(text.split(), hypothesis)
                        totals[name][1] += len(text.split())
                    cells.append(f"b={bonus}: " + "/".join(f"{e / w:.1%}" for e, w in totals.values()))
                print(f"  w={weight}: " + "  ".join(cells))
        for session in sessions.values():
            session.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
