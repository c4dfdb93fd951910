"""N-gram language models for free speech: building them (``srgs lm build``) and scoring with KenLM.

``build_arpa(sentences, order=3)`` estimates a back-off n-gram model with interpolated modified
Kneser-Ney smoothing (Chen & Goodman 1998, as KenLM's ``lmplz`` does it, written here because
the ``kenlm`` pip module has no ``lmplz``) and returns it as ARPA text that ``kenlm.Model`` and
pocketsphinx (``NGramModel``, ``Decoder.add_lm_file``) both load:

- each sentence is padded ``<s> ... </s>``; ``<unk>`` takes the unigram level's interpolation
  mass (its uniform share), so an unknown word has a probability;
- the highest order keeps raw counts, lower orders use continuation counts (how many distinct
  words precede the n-gram), except n-grams that start with ``<s>`` (nothing can precede them),
  which keep raw counts;
- three discounts per order (D1, D2, D3+) from the count-of-counts of that order's adjusted
  counts, ``Y = t1 / (t1 + 2 t2)``, ``Dk = k - (k + 1) Y t(k+1) / tk``; when a small corpus makes
  them undefined or out of range, lmplz's ``--discount_fallback`` values 0.5, 1, 1.5 are used
  (``ArpaModel.fallback_orders`` says which orders);
- every probability is interpolated with the next lower order's, and a context's back-off
  weight is its interpolation weight ``gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3 N3+(h.)) / sum``,
  so ``p(w | h)`` sums to 1 over the vocabulary for every context.

``LanguageModel(location)`` loads a model once (ARPA or KenLM binary; ``builtin:slm/general``
is the pocketsphinx wheel's English model converted to ARPA, see ``general_arpa``) and is
shared read-only between threads: what changes while decoding is a ``LmState`` value the caller
keeps. This is the API a decoder's search calls for free speech::

    lm = LanguageModel("pizza.arpa")          # load once per process
    state = lm.begin_state()                  # after <s>
    cost, state = lm.advance(state, "large")  # cost = -ln p("large" | <s>), a new state
    ...
    cost_end = lm.end_cost(state)             # -ln p(</s> | ...)
    lm.score(["large", "pizza"])              # log10 p of the sentence with <s> and </s>
    lm.perplexity(["a large pizza", ...])

Costs are natural-log negatives (``-ln p``), the unit of the grammar constraint's arc costs, so a
CTC or token-passing search adds them as they are; ``advance(..., log10=True)`` gives KenLM's
log10 probability instead. A word outside the vocabulary scores as ``<unk>`` (``lm.contains``
tells whether it is known).

``builtin:slm/general``: KenLM cannot read pocketsphinx's binary format, so on first use the
wheel's ``en-us.lm.bin`` is converted to ARPA into the user's private cache directory
(``$XDG_CACHE_HOME/srgs-engine`` or ``~/.cache/srgs-engine``, made 0700 and checked, as the
ABNF parser tables are) by reading pocketsphinx's trie format here (``read_sphinx_trie``):
pocketsphinx 5.1.1's own ARPA writer (``NGramModel.write``) crashes on that file, whose header
declares 6 more bigrams than its trie holds (cmusphinx/pocketsphinx issue 502). The file is
written to a temporary name and renamed, so a reader never sees half of it.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from decoder.base import DecoderError
from srgs.model import SourceSpan
from srgs.user_cache import private_cache_directory

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
RESERVED = frozenset([BOS, EOS])
MIN_ORDER, MAX_ORDER = 2, 6  # KenLM needs at least a bigram model; the pip build's maximum is 6
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # lmplz --discount_fallback
LOG10_ZERO = -99.0  # ARPA's "never": the probability of <s> as a predicted word
LN10 = math.log(10.0)
GENERAL = "builtin:slm/general"
BUILTIN_LMS = (GENERAL,)


class LmError(DecoderError):
    """A corpus, model file or order the language-model tools cannot use (one-line message)."""


# --- estimation -----------------------------------------------------------------------------


@dataclass(slots=True)
class ArpaModel:
    """An estimated model: ``entries[n - 1]`` maps each n-gram to (log10 p, log10 back-off or None)."""

    order: int
    entries: list[dict[tuple[str, ...], tuple[float, float | None]]]
    discounts: list[tuple[float, float, float]]
    fallback_orders: tuple[int, ...]  # orders whose discounts came from the fallback values
    sentences: int
    tokens: int  # words read, without <s> and </s>

    @property
    def vocabulary(self) -> tuple[str, ...]:
        return tuple(gram[0] for gram in self.entries[0])

    def counts(self) -> list[int]:
        return [len(table) for table in self.entries]

    def write(self, out: IO[str]) -> None:
        """The ARPA text: ``\\data\\``, the counts, then each order's n-grams."""
        out.write("\\data\\\n")
        for n, table in enumerate(self.entries, 1):
            out.write(f"ngram {n}={len(table)}\n")
        for n, table in enumerate(self.entries, 1):
            out.write(f"\n\\{n}-grams:\n")
            for gram in sorted(table):
                prob, backoff = table[gram]
                words = " ".join(gram)
                if backoff is None:
                    out.write(f"{prob:.7g}\t{words}\n")
                else:
                    out.write(f"{prob:.7g}\t{words}\t{backoff:.7g}\n")
        out.write("\n\\end\\\n")

    def to_arpa(self) -> str:
        import io

        buffer = io.StringIO()
        self.write(buffer)
        return buffer.getvalue()


