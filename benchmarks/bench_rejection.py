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
    python benchmarks/bench_rejection.py --tuning [--work DIR] [--out FILE.json]

``--tuning``: the tuning set of the rejection score, disjoint from the accuracy benchmark's
held-out set (``benchmarks/accuracy/sets.py``): other out-of-grammar requests (``TUNING_OOG``,
each checked to be outside each grammar), in-grammar sentences of the 4 en-US grammars sampled
with another seed (none of the held-out texts), other voices (``TUNING_VOICES``) and speeds
(``TUNING_SPEEDS``). Each utterance is decoded once with rejection off and its rejection measures
(``PocketsphinxSession.measures``) are kept (``--out``); the report gives, per threshold, the
in-grammar semantically correct results kept, the false rejections and the out-of-grammar
rejection, and the threshold chosen by the fixed rule (``choose_threshold``).

Needs espeak-ng and sox (as the decoder tests do).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decoder.audio import read_wav  # noqa: E402
from decoder.pocketsphinx_backend import (  # noqa: E402
    ALLPHONE_SEARCH,
    DEFAULT_REJECTION_THRESHOLD,
    PocketsphinxModel,
    RejectionMeasures,
    rejection_score_of,
)
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


# --- the tuning set (disjoint from benchmarks/accuracy/sets.py's held-out set) -------------------

TUNING_OOG = (
    "what is on my calendar", "order a pizza for dinner", "how old is the president", "lock the front door",
    "show me the photos from last week", "i lost my credit card", "when does the store close",
    "navigate to the airport", "what is the capital of spain", "find a good restaurant nearby",
    "pay my electricity bill", "the printer is out of paper", "let me talk to a manager",
    "how do i reset my router", "turn up the volume", "add eggs to the shopping list", "is it going to rain",
    "what movies are playing", "wake me up at six", "send a message to my sister", "how long is the flight",
    "my package never arrived", "can you help me with my homework", "dim the bedroom lights",
    "where is my order", "call the doctor's office", "the heating is broken", "schedule a meeting with sarah",
    "what did you say", "i would like to make a complaint", "how many calories are in an apple",
    "play the next episode", "who is calling me", "book a flight to boston", "the screen is frozen",
    "what is the exchange rate", "open my email", "how do you spell necessary",
)
TUNING_VOICES = ("en-us+m3", "en-us+f2", "en-gb")
TUNING_SPEEDS = (125, 160, 190)
TUNING_SEED = 4242
TUNING_CONDITIONS = ("clean", "noisy", "telephone")  # in-grammar: clean x2, noisy, telephone
TUNING_PER_GRAMMAR = 24  # in-grammar texts per grammar
TUNING_COMBOS_IN = 2  # voice x speed combinations per in-grammar text (rotating)
TUNING_COMBOS_OOG = 2  # per out-of-grammar text and grammar
MIN_OOG_REJECTION = 0.92  # the rule: at least this out-of-grammar rejection on the tuning set


def tuning_texts(store: GrammarStore, location: str, count: int, exclude: set[str]) -> list[tuple[str, str]]:
    """``count`` (text, expected JSON) in-grammar sentences sampled with ``TUNING_SEED`` (not the
    held-out seed), none of ``exclude`` (the held-out texts)."""
    from benchmarks.accuracy.sets import MAX_WORDS, canonical
    from srgs.compile.sample import sample_sentences

    compiled = store.prepare(location).compiled
    interpreter = store.activate([location]).interpreter()
    out: dict[str, str] = {}
    for attempt in range(20):
        for sentence in sample_sentences(compiled, 8 * count, seed=TUNING_SEED + attempt):
            text = str(sentence["text"])
            if text in out or text in exclude or "..." in text or not 0 < len(text.split()) <= MAX_WORDS:
                continue
            result = interpreter.interpret(text)
            if result.status == "RECOGNIZED" and result.alternatives:
                out[text] = canonical(result.alternatives[0].interpretations[0].value)
        if len(out) >= 4 * count:
            break
    items = sorted(out.items())
    random.Random(TUNING_SEED).shuffle(items)  # the samples come sorted: a random choice of them
    return items[:count]


