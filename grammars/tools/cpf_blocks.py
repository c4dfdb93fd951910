"""The CPF check-digit decomposition shared by the grammar generators (``dtmf_cpf.py``,
``pt_br_cpf.py``): the state after some digits is the pair of weighted sums mod 11 the two check
digits need; the nine digits are three blocks of three, each block grouped by what it adds."""

from __future__ import annotations

import itertools
from collections.abc import Callable

State = tuple[int, int]
M = 11
STATES = [(a, b) for a in range(M) for b in range(M)]


def check_digit(total: int) -> int:
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def valid(cpf: str) -> bool:
    """Reference check, written the usual way."""
    ds = [int(c) for c in cpf]
    if len(ds) != 11 or len(set(ds)) == 1:
        return False
    dv1 = check_digit(sum(d * w for d, w in zip(ds[:9], range(10, 1, -1), strict=True)))
    dv2 = check_digit(sum(d * w for d, w in zip(ds[:10], range(11, 1, -1), strict=True)))
    return ds[9:] == [dv1, dv2]


def contribution(digits: tuple[int, ...], first: int) -> State:
    """What digits at positions first, first+1, ... (1-based) add to the state."""
    a = sum((11 - (first + i)) * d for i, d in enumerate(digits)) % M
    b = sum((12 - (first + i)) * d for i, d in enumerate(digits)) % M
    return a, b


def add(s: State, t: State) -> State:
    return (s[0] + t[0]) % M, (s[1] + t[1]) % M


def sub(s: State, t: State) -> State:
    return (s[0] - t[0]) % M, (s[1] - t[1]) % M


def check_digits(s: State) -> State:
    dv1 = check_digit(s[0])
    return dv1, check_digit(s[1] + 2 * dv1)


def blocks(first: int) -> dict[State, list[tuple[int, ...]]]:
    """The three-digit blocks at positions first..first+2, by what they add to the state."""
    out: dict[State, list[tuple[int, ...]]] = {}
    for digits in itertools.product(range(10), repeat=3):
        out.setdefault(contribution(digits, first), []).append(digits)
    return out


FIRST, MID, LAST = blocks(1), blocks(4), blocks(7)
REP3 = {d: (d, d, d) for d in range(10)}


def n(prefix: str, s: State) -> str:
    return f"{prefix}_{s[0]}_{s[1]}"


ByDigit = dict[int, State]


def repeated_digit_states() -> tuple[ByDigit, ByDigit, ByDigit, dict[State, int]]:
    """For d = 0..9: the state after ``ddd`` (first block), after ``dddddd`` (two blocks), what
    ``ddd`` adds as the third block, and the digit by its six-digit state. Every repeated-digit
    number passes the check sums, so a generator must exclude them explicitly; the asserts show
    the states are distinct, which makes it possible."""
    t_rep = {d: contribution(REP3[d], 1) for d in range(10)}
    u_rep = {d: add(t_rep[d], contribution(REP3[d], 4)) for d in range(10)}
    e_rep = {d: contribution(REP3[d], 7) for d in range(10)}
    assert len(set(u_rep.values())) == 10 and len(set(t_rep.values())) == 10
    for d in range(10):
        assert check_digits(add(u_rep[d], e_rep[d])) == (d, d)
    return t_rep, u_rep, e_rep, {u: d for d, u in u_rep.items()}