def _discounts(adjusted: Iterable[int]) -> tuple[float, float, float] | None:
    """Modified Kneser-Ney's D1, D2, D3+ from one order's count-of-counts, or None when they are
    undefined or out of range (too little data)."""
    t = Counter(count for count in adjusted if count <= 4)
    t1, t2, t3, t4 = t[1], t[2], t[3], t[4]
    if not (t1 and t2 and t3 and t4):
        return None
    y = t1 / (t1 + 2 * t2)
    found = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
    if not all(0 < d < k for d, k in zip(found, (1, 2, 3), strict=True)):
        return None
    return found


def tokenize(line: str) -> list[str]:
    """A corpus line's words: split on white space (the text is used as it is written)."""
    return line.split()


def estimate(sentences: Iterable[Sequence[str] | str], order: int = 3, *,
             progress: Callable[[int], None] | None = None, source: str = "<corpus>") -> ArpaModel:
    """Interpolated modified Kneser-Ney estimation (see the module docstring).

    ``sentences``: word sequences or lines of text (split on white space); empty ones are
    skipped. ``progress(count)`` is called every 10 000 sentences. ``<s>`` and ``</s>`` inside a
    sentence are an ``LmError`` naming ``source`` and the sentence's number.
    """
    if isinstance(order, bool) or not isinstance(order, int) or not MIN_ORDER <= order <= MAX_ORDER:
        raise LmError(f"n-gram order must be an integer from {MIN_ORDER} to {MAX_ORDER}, got {order!r}")
    raw: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    sentence_count = token_count = 0
    for number, sentence in enumerate(sentences, 1):
        words = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
        if not words:
            continue
        reserved = RESERVED.intersection(words)
        if reserved:
            token = sorted(reserved)[0]
            column = sentence.find(token) + 1 if isinstance(sentence, str) else 1
            raise LmError(f"{token} is reserved for the sentence boundaries: give plain sentences, one a line",
                          SourceSpan(source, number, max(column, 1)))
        sentence_count += 1
        token_count += len(words)
        tokens = [BOS, *words, EOS]
        for n in range(1, order + 1):
            counter = raw[n - 1]
            for end in range(n, len(tokens) + 1):
                counter[tuple(tokens[end - n:end])] += 1
        if progress is not None and sentence_count % 10000 == 0:
            progress(sentence_count)
    if not sentence_count:
        raise LmError("no sentence to build a language model from (one sentence a line)", SourceSpan(source, 0, 0))
    # adjusted counts: raw at the highest order and for n-grams starting with <s>, else the
    # number of distinct words seen before the n-gram
    adjusted: list[dict[tuple[str, ...], int]] = [dict() for _ in range(order)]
    adjusted[order - 1] = dict(raw[order - 1])
    for n in range(order - 1, 0, -1):
        table = adjusted[n - 1]
        for gram in raw[n]:  # each distinct (n+1)-gram is one left extension of gram[1:]
            tail = gram[1:]
            table[tail] = table.get(tail, 0) + 1
        for gram, count in raw[n - 1].items():
            if gram[0] == BOS and gram != (BOS,):
                table[gram] = count
        table.pop((BOS,), None)  # <s> is never predicted
    discounts: list[tuple[float, float, float]] = []
    fallback: list[int] = []
    for n in range(1, order + 1):
        found = _discounts(adjusted[n - 1].values())
        if found is None:
            fallback.append(n)
            found = FALLBACK_DISCOUNTS
        discounts.append(found)
    # interpolated probabilities, order by order
    vocabulary = set(gram[0] for gram in adjusted[0]) | {UNK}
    probabilities: list[dict[tuple[str, ...], float]] = []
    gammas: list[dict[tuple[str, ...], float]] = []
    for n in range(1, order + 1):
        d1, d2, d3 = discounts[n - 1]
        level_counts = adjusted[n - 1]
        totals: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])  # sum, discount mass
        for gram, count in level_counts.items():
            entry = totals[gram[:-1]]
            entry[0] += count
            entry[1] += d1 if count == 1 else d2 if count == 2 else d3
        gamma = {context: mass / total for context, (total, mass) in totals.items()}
        probs: dict[tuple[str, ...], float] = {}
        lower = probabilities[-1] if probabilities else None
        for gram, count in level_counts.items():
            context = gram[:-1]
            discount = d1 if count == 1 else d2 if count == 2 else d3
            own = max(count - discount, 0.0) / totals[context][0]
            below = 1.0 / len(vocabulary) if lower is None else lower[gram[1:]]
            probs[gram] = own + gamma[context] * below
        if n == 1:
            probs[(UNK,)] = probs.get((UNK,), 0.0) + gamma[()] / len(vocabulary) * (0 if (UNK,) in level_counts else 1)
        probabilities.append(probs)
        gammas.append(gamma)
    entries: list[dict[tuple[str, ...], tuple[float, float | None]]] = []
    for n in range(1, order + 1):
        table_out: dict[tuple[str, ...], tuple[float, float | None]] = {}
        next_gamma = gammas[n] if n < order else None
        for gram, p in probabilities[n - 1].items():
            backoff = None if next_gamma is None else math.log10(next_gamma[gram]) if gram in next_gamma else 0.0
            table_out[gram] = (math.log10(p), backoff)
        if n == 1:
            table_out[(BOS,)] = (LOG10_ZERO, math.log10(gammas[1][(BOS,)]))
        entries.append(table_out)
    return ArpaModel(order=order, entries=entries, discounts=discounts, fallback_orders=tuple(fallback),
                     sentences=sentence_count, tokens=token_count)