def tuning_utterances(store: GrammarStore) -> list[dict[str, object]]:
    """The tuning set: dicts of grammar, text, in_grammar, expected (JSON or None), voice, speed."""
    from benchmarks.accuracy.sets import EN_GRAMMARS, FULL, OUT_OF_GRAMMAR_EN, grammar_texts, out_of_grammar_texts

    combos = [(voice, speed) for voice in TUNING_VOICES for speed in TUNING_SPEEDS]
    assert not set(TUNING_OOG) & set(OUT_OF_GRAMMAR_EN)
    out: list[dict[str, object]] = []
    index = 0
    for spec in EN_GRAMMARS:
        held_out = {text for text, _ in grammar_texts(store, spec, FULL.per_grammar)}
        for text, value in tuning_texts(store, spec.location, TUNING_PER_GRAMMAR, held_out):
            for shift in range(TUNING_COMBOS_IN):
                voice, speed = combos[(index * 2 + shift) % len(combos)]
                out.append({"grammar": spec.location, "text": text, "in_grammar": True, "expected": value,
                            "voice": voice, "speed": speed, "condition": "clean"})
            for number, condition in enumerate(("noisy", "telephone")):  # one copy each, another combination
                voice, speed = combos[(index * 2 + TUNING_COMBOS_IN + number) % len(combos)]
                out.append({"grammar": spec.location, "text": text, "in_grammar": True, "expected": value,
                            "voice": voice, "speed": speed, "condition": condition})
            index += 1
        outside = out_of_grammar_texts(store, spec, TUNING_OOG)
        for text in outside:
            for shift in range(TUNING_COMBOS_OOG):
                voice, speed = combos[(index * 2 + shift) % len(combos)]
                out.append({"grammar": spec.location, "text": text, "in_grammar": False, "expected": None,
                            "voice": voice, "speed": speed, "condition": "clean"})
            index += 1
    return out


def measures_json(measures: RejectionMeasures | None) -> dict[str, object] | None:
    if measures is None:
        return None
    return {"coverage": measures.coverage, "ratio": measures.ratio, "word_ratios": list(measures.word_ratios),
            "narrowband": measures.narrowband, "speech_frames": measures.speech_frames, "phones": measures.phones,
            "seconds": measures.seconds, "word_posteriors": list(measures.word_posteriors),
            "word_phones": list(measures.word_phones), "loop_phones": list(measures.loop_phones),
            "loop_loglik": measures.loop_loglik}


def measures_from_json(data: dict[str, object] | None) -> RejectionMeasures | None:
    if data is None:
        return None
    return RejectionMeasures(coverage=float(data["coverage"]),  # type: ignore[arg-type]
                             ratio=None if data["ratio"] is None else float(data["ratio"]),  # type: ignore[arg-type]
                             word_ratios=tuple((str(w), int(f), float(r)) for w, f, r in data["word_ratios"]),  # type: ignore[attr-defined]
                             narrowband=bool(data["narrowband"]), speech_frames=int(data["speech_frames"]),  # type: ignore[call-overload]
                             phones=int(data["phones"]), seconds=float(data["seconds"]),  # type: ignore[call-overload, arg-type]
                             word_posteriors=tuple(float(p) for p in data.get("word_posteriors", ())),  # type: ignore[attr-defined]
                             word_phones=tuple(str(p) for p in data.get("word_phones", ())),  # type: ignore[attr-defined]
                             loop_phones=tuple(str(p) for p in data.get("loop_phones", ())),  # type: ignore[attr-defined]
                             loop_loglik=None if data.get("loop_loglik") is None else float(data["loop_loglik"]))  # type: ignore[arg-type]


def run_tuning(work: Path) -> list[dict[str, object]]:
    """Decode the tuning set (rejection off): each row with its value, correctness and measures."""
    from benchmarks.accuracy.audio import speech_file
    from benchmarks.accuracy.sets import canonical

    store = GrammarStore()
    model = PocketsphinxModel()
    utterances = tuning_utterances(store)
    sessions = {}
    rows: list[dict[str, object]] = []
    for number, utterance in enumerate(utterances):
        grammar = str(utterance["grammar"])
        if grammar not in sessions:
            sessions[grammar] = model.session(store.activate([grammar]), rejection_threshold=0.0)
        session = sessions[grammar]
        path = speech_file(work, str(utterance["text"]), voice=str(utterance["voice"]),
                           speed=int(utterance["speed"]),  # type: ignore[call-overload]
                           condition=str(utterance["condition"]))
        recognition = session.decode(read_wav(path))
        result = recognition.result
        value = None
        if result.status == "RECOGNIZED" and result.alternatives and result.alternatives[0].interpretations:
            value = canonical(result.alternatives[0].interpretations[0].value)
        rows.append({**utterance, "heard": result.alternatives[0].text if result.alternatives else None,
                     "value": value, "correct": value is not None and value == utterance["expected"],
                     "rtf": recognition.real_time_factor, "measures": measures_json(session.measures)})
        if number % 50 == 0:
            print(f"  {number}/{len(utterances)}", file=sys.stderr)
    for session in sessions.values():
        session.close()
    return rows