def write_rules(w: Writer, spell: Callable[[tuple[int, ...]], list[str]], *, after_first: str = "",
                before_end: str = "", before_check: str = "") -> None:
    """The rules of the check-digit automaton, flat: ``$digits`` chooses the first block and the
    second block (``$first_T $mid_X``), then ``$end_S`` for S = T + X the last block and the check
    digits (``$last_E $check_(S+E)``). A rule is referred to where the digits read so far say which
    (a parser follows at most 121 choices at a time, the blocks' rules, each settled by the next
    three digits), and no rule is nested in another but ``$end_S``, so the grammar's transducer
    (each rule reference one rule event) stays small: one copy of ``$end_S`` per S. ``spell`` gives
    the alternatives for a block's digits. ``after_first``, ``before_end`` and ``before_check``:
    optional words that end ``$first_T``, start ``$end_S`` and start ``$check_S`` (in the rules
    the transducer copies least, and so that ``$digits`` and ``$end_S`` are lists of references
    only, which the compiler reads as fast as a word list). Numbers made of one repeated digit
    pass the sums but are not CPFs: they are left out."""
    t_rep, u_rep, e_rep, _ = repeated_digit_states()
    m_rep = {d: sub(u_rep[d], t_rep[d]) for d in range(10)}
    rep_of_tm = {(t_rep[d], m_rep[d]): d for d in range(10)}
    between = f" {after_first} " if after_first else " "
    alts = []
    for t in STATES:
        for x in STATES:
            u = add(t, x)
            d = rep_of_tm.get((t, x))
            if d is None:
                alts.append(f"${n('first', t)} ${n('mid', x)} ${n('end', u)}")
                continue
            alts.append(f"$firstnot_{d} ${n('mid', x)} ${n('end', u)}")
            alts += [f"{a}{between}$midnot_{d} ${n('end', u)}" for a in spell(REP3[d])]
            alts += [f"{a}{between}{b} $endnot_{d}" for a in spell(REP3[d]) for b in spell(REP3[d])]
    w.rule("digits", "11 digits: the first block (leaving T), the second (adding X), then what may "
           "follow six digits leaving T + X", alts, per_line=4)
    for u in STATES:
        w.rule(n("end", u), f"digits 7-9 and the check digits after six digits leaving {u}",
               [f"${n('last', e)} ${n('check', add(u, e))}" for e in STATES], per_line=4, prefix=before_end)
    for d in range(10):
        u = u_rep[d]
        alts = [f"${n('last', e)} ${n('check', add(u, e))}" if e != e_rep[d] else
                f"$lastnot_{d} ${n('check', add(u, e))}" for e in STATES]
        w.rule(f"endnot_{d}", f"digits 7-9 and the check digits after {str(d) * 6}, except {str(d) * 5}",
               alts, per_line=4, prefix=before_end)
    for prefix, table, first in (("first", FIRST, 1), ("mid", MID, 4), ("last", LAST, 7)):
        what = "the first three digits leaving" if first == 1 else f"digits {first}-{first + 2} adding"
        after = after_first if first == 1 else ""
        for s in STATES:
            w.rule(n(prefix, s), f"{what} {s}",
                   [a for x in table.get(s, []) for a in spell(x)] or ["$VOID"], per_line=5, suffix=after)
        for d in range(10):
            s = contribution(REP3[d], first)
            w.rule(f"{prefix}not_{d}", f"{what} {s}, except {str(d) * 3}",
                   [a for x in table[s] if x != REP3[d] for a in spell(x)] or ["$VOID"], per_line=5, suffix=after)
    for s in STATES:
        w.rule(n("check", s), f"the check digits after nine digits leaving {s}", spell(check_digits(s)),
               prefix=before_check)


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def rule(self, name: str, comment: str, alternatives: list[str], per_line: int = 1, prefix: str = "",
             suffix: str = "") -> None:
        """``private $name = alternatives;``, or ``prefix (alternatives) suffix`` when either is given."""
        wrap = bool(prefix or suffix)
        head = f"private ${name} = " + (f"{prefix} (" if prefix else "(" if wrap else "")
        rows = [" | ".join(alternatives[i:i + per_line]) for i in range(0, len(alternatives), per_line)]
        body = ("\n" + " " * (len(head) - 2) + "| ").join(rows)
        tail = (")" + (f" {suffix}" if suffix else "")) if wrap else ""
        self.lines += ["", f"// {comment}", head + body + tail + ";"]


def self_test() -> None:
    """The decomposition, walked in Python, accepts exactly the valid CPFs (on a sample)."""
    import random
    rng = random.Random(7)
    samples = ["".join(str(d) * 11) for d in range(10)]
    for _ in range(5000):
        body = [rng.randrange(10) for _ in range(9)]
        s = contribution(tuple(body), 1)
        samples.append("".join(map(str, body + list(check_digits(s)))))
        samples.append("".join(str(rng.randrange(10)) for _ in range(11)))
    for cpf in samples:
        ds = tuple(int(c) for c in cpf)
        u = add(contribution(ds[:3], 1), contribution(ds[3:6], 4))
        e = contribution(ds[6:9], 7)
        ok = check_digits(add(u, e)) == ds[9:] and len(set(ds)) > 1
        assert ok == valid(cpf), cpf