def build_arpa(sentences: Iterable[Sequence[str] | str], order: int = 3, *,
               progress: Callable[[int], None] | None = None, source: str = "<corpus>") -> str:
    """The ARPA text of the interpolated modified Kneser-Ney model of ``sentences`` (``estimate``)."""
    return estimate(sentences, order, progress=progress, source=source).to_arpa()


def write_atomic(path: str | os.PathLike[str], write: Callable[[IO[str]], None], *, mode: int | None = None) -> None:
    """``write(handle)`` into a temporary file beside ``path``, then rename it there: a reader sees
    the old file or the whole new one, never a part."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            write(out)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# --- builtin:slm/general ----------------------------------------------------------------------


def sphinx_general_lm() -> str:
    """The pocketsphinx wheel's English trigram model (its binary trie format)."""
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise LmError(f"{GENERAL} needs the pocketsphinx package ({exc})") from None
    path = os.path.join(pocketsphinx.get_model_path(), "en-us", "en-us.lm.bin")
    if not os.path.isfile(path):
        raise LmError(f"{GENERAL}: the pocketsphinx model {path} is missing")
    return path


def cache_directory() -> Path | None:
    """Where the converted general model is kept: the user's private cache directory."""
    return private_cache_directory()


def general_arpa(*, cache: Path | None = None) -> Path:
    """``builtin:slm/general`` as an ARPA file KenLM reads: the pocketsphinx wheel's model
    converted on first use into the private cache directory (about 100 MB; the file name carries
    the source's size and modification time, so a new wheel gives a new conversion)."""
    source = sphinx_general_lm()
    folder = cache if cache is not None else cache_directory()
    if folder is None:
        raise LmError(f"{GENERAL}: no private cache directory to convert the model into "
                      "(~/.cache/srgs-engine or $XDG_CACHE_HOME/srgs-engine must be the user's own, mode 0700)")
    info = os.stat(source)
    target = folder / f"slm-general-{info.st_size}-{int(info.st_mtime)}.arpa"
    if not target.is_file():  # two converting at once each write a temporary file: the last rename wins
        write_atomic(target, read_sphinx_trie(source).write_arpa, mode=0o600)
    return target


