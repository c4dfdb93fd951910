"""The CPF check-digit decomposition shared by the grammar generators (``dtmf_cpf.py``,
``pt_br_cpf.py``): the state after some digits is the pair of weighted sums mod 11 the two check
digits need; the nine digits are three blocks of three, each block grouped by what it adds."""

from __future__ import annotations

import itertools

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


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def rule(self, name: str, comment: str, alternatives: list[str], per_line: int = 1) -> None:
        head = f"private ${name} = "
        rows = [" | ".join(alternatives[i:i + per_line]) for i in range(0, len(alternatives), per_line)]
        body = ("\n" + " " * (len(head) - 2) + "| ").join(rows)
        self.lines += ["", f"// {comment}", head + body + ";"]


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
