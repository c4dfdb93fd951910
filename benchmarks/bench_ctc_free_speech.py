"""Free speech on the CTC back end: word error rate and real-time factor of
``decoder.ctc_free_speech`` against pocketsphinx's free speech (``decoder.free_speech``) with the
same grammar-shaped ARPA model (``srgs generate`` samples of builtin:examples/pizza, order 3).

Synthesises with espeak-ng (voices en-us and en-us+f3) the 12 pizza orders of
``bench_free_speech.py`` (in the grammar, written there, not taken from the samples) at 150 words
per minute (the tuning set of ``--sweep``) and at 175 (held out), and decodes each with both
sessions; the pizza grammar's own CTC search (``CtcModel.session``) is the reference line. Prints
per session and set: word error rate, sentence accuracy, mean and 90th percentile real-time factor
(wall clock, emissions included). The pizza model runs on both CTC searches: the dynamic
lexicon-tree search (``decoder.ctc_lexicon_search``, the default) and the static back-off automaton.
``--sweep``: WER over a grid of LM weights and word bonuses (the emissions computed once), to choose
``STATIC_LM_WEIGHT`` / ``STATIC_WORD_BONUS`` (the static search's).

``--general``: builtin:slm/general instead (the dynamic search), on the same audio as
``bench_free_speech.py``'s everyday sentences (``GENERAL_SENTENCES``, en-us and en-us+f3 at 150
wpm: held out) and on ``TUNING_SENTENCES`` (20 other everyday sentences, same voices, 150 and 175
wpm: the set ``--general --sweep`` chooses ``DEFAULT_LM_WEIGHT`` / ``DEFAULT_WORD_BONUS`` on), against
pocketsphinx's free speech with the same model; prints the session's load time and memory (resident
set growth) and per set WER, sentence accuracy, CPU time over audio time with the acoustic model's
emissions and of the search alone. ``--compare``: the same for flashlight's beam sizes and for a
hand-written numpy token-passing search over the same tree (``NumpyTreeSearch``, best path only),
at the weights in force.

    python benchmarks/bench_ctc_free_speech.py [--samples 500] [--sweep]
    python benchmarks/bench_ctc_free_speech.py --general [--compare] [--sweep]

Needs espeak-ng and sox (as the decoder tests do).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_free_speech import (  # noqa: E402
    GENERAL_SENTENCES,
    PIZZA,
    PIZZA_SENTENCES,
    pizza_corpus,
    word_errors,
)
from decoder.audio import read_wav  # noqa: E402
from decoder.ctc_backend import CtcModel  # noqa: E402
from decoder.ctc_free_speech import (  # noqa: E402
    LN10,
    STATIC_LM_WEIGHT,
    STATIC_WORD_BONUS,
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
    "she is looking for a new job", "the train leaves at six", "have a nice weekend", "i forgot my password",
    "let us meet for lunch", "how much does it cost", "the children are playing in the park",
    "can i pay by card", "what is your name", "the store is closed on sunday",
]
GENERAL_SETS = {"tune": (TUNING_SENTENCES, (150, 175)), "held-150": (GENERAL_SENTENCES, (150,))}
GENERAL_WEIGHTS = (0.5, 0.8, 1.0, 1.2)
GENERAL_BONUSES = (-1.0, 0.0, 1.0)
FLASHLIGHT_BEAMS = (50, 100, 200, 400)  # --compare: LexiconDecoder beam sizes
NUMPY_ACTIVE = (250, 500, 1000)  # --compare: the numpy reference search's max active tokens


def resident_mb() -> float:
    """This process's resident set (Linux /proc), in MB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 1e6