# --- pocketsphinx's trie format -----------------------------------------------------------------

_TRIE_HEADER = b"Trie Language Model"


def _required_bits(value: int) -> int:
    return max(int(value).bit_length(), 0)


@dataclass(slots=True)
class SphinxTrie:
    """A pocketsphinx binary trie model read into arrays (``read_sphinx_trie``)."""

    order: int
    words: list[str]
    unigram_prob: Any  # numpy float32 [V] (log base 1.0001 as pocketsphinx keeps them: see log_base)
    unigram_backoff: Any
    grams: list[tuple[Any, Any, Any | None]] = field(default_factory=list)  # per order >= 2: word ids [K, n], prob, backoff
    log_base: float = 1.0001

    def counts(self) -> list[int]:
        return [len(self.words)] + [len(g[1]) for g in self.grams]

    def write_arpa(self, out: IO[str], *, chunk: int = 100_000) -> None:
        """ARPA text (log10, 4 decimals as pocketsphinx writes them), written a chunk at a time;
        ``<unk>``, which the pocketsphinx model lacks, is added at log10 -100 (what KenLM would
        substitute, with a warning on stderr)."""
        scale = math.log10(self.log_base)
        counts = self.counts()
        missing_unk = UNK not in self.words
        out.write("\\data\\\n")
        for n, count in enumerate(counts, 1):
            out.write(f"ngram {n}={count + (1 if n == 1 and missing_unk else 0)}\n")
        out.write("\n\\1-grams:\n")
        if missing_unk:
            out.write(f"-100.0000\t{UNK}\t0.0000\n")
        for word, prob, backoff in zip(self.words, self.unigram_prob.tolist(), self.unigram_backoff.tolist(),
                                       strict=True):
            out.write(f"{prob * scale:.4f}\t{word}\t{backoff * scale:.4f}\n")
        words = self.words
        for n, (ids, probs, backoffs) in enumerate(self.grams, 2):
            out.write(f"\n\\{n}-grams:\n")
            for begin in range(0, len(probs), chunk):
                prob_text = [f"{p * scale:.4f}" for p in probs[begin:begin + chunk].tolist()]
                gram_text = [" ".join([words[i] for i in row]) for row in ids[begin:begin + chunk].tolist()]
                if backoffs is None:
                    out.write("".join([f"{p}\t{g}\n" for p, g in zip(prob_text, gram_text, strict=True)]))
                else:
                    out.write("".join([f"{p}\t{g}\t{b * scale:.4f}\n" for p, g, b in
                                       zip(prob_text, gram_text, backoffs[begin:begin + chunk].tolist(), strict=True)]))
        out.write("\n\\end\\\n")


def _read_bits(data: Any, offsets: Any, bits: int) -> Any:
    """Little-endian bit fields of width ``bits`` (<= 57) at bit ``offsets`` of the byte array ``data``."""
    import numpy as np

    if bits == 0:
        return np.zeros(len(offsets), dtype=np.uint64)
    byte = offsets >> 3
    window = np.zeros(len(offsets), dtype=np.uint64)
    for k in range(8):
        window |= data[byte + k].astype(np.uint64) << np.uint64(8 * k)
    return (window >> (offsets & 7).astype(np.uint64)) & np.uint64((1 << bits) - 1)


