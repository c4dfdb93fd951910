"""The rule-reference graph of a bundle: reachability, nullability, recursion (SRGS §2.2, §5.4).

SRGS allows recursion. Right and centre recursion compile with a depth bound (see
``srgs.compile.expansions``); left recursion -- a rule that can reach itself before consuming a word -- has
no finite-state equivalent and no useful bounded one, so it is refused with the cycle and the
position of each reference on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ..bundle import GrammarBundle
from ..errors import GrammarValidationError
from ..model import (
    Expansion,
    OneOf,
    Repeat,
    Rule,
    RuleRef,
    Sequence,
    SpecialRef,
    Tag,
    Token,
    iter_expansions,
)
from ..text import token_words

RuleKey = tuple[str, str]  # (grammar key, rule name)
# each rule's references in order, with the rule each one reaches
References = dict[RuleKey, tuple[tuple[RuleRef, RuleKey], ...]]


@dataclass(frozen=True, slots=True)
class RuleGraph:
    """Every rule reachable from the roots, what each references, and which are recursive.

    ``components`` are the strongly connected components, dependencies first (a component after
    every component it references). ``component`` maps each rule on a cycle to the index of its
    component; rules that are not recursive are not in it.
    """

    rules: dict[RuleKey, Rule]
    references: References
    nullable: frozenset[RuleKey]
    components: tuple[tuple[RuleKey, ...], ...]
    component: dict[RuleKey, int]

    def same_cycle(self, a: RuleKey, b: RuleKey) -> bool:
        """Whether a reference from rule ``a`` to rule ``b`` closes a recursion cycle."""
        return a in self.component and self.component.get(b) == self.component[a]

    def restricted(self, roots: list[RuleKey]) -> RuleGraph:
        """The graph of the rules reachable from ``roots``, taken from this one without analysing
        again (the loader analyses every rule once; the compiler needs the active rules' part).
        A strongly connected component is reachable whole or not at all, so components stay exact."""
        seen: set[RuleKey] = set()
        stack = [root for root in roots if root in self.rules]
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            stack.extend(target for _, target in self.references.get(key, ()) if target not in seen)
        components = tuple(members for members in self.components if members[0] in seen)
        old_index = {members: index for index, members in enumerate(self.components)}
        component: dict[RuleKey, int] = {}
        for index, members in enumerate(components):
            if members[0] in self.component:
                assert self.component[members[0]] == old_index[members]
                component.update({key: index for key in members})
        return RuleGraph(rules={k: v for k, v in self.rules.items() if k in seen},
                         references={k: v for k, v in self.references.items() if k in seen},
                         nullable=frozenset(k for k in self.nullable if k in seen),
                         components=components, component=component)


def analyse_rules(bundle: GrammarBundle, roots: list[RuleKey]) -> RuleGraph:
    """Build the graph of the rules reachable from ``roots``; refuse left recursion."""
    rules, references = _reachable(bundle, roots)
    nullable = _nullable_rules(bundle, rules, references)
    _refuse_left_recursion(bundle, rules, references, nullable)
    components = _strong_components(references, roots)
    recursive: dict[RuleKey, int] = {}
    for index, members in enumerate(components):
        if len(members) > 1 or any(target == members[0] for _, target in references[members[0]]):
            for key in members:
                recursive[key] = index
    return RuleGraph(rules=rules, references=references, nullable=frozenset(nullable),
                     components=tuple(tuple(c) for c in components), component=recursive)


def rule_display(bundle: GrammarBundle, key: RuleKey) -> str:
    """``$name`` for a rule of the main grammar, ``$<grammar#name>`` for another grammar's."""
    grammar_key, name = key
    return f"${name}" if grammar_key == bundle.main else f"$<{grammar_key}#{name}>"


def _lookup(bundle: GrammarBundle, key: RuleKey, ref: RuleRef | None) -> Rule:
    grammar = bundle.grammars.get(key[0])
    rule = grammar.rule(key[1]) if grammar is not None else None
    if rule is None:
        where = ref.span if ref is not None else (grammar.span if grammar is not None else None)
        raise GrammarValidationError(f"reference to undefined rule {rule_display(bundle, key)}", where)
    return rule


def _reachable(bundle: GrammarBundle, roots: list[RuleKey]) -> tuple[dict[RuleKey, Rule], References]:
    rules: dict[RuleKey, Rule] = {}
    references: References = {}
    stack: list[tuple[RuleKey, RuleRef | None]] = [(key, None) for key in reversed(roots)]
    while stack:
        key, via = stack.pop()
        if key in rules:
            continue
        rule = _lookup(bundle, key, via)
        rules[key] = rule
        refs = tuple(
            (node, bundle.target(key[0], node))
            for node in iter_expansions(rule.expansion)
            if isinstance(node, RuleRef)
        )
        references[key] = refs
        stack.extend((target, ref) for ref, target in reversed(refs) if target not in rules)
    return rules, references


def expansion_nullable(expansion: Expansion, grammar_key: str, bundle: GrammarBundle,
                       nullable_rules: AbstractSet[RuleKey], memo: dict[int, bool] | None = None) -> bool:
    """Whether an expansion can match the empty word sequence (tags and NULL match nothing).

    ``memo`` (node id -> answer) may be shared by calls made while ``nullable_rules`` is fixed.
    """
    mode = bundle.grammars[grammar_key].mode
    memo = {} if memo is None else memo

    def walk(node: Expansion) -> bool:
        known = memo.get(id(node))
        if known is not None:
            return known
        if isinstance(node, Token):
            answer = not token_words(node.text, mode=mode)
        elif isinstance(node, (Tag, SpecialRef)):
            answer = not isinstance(node, SpecialRef) or node.name != "VOID"
        elif isinstance(node, RuleRef):
            answer = bundle.target(grammar_key, node) in nullable_rules
        elif isinstance(node, Sequence):
            answer = all(walk(item) for item in node.items)
        elif isinstance(node, OneOf):
            answer = any(walk(alt.expansion) for alt in node.alternatives)
        elif isinstance(node, Repeat):
            answer = node.min == 0 or node.max == 0 or walk(node.expansion)
        else:
            raise TypeError(f"not an expansion: {node!r}")
        memo[id(node)] = answer
        return answer

    return walk(expansion)


def _nullable_rules(bundle: GrammarBundle, rules: dict[RuleKey, Rule], references: References) -> set[RuleKey]:
    """The least fixpoint over the rules something refers to (no other rule's answer is asked);
    a rule without references is decided by the first pass alone."""
    nullable: set[RuleKey] = set()
    pending = list(dict.fromkeys(target for refs in references.values() for _, target in refs))
    while pending:
        undecided = []
        for key in pending:
            if expansion_nullable(rules[key].expansion, key[0], bundle, nullable):
                nullable.add(key)
            elif references[key]:
                undecided.append(key)
        if len(undecided) == len(pending):
            break
        pending = undecided
    return nullable


def _left_references(expansion: Expansion, grammar_key: str, bundle: GrammarBundle, nullable: AbstractSet[RuleKey],
                     memo: dict[int, bool]) -> list[RuleRef]:
    """The references an expansion can reach before it consumes a word."""
    if isinstance(expansion, RuleRef):
        return [expansion]
    if isinstance(expansion, Sequence):
        out: list[RuleRef] = []
        for item in expansion.items:
            out.extend(_left_references(item, grammar_key, bundle, nullable, memo))
            if not expansion_nullable(item, grammar_key, bundle, nullable, memo):
                break
        return out
    if isinstance(expansion, OneOf):
        return [ref for alt in expansion.alternatives
                for ref in _left_references(alt.expansion, grammar_key, bundle, nullable, memo)]
    if isinstance(expansion, Repeat):
        if expansion.max == 0:
            return []
        return _left_references(expansion.expansion, grammar_key, bundle, nullable, memo)
    return []


def _refuse_left_recursion(bundle: GrammarBundle, rules: dict[RuleKey, Rule], references: References,
                           nullable: AbstractSet[RuleKey]) -> None:
    memo: dict[int, bool] = {}
    edges = {
        key: [(ref, bundle.target(key[0], ref))
              for ref in _left_references(rule.expansion, key[0], bundle, nullable, memo)]
        if references[key] else []
        for key, rule in rules.items()
    }
    done: set[RuleKey] = set()
    for root in rules:
        if root in done:
            continue
        # Iterative depth-first search keeping the path of (rule, reference taken) pairs.
        path: list[tuple[RuleKey, RuleRef | None]] = [(root, None)]
        on_path = {root: 0}
        iters: list[Iterator[tuple[RuleRef, RuleKey]]] = [iter(edges[root])]
        while iters:
            step = next(iters[-1], None)
            if step is None:
                key, _ = path.pop()
                del on_path[key]
                done.add(key)
                iters.pop()
                continue
            ref, target = step
            if target in on_path:
                # only the root has no reference, and it is before the slice
                cycle = [(key, taken) for key, taken in path[on_path[target] + 1:] if taken is not None] + [(target, ref)]
                _raise_cycle(bundle, target, cycle)
            if target in done:
                continue
            on_path[target] = len(path)
            path.append((target, ref))
            iters.append(iter(edges[target]))


def _raise_cycle(bundle: GrammarBundle, start: RuleKey, cycle: list[tuple[RuleKey, RuleRef]]) -> None:
    hops = " -> ".join(f"{rule_display(bundle, key)} (at {ref.span})" for key, ref in cycle)
    raise GrammarValidationError(
        f"left recursion: {rule_display(bundle, start)} -> {hops}; a rule must match a word "
        "before it refers back to itself",
        cycle[0][1].span,
    )


def _strong_components(references: References, roots: list[RuleKey]) -> list[list[RuleKey]]:
    """Tarjan's algorithm, iteratively; components come out dependencies first."""
    index: dict[RuleKey, int] = {}
    low: dict[RuleKey, int] = {}
    stack: list[RuleKey] = []
    on_stack: set[RuleKey] = set()
    components: list[list[RuleKey]] = []
    for root in roots:
        if root in index:
            continue
        work = [(root, iter(references[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            key, children = work[-1]
            step = next(children, None)
            if step is not None:
                target = step[1]
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(references[target])))
                elif target in on_stack:
                    low[key] = min(low[key], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[key])
            if low[key] == index[key]:
                members: list[RuleKey] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == key:
                        break
                members.reverse()
                components.append(members)
    return components


def check_left_recursion(bundle: GrammarBundle) -> RuleGraph:
    """Refuse left recursion anywhere in the bundle, across grammars too (``GrammarValidationError``);
    the graph of every rule, which the loader keeps on the bundle (``GrammarBundle.analysis``)."""
    return analyse_rules(bundle, [(key, rule.name) for key, grammar in bundle.grammars.items() for rule in grammar.rules])