class NumpyTreeSearch:
    """A hand-written reference for ``--compare``: frame-synchronous token passing over the same
    pronunciation tree and tokens as ``decoder.ctc_lexicon_search`` (``spell_vocabulary``), in numpy,
    KenLM at word ends through a Python cache. A token is (tree node, blank flag, KenLM context id):
    self-loops, phone -> blank, phone or blank -> child (the same token twice needs a blank), unigram
    look-ahead (max below the node) added on the way down and replaced by KenLM's cost at the word's
    end, which goes back to the root's blank; beam and max-active pruning; best path only."""

    def __init__(self, vocabulary: object, kenlm_model: object):
        from decoder.ctc_lexicon_search import SpelledVocabulary

        assert isinstance(vocabulary, SpelledVocabulary)
        self.words = vocabulary.words
        self.model = kenlm_model
        token, parent, labels = [0], [-1], [[]]
        children: list[dict[int, int]] = [{}]
        for score, spelling, word in vocabulary.entries:
            node = 0
            for unit in spelling:
                found = children[node].get(unit)
                if found is None:
                    found = children[node][unit] = len(token)
                    token.append(unit)
                    parent.append(node)
                    children.append({})
                    labels.append([])
                node = found
            labels[node].append((word, score))
        self.token = np.array(token, dtype=np.int64)
        smear = np.full(len(token), -np.inf)
        for node, found in enumerate(labels):
            for _, score in found:
                smear[node] = max(smear[node], score)
        for node in range(len(token) - 1, 0, -1):  # a child's id is above its parent's
            smear[parent[node]] = max(smear[parent[node]], smear[node])
        smear[0] = 0.0
        self.smear = smear
        self.child_ptr = np.r_[0, np.cumsum([len(c) for c in children])].astype(np.int64)
        self.child_idx = np.array([child for c in children for child in sorted(c.values())], dtype=np.int64)
        self.labels = labels
        self.has_label = np.array([bool(found) for found in labels])

    def decode(self, emissions: np.ndarray, lm_weight: float, word_bonus: float, *, beam: float = 20.0,
               max_active: int = 500) -> list[str]:
        import kenlm

        contexts: dict[object, int] = {}
        states: list[object] = []

        def context(state: object) -> int:
            found = contexts.get(state)
            if found is None:
                found = contexts[state] = len(states)
                states.append(state)
            return found

        start = kenlm.State()
        self.model.BeginSentenceWrite(start)
        cache: dict[tuple[int, int], tuple[int, float]] = {}
        node = np.zeros(1, dtype=np.int64)
        blank = np.ones(1, dtype=np.int64)
        ctx = np.array([context(start)], dtype=np.int64)
        score = np.zeros(1)
        hist = np.full(1, -1, dtype=np.int64)
        h_prev: list[int] = []
        h_word: list[int] = []
        token, smear = self.token, self.smear * lm_weight
        for frame in range(emissions.shape[0]):
            e = emissions[frame]
            phone = blank == 0
            lengths = self.child_ptr[node + 1] - self.child_ptr[node]
            src = np.repeat(np.arange(len(node)), lengths)
            offsets = np.repeat(self.child_ptr[node] - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
            child = self.child_idx[np.arange(int(lengths.sum())) + offsets]
            ok = (blank[src] == 1) | (token[child] != token[node[src]]) | (node[src] == 0)
            src, child = src[ok], child[ok]
            node = np.concatenate([node, node[phone], child])
            new_blank = np.concatenate([blank, np.ones(int(phone.sum()), dtype=np.int64), np.zeros(len(child), dtype=np.int64)])
            score = np.concatenate([score + np.where(blank == 1, e[0], e[token[node[:len(blank)]]]), score[phone] + e[0],
                                    score[src] + e[token[child]] + smear[child] - smear[node[src]]])
            ctx = np.concatenate([ctx, ctx[phone], ctx[src]])
            hist = np.concatenate([hist, hist[phone], hist[src]])
            blank = new_blank
            key = (node * 2 + blank) * (len(states) + 1) + ctx
            order = np.lexsort((-score, key))
            first = order[np.r_[True, key[order][1:] != key[order][:-1]]]
            best = float(score[first].max())
            keep = first[score[first] >= best - beam]
            if len(keep) > max_active:
                keep = keep[np.argpartition(-score[keep], max_active)[:max_active]]
            node, blank, ctx, hist, score = node[keep], blank[keep], ctx[keep], hist[keep], score[keep]
            ends: dict[int, tuple[float, int, int]] = {}
            for i in np.flatnonzero(self.has_label[node] & (blank == 0)).tolist():
                base = float(score[i]) - smear[int(node[i])]
                for word, _ in self.labels[int(node[i])]:
                    step = cache.get((int(ctx[i]), word))
                    if step is None:
                        out = kenlm.State()
                        value = self.model.BaseScore(states[int(ctx[i])], self.words[word], out) * LN10
                        step = cache[(int(ctx[i]), word)] = (context(out), value)
                    total = base + lm_weight * step[1] + word_bonus
                    if total >= best - beam and total > ends.get(step[0], (-math.inf, 0, 0))[0]:
                        ends[step[0]] = (total, int(hist[i]), word)
            if ends:
                ids = []
                for target, (total, previous, word) in ends.items():
                    h_prev.append(previous)
                    h_word.append(word)
                    ids.append((target, total, len(h_prev) - 1))
                node = np.r_[node, np.zeros(len(ids), dtype=np.int64)]
                blank = np.r_[blank, np.ones(len(ids), dtype=np.int64)]
                ctx = np.r_[ctx, [item[0] for item in ids]]
                score = np.r_[score, [item[1] for item in ids]]
                hist = np.r_[hist, [item[2] for item in ids]]
        finals = []
        for i in np.flatnonzero(node == 0).tolist():
            out = kenlm.State()
            finals.append((float(score[i]) + lm_weight * self.model.BaseScore(states[int(ctx[i])], "</s>", out) * LN10,
                           int(hist[i])))
        if not finals:
            return []
        entry = max(finals)[1]
        words: list[str] = []
        while entry >= 0:
            words.append(self.words[h_word[entry]])
            entry = h_prev[entry]
        return words[::-1]


def wer_of(hypotheses: dict[tuple[str, str, str], list[str]], set_name: str) -> tuple[float, int, int]:
    """WER, exact sentences and utterances of one set's hypotheses."""
    errors = words = correct = count = 0
    for (text, _, name), hypothesis in hypotheses.items():
        if name == set_name:
            errors += word_errors(text.split(), hypothesis)
            words += len(text.split())
            correct += hypothesis == text.split()
            count += 1
    return errors / max(1, words), correct, count


def general(sweep: bool, compare: bool) -> int:
    """builtin:slm/general: CTC's dynamic search against pocketsphinx, same audio."""
    from decoder.ctc_lexicon_search import read_unigrams, spell_vocabulary

    local = AccessPolicy.local()
    ctc = CtcModel()
    sphinx = PocketsphinxModel()
    with tempfile.TemporaryDirectory(prefix="srgs-bench-ctc-general-") as name:
        folder = Path(name)
        audio = {(text, f"{voice}@{speed}", set_name): read_wav(synthesise(text, folder, voice=voice, speed=speed))
                 for set_name, (texts, speeds) in GENERAL_SETS.items() for speed in speeds for text in texts
                 for voice in VOICES}
        ctc.log_probs(next(iter(audio.values())))  # the acoustic model's first run is not the search's
        before = resident_mb()
        began, cpu = time.perf_counter(), time.process_time()
        session = CtcFreeSpeechSession(ctc, GENERAL, policy=local)
        search = session._dynamic
        assert search is not None
        print(f"CTC session on {GENERAL}: {time.perf_counter() - began:.1f} s to make ({time.process_time() - cpu:.1f} s "
              f"CPU: KenLM loads the ARPA, the tree of {len(search.words)} words), resident set "
              f"+{resident_mb() - before:.0f} MB; {len(session.unpronounceable)} words without a pronunciation; "
              f"lm_weight {session.lm_weight}, word_bonus {session.word_bonus}, beam size {session.beam_size}")
        began = time.perf_counter()
        CtcFreeSpeechSession(ctc, GENERAL, policy=local).close()
        print(f"a second session: {(time.perf_counter() - began) * 1000:.0f} ms (shared search)")
        seconds = {set_name: sum(clip.seconds for key, clip in audio.items() if key[2] == set_name)
                   for set_name in GENERAL_SETS}
        print(f"{len(audio)} utterances: " + ", ".join(f"{name} {sum(1 for k in audio if k[2] == name)} "
                                                      f"({seconds[name]:.0f} s)" for name in GENERAL_SETS) + "\n")
        emissions: dict[tuple[str, str, str], np.ndarray] = {}
        emission_cpu = dict.fromkeys(GENERAL_SETS, 0.0)
        for key, clip in audio.items():
            began = time.process_time()
            emissions[key] = ctc.log_probs(clip)
            emission_cpu[key[2]] += time.process_time() - began

        def run(decode: object) -> tuple[dict[tuple[str, str, str], list[str]], dict[str, float]]:
            assert callable(decode)
            hypotheses, cpu = {}, dict.fromkeys(GENERAL_SETS, 0.0)
            for key, log_probs in emissions.items():
                began = time.process_time()
                hypotheses[key] = decode(key, log_probs)
                cpu[key[2]] += time.process_time() - began
            return hypotheses, cpu

        def with_session(trial: CtcFreeSpeechSession) -> object:
            def decode(key: object, log_probs: np.ndarray) -> list[str]:
                result = trial.decode_log_probs(log_probs, audio_seconds=1.0).result
                return result.alternatives[0].text.split() if result.status == "RECOGNIZED" else []
            return decode

        def sphinx_decode(key: tuple[str, str, str], log_probs: np.ndarray) -> list[str]:
            result = sphinx_session.decode(audio[key]).result
            return result.alternatives[0].text.split() if result.status == "RECOGNIZED" else []

        sphinx_session = free_speech_session(sphinx, GENERAL, policy=local)
        print(f"{'search':<22} {'set':<9} {'WER':>7} {'sentences':>10} {'CPU RTF':>8} {'search':>8}")

        def report(label: str, hypotheses: dict[tuple[str, str, str], list[str]], cpu: dict[str, float],
                   emitted: bool = True) -> None:
            for set_name in GENERAL_SETS:
                wer, correct, count = wer_of(hypotheses, set_name)
                total = (cpu[set_name] + (emission_cpu[set_name] if emitted else 0.0)) / seconds[set_name]
                searched = f"{cpu[set_name] / seconds[set_name]:>8.3f}" if emitted else f"{'':>8}"
                print(f"{label:<22} {set_name:<9} {wer:>6.1%} {correct:>4}/{count:<5} {total:>8.3f} {searched}",
                      flush=True)

        report("ctc general", *run(with_session(session)))
        report("pocketsphinx general", *run(sphinx_decode), emitted=False)
        if compare:
            for beam_size in FLASHLIGHT_BEAMS:
                trial = CtcFreeSpeechSession(ctc, GENERAL, policy=local)
                trial.beam_size = beam_size
                report(f"flashlight beam {beam_size}", *run(with_session(trial)))
            vocabulary = spell_vocabulary(read_unigrams(session.path), None, ctc.unit_ids, ctc.blank_ids())
            reference = NumpyTreeSearch(vocabulary, search.kenlm_model)
            for active in NUMPY_ACTIVE:
                def numpy_decode(key: object, log_probs: np.ndarray, active: int = active) -> list[str]:
                    return reference.decode(search.emissions(log_probs), session.lm_weight, session.word_bonus,
                                            max_active=active)
                report(f"numpy max-active {active}", *run(numpy_decode))
        if sweep:
            print("\nCTC general WER by (lm_weight, word_bonus): " + " / ".join(GENERAL_SETS))
            for weight in GENERAL_WEIGHTS:
                cells = []
                for bonus in GENERAL_BONUSES:
                    trial = CtcFreeSpeechSession(ctc, GENERAL, policy=local, lm_weight=weight, word_bonus=bonus)
                    hypotheses, _ = run(with_session(trial))
                    cells.append(f"b={bonus}: " + "/".join(f"{wer_of(hypotheses, name)[0]:.1%}" for name in GENERAL_SETS))
                print(f"  w={weight}: " + "  ".join(cells), flush=True)
        session.close()
        sphinx_session.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500, help="srgs generate samples for the pizza model")
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--sweep", action="store_true", help="WER over a grid of LM weights and word bonuses")
    parser.add_argument("--general", action="store_true", help="builtin:slm/general (the dynamic search)")
    parser.add_argument("--compare", action="store_true",
                        help="with --general: flashlight's beam sizes and a hand-written numpy search")
    args = parser.parse_args()
    if args.general:
        return general(args.sweep, args.compare)
    store = GrammarStore()
    ctc = CtcModel()
    sphinx = PocketsphinxModel()
    with tempfile.TemporaryDirectory(prefix="srgs-bench-ctc-free-speech-") as name:
        folder = Path(name)
        sentences = pizza_corpus(args.samples)
        arpa = estimate(sentences, args.order)
        path = folder / "pizza.arpa"
        path.write_text(arpa.to_arpa(), encoding="utf-8")
        held_in = sum(1 for text in PIZZA_SENTENCES if text in set(sentences))
        print(f"pizza model: {args.samples} samples, order {args.order}, n-grams {arpa.counts()}; "
              f"{held_in}/{len(PIZZA_SENTENCES)} test sentences occur among the samples")
        local = AccessPolicy.local()
        began = time.perf_counter()
        ctc_session = CtcFreeSpeechSession(ctc, str(path), policy=local, search="static")
        print(f"CTC session: {(time.perf_counter() - began) * 1000:.0f} ms to make (lexicon, automaton, graph of "
              f"{ctc_session._shared.graph.num_emitting} states; lm_weight {STATIC_LM_WEIGHT}, "
              f"word_bonus {STATIC_WORD_BONUS})")
        sessions = {
            "ctc static": ctc_session,
            "ctc dynamic": ctc_free_speech_session(ctc, str(path), policy=local),
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
                    trial = CtcFreeSpeechSession(ctc, str(path), policy=local, lm_weight=weight, word_bonus=bonus,
                                                 search="static")
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