def read_sphinx_trie(path: str | os.PathLike[str]) -> SphinxTrie:
    """Read pocketsphinx's "Trie Language Model" binary (``ngram_model_trie_write_bin``): the
    header and per-order counts, the quantisation tables, the unigrams (prob, back-off, next
    index), the bit-packed middle and longest levels, then the word strings. N-grams are
    enumerated through the trie's next pointers, so padding slots the header counts but the
    trie does not reach are left out."""
    import numpy as np

    name = os.fspath(path)
    blob = Path(name).read_bytes()
    if not blob.startswith(_TRIE_HEADER):
        raise LmError(f"{name}: not a pocketsphinx trie language model")
    pos = len(_TRIE_HEADER)
    order = blob[pos]
    pos += 1
    counts = list(struct.unpack_from(f"<{order}I", blob, pos))
    pos += 4 * order
    if order < 2:
        raise LmError(f"{name}: a unigram model: KenLM needs order 2 or more")
    # quantisation (lm_trie_quant_read_bin): int32 type, then per middle order prob and backoff
    # tables, then the longest order's prob table, each as float32 of 2**bits values
    (quant_type,) = struct.unpack_from("<i", blob, pos)
    pos += 4
    if quant_type != 1:  # QUANT_16
        raise LmError(f"{name}: unsupported quantisation type {quant_type} in the trie model")
    prob_bits = backoff_bits = 16
    tables: list[tuple[Any, Any | None]] = []
    for _ in range(order - 2):
        middle_prob = np.frombuffer(blob, dtype="<f4", count=1 << prob_bits, offset=pos)
        pos += 4 << prob_bits
        middle_backoff = np.frombuffer(blob, dtype="<f4", count=1 << backoff_bits, offset=pos)
        pos += 4 << backoff_bits
        tables.append((middle_prob, middle_backoff))
    longest_table: Any = np.frombuffer(blob, dtype="<f4", count=1 << prob_bits, offset=pos)
    pos += 4 << prob_bits
    tables.append((longest_table, None))
    unigrams = np.frombuffer(blob, dtype=np.dtype([("prob", "<f4"), ("bo", "<f4"), ("next", "<u4")]),
                             count=counts[0] + 1, offset=pos)
    pos += 12 * (counts[0] + 1)
    data = np.frombuffer(blob, dtype=np.uint8, offset=pos)
    word_bits = _required_bits(counts[0])
    level_starts: list[int] = []
    level_layout: list[tuple[int, int, int]] = []  # total bits, quant bits, next bits
    offset = 0
    for n in range(2, order + 1):
        entries = counts[n - 1]
        if n < order:
            quant = prob_bits + backoff_bits
            next_bits = _required_bits(counts[n])
        else:
            quant, next_bits = prob_bits, 0
        total = word_bits + quant + next_bits
        level_starts.append(offset)
        level_layout.append((total, quant, next_bits))
        offset += ((1 + entries) * total + 7) // 8 + 8
    memory_end = pos + offset
    (string_bytes,) = struct.unpack_from("<i", blob, memory_end)
    names = blob[memory_end + 4:memory_end + 4 + string_bytes].split(b"\0")[: counts[0]]
    if len(names) != counts[0]:
        raise LmError(f"{name}: the word list has {len(names)} words, the header says {counts[0]}")
    words = [w.decode("utf-8", "replace") for w in names]
    # walk the trie level by level: the parents' [next, next of the following entry) ranges
    parent_ids = np.arange(counts[0], dtype=np.int64)[:, None]
    begins = unigrams["next"][:-1].astype(np.int64)
    ends = unigrams["next"][1:].astype(np.int64)
    grams: list[tuple[Any, Any, Any | None]] = []
    for level, n in enumerate(range(2, order + 1)):
        total, quant, next_bits = level_layout[level]
        lengths = ends - begins
        index = np.repeat(np.arange(len(begins)), lengths)
        slots = (np.arange(int(lengths.sum()), dtype=np.int64)
                 - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(begins, lengths))
        base_bits = level_starts[level] * 8
        at = (base_bits + slots * total).astype(np.uint64)
        word = _read_bits(data, at, word_bits).astype(np.int64)
        prob_table: Any = tables[level][0]
        backoff_table: Any = tables[level][1]
        backoffs: Any = None
        if n < order:
            # the 32 quantisation bits are (prob code << 16) | back-off code, packed low bits first
            backoff_q = _read_bits(data, at + np.uint64(word_bits), backoff_bits).astype(np.int64)
            prob_q = _read_bits(data, at + np.uint64(word_bits + backoff_bits), prob_bits).astype(np.int64)
            nxt = _read_bits(data, at + np.uint64(word_bits + quant), next_bits).astype(np.int64)
            nxt_after = _read_bits(data, at + np.uint64(total + word_bits + quant), next_bits).astype(np.int64)
            backoffs = backoff_table[backoff_q] if backoff_table is not None else None
        else:
            prob_q = _read_bits(data, at + np.uint64(word_bits), prob_bits).astype(np.int64)
        ids = np.concatenate([parent_ids[index], word[:, None]], axis=1)  # the trie keeps n-grams last word first
        grams.append((ids[:, ::-1], prob_table[prob_q], backoffs))
        if n < order:
            parent_ids, begins, ends = ids, nxt, nxt_after
    return SphinxTrie(order=order, words=words, unigram_prob=unigrams["prob"][:-1],
                      unigram_backoff=unigrams["bo"][:-1], grams=grams)


