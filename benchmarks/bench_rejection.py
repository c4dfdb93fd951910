"""Out-of-grammar rejection of the pocketsphinx back end: calibrating its threshold.

Synthesises with espeak-ng (voices en-us and en-us+f3, 150 and 175 words per minute) in-grammar
utterances of builtin:examples/yesno and builtin:examples/pizza and out-of-grammar sentences,
decodes each once with rejection off (threshold 0) and keeps its rejection score (the share of
the unconstrained phone loop's speech frames inside grammar words), then prints, per threshold,
the in-grammar acceptance (and sentence accuracy of what is accepted) and the out-of-grammar
rejection. The calibration half is speed 150, the held-out half speed 175; the chosen default is
``decoder.pocketsphinx_backend.DEFAULT_REJECTION_THRESHOLD``. Also the real-time factor with
rejection (both searches) and the phone loop's own share of it.

    python benchmarks/bench_rejection.py [--thresholds 0,0.5,0.6,...]

Needs espeak-ng and sox (as the decoder tests do).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.audio import read_wav  # noqa: E402
from decoder.pocketsphinx_backend import ALLPHONE_SEARCH, DEFAULT_REJECTION_THRESHOLD, PocketsphinxModel  # noqa: E402
from interpreter.store import GrammarStore  # noqa: E402
from tests.decoder.speech import synthesise  # noqa: E402

YESNO = "builtin:examples/yesno"
PIZZA = "builtin:examples/pizza"
IN_GRAMMAR = {
    YESNO: ["yes", "no", "yes please", "no thank you", "no thanks", "yeah", "nope", "sure", "correct please",
            "that is ok", "affirmative", "negative", "wrong", "incorrect thanks"],
    PIZZA: ["a small pizza with ham", "two large pizzas with mushrooms", "i would like a medium pizza",
            "give me three small pizzas with onions please", "can i have one large pizza with pineapple",
            "i want two medium pizzas with olives and peppers", "a large pizza with extra cheese",
            "four small pizzas with pepperoni"],
}
OUT_OF_GRAMMAR = ["what is the weather like today", "call my mother", "turn off the lights", "what time is it",
                  "open the door", "play some music", "how far is the station", "send an email to john",
                  "set an alarm for seven", "where is the nearest bank", "read me the news",
                  "book a table for two", "i need a taxi", "tell me a joke", "good morning everybody",
                  "what is your name"]
VOICES = ("en-us", "en-us+f3")
SPEEDS = (150, 175)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0,0.5,0.6,0.7,0.75,0.8,0.85,0.9,0.95")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    store = GrammarStore()
    model = PocketsphinxModel()
    for text in IN_GRAMMAR[YESNO] + IN_GRAMMAR[PIZZA]:  # the lists really are in (or out of) the grammars
        grammar = YESNO if text in IN_GRAMMAR[YESNO] else PIZZA
        assert store.activate([grammar]).constraint().accepts(tuple(text.split())) is not None, text
    rows: list[tuple[int, bool, bool, float | None, float]] = []  # speed, in grammar, correct, score, rtf
    phone_loop: list[float] = []
    with tempfile.TemporaryDirectory(prefix="srgs-bench-rejection-") as folder:
        sessions = {g: model.session(store.activate([g]), rejection_threshold=0.0) for g in (YESNO, PIZZA)}
        cases = [(g, t, True) for g in (YESNO, PIZZA) for t in IN_GRAMMAR[g]] + \
                [(g, t, False) for g in (YESNO, PIZZA) for t in OUT_OF_GRAMMAR]
        for voice in VOICES:
            for speed in SPEEDS:
                for grammar, text, inside in cases:
                    audio = read_wav(synthesise(text, Path(folder), voice=voice, speed=speed))
                    recognition = sessions[grammar].decode(audio)
                    result = recognition.result
                    correct = result.status != "NO_MATCH" and result.alternatives[0].text == text
                    rows.append((speed, inside, correct, recognition.rejection_score, recognition.real_time_factor))
                    decoder = model._decoder  # the phone loop alone, timed for its share of the RTF
                    began = time.perf_counter()
                    with model.lock:
                        decoder.activate_search(ALLPHONE_SEARCH)
                        decoder.start_utt()
                        decoder.process_raw(audio.pcm(), full_utt=True)
                        decoder.end_utt()
                    phone_loop.append((time.perf_counter() - began) / audio.seconds)
        for session in sessions.values():
            session.close()
    for title, speeds in (("calibration (speed 150)", (150,)), ("held-out (speed 175)", (175,)), ("all", SPEEDS)):
        chosen = [row for row in rows if row[0] in speeds]
        inside = [row for row in chosen if row[1]]
        outside = [row for row in chosen if not row[1]]
        print(f"\n{title}: {len(inside)} in-grammar, {len(outside)} out-of-grammar utterances")
        print(f"{'threshold':>9}  {'in accepted':>11}  {'in correct':>10}  {'out rejected':>12}")
        for threshold in thresholds:
            accepted = [row for row in inside if row[3] is not None and row[3] >= threshold]
            correct = sum(1 for row in accepted if row[2])
            rejected = sum(1 for row in outside if row[3] is None or row[3] < threshold)
            mark = "  <- default" if threshold == DEFAULT_REJECTION_THRESHOLD else ""
            print(f"{threshold:9.2f}  {len(accepted):5}/{len(inside):<5}  {correct:4}/{len(inside):<5}  "
                  f"{rejected:6}/{len(outside):<5}{mark}")
    print(f"\nRTF (grammar search + phone loop): median {statistics.median(r[4] for r in rows):.3f}, "
          f"max {max(r[4] for r in rows):.3f}; the phone loop alone: median {statistics.median(phone_loop):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