def choose_threshold(scores: list[tuple[bool, bool, float | None]], candidates: list[float],
                     min_oog: float = MIN_OOG_REJECTION) -> float | None:
    """The rule, fixed before looking at held-out results: of the ``candidates`` whose
    out-of-grammar rejection is at least ``min_oog``, the one keeping the most in-grammar correct
    results plus out-of-grammar rejections (the lowest such threshold on a tie). ``scores``:
    (in grammar, correct, rejection score) per utterance; None when no candidate reaches ``min_oog``."""
    outside = [score for inside, _, score in scores if not inside]
    best: tuple[int, float] | None = None
    for threshold in sorted(candidates):
        rejected = sum(1 for score in outside if score is None or score < threshold)
        if not outside or rejected / len(outside) < min_oog:
            continue
        kept = sum(1 for inside, correct, score in scores if inside and correct and score is not None and score >= threshold)
        if best is None or kept + rejected > best[0]:
            best = (kept + rejected, threshold)
    return None if best is None else best[1]


def tuning_report(rows: list[dict[str, object]], thresholds: list[float]) -> None:
    scores = [(bool(row["in_grammar"]), bool(row["correct"]),
               None if row["measures"] is None else rejection_score_of(measures_from_json(row["measures"])))  # type: ignore[arg-type]
              for row in rows]
    conditions = [str(row.get("condition", "clean")) for row in rows]
    outside = [s for s in scores if not s[0]]
    print(f"tuning set: {len(scores) - len(outside)} in-grammar, {len(outside)} out-of-grammar (clean) utterances")
    header = "".join(f"  {name + ' kept/false rej':>22}" for name in TUNING_CONDITIONS)
    print(f"{'threshold':>9}{header}  {'oog rejected':>12}")
    for threshold in thresholds:
        cells = []
        for name in TUNING_CONDITIONS:
            inside = [s for s, c in zip(scores, conditions, strict=True) if s[0] and c == name]
            correct = sum(1 for s in inside if s[1])
            kept = sum(1 for s in inside if s[1] and s[2] is not None and s[2] >= threshold)
            false = sum(1 for s in inside if s[2] is None or s[2] < threshold)
            cells.append(f"  {kept:4}/{correct:<4} {false:4}/{len(inside):<4}   ")
        rejected = sum(1 for s in outside if s[2] is None or s[2] < threshold)
        mark = "  <- default" if threshold == DEFAULT_REJECTION_THRESHOLD else ""
        print(f"{threshold:9.2f}{''.join(cells)}  {rejected:5}/{len(outside):<6}{mark}")
    chosen = choose_threshold(scores, [round(0.01 * step, 2) for step in range(101)])
    print(f"rule (>= {MIN_OOG_REJECTION:.0%} oog rejected, most kept-correct + rejected-oog): threshold {chosen}")
    print(f"RTF (rejection off): median {statistics.median(float(row['rtf']) for row in rows):.3f}")  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0,0.5,0.6,0.7,0.75,0.8,0.85,0.9,0.95")
    parser.add_argument("--tuning", action="store_true", help="the tuning set (see the module's doc)")
    parser.add_argument("--work", default="/tmp/srgs-rejection-tuning", help="the tuning set's audio cache")
    parser.add_argument("--out", help="write the tuning set's rows (with their measures) to this JSON file")
    parser.add_argument("--rows", help="report on rows written by --out instead of decoding again")
    args = parser.parse_args()
    if args.tuning or args.rows:
        if args.rows:
            rows = json.loads(Path(args.rows).read_text(encoding="utf-8"))
        else:
            rows = run_tuning(Path(args.work))
            if args.out:
                Path(args.out).write_text(json.dumps(rows, indent=1), encoding="utf-8")
        tuning_report(rows, [float(t) for t in args.thresholds.split(",")])
        return 0
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