def sphinx_trie_to_arpa(path: str | os.PathLike[str], target: str | os.PathLike[str], *, location: str) -> None:
    """The pocketsphinx binary model at ``path`` written as ARPA text to ``target``; a damaged file
    is a one-line ``LmError`` naming ``location``."""
    try:
        write_atomic(target, read_sphinx_trie(path).write_arpa)
    except (ValueError, IndexError, OverflowError, MemoryError, struct.error) as exc:
        raise LmError(f"a damaged pocketsphinx binary model ({type(exc).__name__})", SourceSpan(location, 0, 0)) from None


# --- scoring with KenLM -----------------------------------------------------------------------


def load_kenlm(path: str, location: str) -> Any:
    """A ``kenlm.Model`` of the file (ARPA or KenLM binary); a one-line ``LmError`` naming
    ``location`` when KenLM cannot read it."""
    try:
        import kenlm  # type: ignore[import-not-found]
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise LmError(f"language models need the kenlm package ({exc})") from None
    config = kenlm.Config()
    config.show_progress = False
    config.arpa_complain = kenlm.ARPALoadComplain.NONE
    try:
        return kenlm.Model(path, config)
    except (OSError, RuntimeError) as exc:
        detail = str(exc).split(" threw ")[-1].replace("\n", " ").strip().removeprefix("FormatLoadException.").strip()
        raise LmError(f"not a language model KenLM can read ({detail.rstrip(')')})", SourceSpan(location, 0, 0)) from None


@dataclass(frozen=True, slots=True)
class LmState:
    """Where a sentence is in the model: an opaque KenLM state (hashable and comparable, so a
    search can merge hypotheses in the same state); the words read are not kept."""

    state: Any

    def __hash__(self) -> int:
        return hash(self.state)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LmState) and self.state == other.state


def resolve_lm_location(location: str) -> str:
    """A model location as a file path: ``builtin:slm/general`` (converted to ARPA on first use),
    a ``file:`` URI or a path; an unknown ``builtin:slm/...`` name is an ``LmError``."""
    if location.startswith("builtin:"):
        if location != GENERAL:
            raise LmError(f"unknown built-in language model {location!r} (known: {', '.join(BUILTIN_LMS)})")
        return str(general_arpa())
    if location.startswith("file:"):
        import urllib.parse

        return urllib.parse.unquote(urllib.parse.urlsplit(location).path)
    return location


class LanguageModel:
    """A KenLM n-gram model (ARPA or KenLM binary), loaded once; share it between threads
    (KenLM queries are read-only). See the module docstring for the decoding API."""

    def __init__(self, location: str):
        try:
            import kenlm
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise LmError(f"language models need the kenlm package ({exc})") from None
        self._kenlm: Any = kenlm
        self.location = location
        path = resolve_lm_location(location)
        if not os.path.isfile(path):
            raise LmError(f"language model file not found: {os.path.abspath(path)}", SourceSpan(path, 0, 0))
        self._model: Any = load_kenlm(path, path)
        self.path = path
        self.order = int(self._model.order)

    def contains(self, word: str) -> bool:
        return word in self._model

    def begin_state(self) -> LmState:
        """The state after ``<s>``: the start of a sentence."""
        state = self._kenlm.State()
        self._model.BeginSentenceWrite(state)
        return LmState(state)

    def null_state(self) -> LmState:
        """A state with no context (for scoring a fragment that does not start a sentence)."""
        state = self._kenlm.State()
        self._model.NullContextWrite(state)
        return LmState(state)

    def advance(self, state: LmState, word: str, *, log10: bool = False) -> tuple[float, LmState]:
        """``(-ln p(word | state), next state)``; with ``log10=True``, ``(log10 p, next state)``.
        ``word`` may be ``</s>`` (the end of the sentence)."""
        out = self._kenlm.State()
        score = float(self._model.BaseScore(state.state, word, out))
        return (score if log10 else -score * LN10), LmState(out)

    def end_cost(self, state: LmState) -> float:
        """``-ln p(</s> | state)``."""
        return self.advance(state, EOS)[0]

    def score(self, words: Sequence[str] | str, *, bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a sentence (words or text), with ``<s>``/``</s>`` by default."""
        text = words if isinstance(words, str) else " ".join(words)
        return float(self._model.score(text, bos=bos, eos=eos))

    def perplexity(self, sentences: Iterable[Sequence[str] | str]) -> float:
        """Perplexity over sentences (each with ``</s>`` counted as a word, as KenLM does)."""
        total = 0.0
        words = 0
        for sentence in sentences:
            text = sentence if isinstance(sentence, str) else " ".join(sentence)
            if not text.split():
                continue
            total += self.score(text)
            words += len(text.split()) + 1
        if not words:
            raise LmError("no sentence to compute a perplexity over")
        return float(10.0 ** (-total / words))


__all__ = ["BOS", "EOS", "GENERAL", "UNK", "ArpaModel", "LanguageModel", "LmError", "LmState", "SphinxTrie",
           "build_arpa", "cache_directory", "estimate", "general_arpa", "load_kenlm", "read_sphinx_trie",
           "resolve_lm_location", "sphinx_trie_to_arpa", "write_atomic"]


# --- KenLM's binary format: the vocabulary ------------------------------------------------------

KENLM_MAGIC_PREFIX = b"mmap lm http://kheafield.com/code "
KENLM_MAGIC_VERSION = b"mmap lm http://kheafield.com/code format version "
KENLM_INCOMPLETE = b"mmap lm http://kheafield.com/code incomplete\n"
KENLM_VERSION = 5
# lm/binary_format.cc (KenLM 0.3.0, format 5, little-endian, 64-bit): ``Sanity`` (the magic padded
# to 56 bytes, 0.0f, 1.0f, -0.5f, uint32 1, 0xffffffff, 0, uint64 1) is 88 bytes; then
# ``FixedWidthParameters`` (uint8 order at 88, float probing_multiplier at 92, int model_type at
# 96, bool has_vocabulary at 100, uint32 search_version at 104; 20 bytes); then the n-gram counts,
# uint64 x order from byte 108 (unaligned). The vocabulary strings, when the file has them, end the
# file: "<unk>\0" first, then every other word NUL-terminated.
_KENLM_SANITY = (b"mmap lm http://kheafield.com/code format version 5\n\0".ljust(56, b"\0")
                 + struct.pack("<3f3IQ", 0.0, 1.0, -0.5, 1, 0xFFFFFFFF, 0, 1))
_KENLM_COUNTS_AT = 108
KENLM_MAX_VOCABULARY_BYTES = 256 * 1024 * 1024  # the vocabulary strings read at most (72k words: 600 kB)
_TAIL_CHUNK = 1 << 20


def read_kenlm_vocabulary(path: str | os.PathLike[str], *, location: str | None = None,
                          max_bytes: int = KENLM_MAX_VOCABULARY_BYTES) -> list[str]:
    """The words of a KenLM binary model (``build_binary``'s format 5) read from the file itself:
    the header's order and unigram count, then the NUL-terminated strings at the end of the file
    (only that tail is read, at most ``max_bytes``). ``<unk>`` comes first (KenLM writes it even
    when the ARPA file had none: then there is one string more than the header's unigram count).
    Any problem (another format version, no vocabulary stored, a truncated file) is a one-line
    ``LmError`` naming ``location`` (default: the path). The caller should check the words against
    the model KenLM loaded (``word in model``)."""
    name = os.fspath(path)
    where = SourceSpan(location or name, 0, 0)

    def fail(message: str) -> LmError:
        return LmError(f"KenLM binary model: {message}", where)

    try:
        with open(name, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            header = handle.read(_KENLM_COUNTS_AT + 8 * MAX_ORDER)
            if header.startswith(KENLM_INCOMPLETE):
                raise fail("the file did not finish building (build_binary failed or was stopped)")
            if not header.startswith(KENLM_MAGIC_VERSION):
                raise fail("not a KenLM binary file (its first bytes are not KenLM's)")
            version = header[len(KENLM_MAGIC_VERSION):].split(b"\n", 1)[0]
            if version != str(KENLM_VERSION).encode():
                shown = version[:10].decode("ascii", "replace")
                raise fail(f"format version {shown}, this reads version {KENLM_VERSION}: rebuild it from the ARPA file")
            if len(header) < _KENLM_COUNTS_AT + 8:
                raise fail(f"the file is truncated ({size} bytes, shorter than its header)")
            if header[:len(_KENLM_SANITY)] != _KENLM_SANITY:
                raise fail("built for another architecture or KenLM revision (its test values do not match)")
            order = header[88]
            if not MIN_ORDER - 1 <= order <= MAX_ORDER:
                raise fail(f"order {order} (KenLM reads 1 to {MAX_ORDER})")
            if header[100] not in (0, 1):
                raise fail("a damaged header (has_vocabulary is not a boolean)")
            if not header[100]:
                raise fail("the file has no vocabulary (built with build_binary -v): rebuild it without -v, "
                           "or give the ARPA file")
            if len(header) < _KENLM_COUNTS_AT + 8 * order:
                raise fail(f"the file is truncated ({size} bytes, shorter than its header)")
            unigrams = struct.unpack_from("<Q", header, _KENLM_COUNTS_AT)[0]
            header_end = _KENLM_COUNTS_AT + 8 * order
            if not 1 <= unigrams <= max_bytes // 2:
                raise fail(f"a damaged header ({unigrams} unigrams)")
            # read back from the end until the strings' count is reached (+2: "<unk>" may be one more,
            # and the NUL or binary data before the first string bounds it)
            tail = b""
            position = size
            while position > header_end and tail.count(b"\0") < unigrams + 2:
                if size - position >= max_bytes:
                    raise fail(f"the vocabulary is larger than {max_bytes} bytes")
                step = min(_TAIL_CHUNK, position - header_end, max_bytes - (size - position))
                position -= step
                handle.seek(position)
                chunk = handle.read(step)
                if len(chunk) != step:
                    raise fail("the file changed while it was read")
                tail = chunk + tail
    except OSError as exc:
        raise LmError(f"cannot read the language model: {exc.strerror or exc}", where) from None
    if not tail.endswith(b"\0"):
        raise fail("the vocabulary at the end of the file is cut short (a truncated file?)")
    pieces = tail[:-1].split(b"\0")
    for count in (unigrams, unigrams + 1):
        if len(pieces) >= count and pieces[-count].endswith(b"<unk>"):
            strings = [b"<unk>", *pieces[len(pieces) - count + 1:]]
            break
    else:
        raise fail(f"the vocabulary at the end of the file does not hold the header's {unigrams} words "
                   "(a truncated or damaged file?)")
    try:
        words = [piece.decode("utf-8") for piece in strings]
    except UnicodeDecodeError:
        raise fail("a vocabulary word that is not UTF-8") from None
    if len(set(words)) != len(words) or not all(words):
        raise fail("the vocabulary at the end of the file repeats a word or has an empty one (a damaged file?)")
    if BOS not in words or EOS not in words:
        raise fail(f"the vocabulary lacks {BOS} or {EOS}")
    return words


__all__ += ["KENLM_MAX_VOCABULARY_BYTES", "read_kenlm_vocabulary"]
