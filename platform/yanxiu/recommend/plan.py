"""Prerequisite-aware, budgeted learning paths over any knowledge graph (研训路径规划核心).

`plan_path` is pure and deterministic and knows nothing about Yanxiu's catalog: items are
plain string ids, so it serves course catalogs and generic knowledge-structure graphs alike.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["PathStep", "plan_path"]

TARGET = "target"
PREREQUISITE_OF = "prerequisite_of:"
PARTIAL_PREREQUISITE_OF = "partial_prerequisite_of:"

Graph = Mapping[str, Collection[str]]


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of a learning path.

    Attributes:
        item: The item to study.
        reason: Machine-readable reason: ``"target"`` (a learning target),
            ``"prerequisite_of:X"`` (needed for target X, which the path completes) or
            ``"partial_prerequisite_of:X"`` (groundwork for X, which the budget cannot complete).
        reason_text: The same reason in Chinese, for display.
        for_targets: Every unmastered target whose missing closure contains the item, sorted.
        cost: The cost of this step (1.0 when no cost mapping is given).
        cumulative_cost: The cost of the path up to and including this step.
        mastery: The current mastery estimate, or None when unknown.
    """

    item: str
    reason: str
    reason_text: str
    for_targets: tuple[str, ...]
    cost: float
    cumulative_cost: float
    mastery: float | None


def plan_path(
    graph: Graph,
    mastery: Mapping[str, float],
    targets: Collection[str],
    budget: int,
    *,
    mastered_at: float = 0.6,
    cost: Mapping[str, float] | None = None,
    max_cost: float | None = None,
) -> list[PathStep]:
    """Plan an ordered path that brings a learner to as many targets as the budget allows.

    Semantics:
        * ``graph`` maps an item to its prerequisites; an item may appear only as a
          prerequisite. A target that appears nowhere in the graph raises ``ValueError``; so
          does a cycle among the items reachable from the targets (mastered or not), with
          the cycle in the message (``a -> b -> a``: each item requires the next). The rest
          of the graph is not inspected, so the work scales with the targets' ancestry.
        * An item is mastered when ``mastery.get(item, 0.0) >= mastered_at`` (unknown = not
          mastered). Mastered items are never scheduled, and recursion stops at them: a
          mastered item's own prerequisites are not needed for it.
        * A target's *missing closure* is the target plus its transitively unmastered
          prerequisites. Completing a target means scheduling its whole missing closure.
          Mastered targets need nothing and appear nowhere in the result.
        * ``budget`` caps the number of steps; ``max_cost`` (optional) caps the summed
          ``cost`` (items missing from ``cost`` cost 1.0; costs must be finite and >= 0).
          Sums are exact (``fractions.Fraction``), so rounding never flips a limit.

    Selection (greedy): completing the most targets is a set-union knapsack problem, which is
    NP-hard, so targets are picked greedily. Repeatedly, among the targets whose marginal
    closure (missing items not yet scheduled) still fits, take the one with the smallest
    marginal price, ties broken by the smaller whole closure, then by target id. The price
    is counted in steps (then cost) without ``max_cost``, in cost (then steps) with it.
    When nothing more fits, leftover capacity is filled with groundwork: the unmastered
    prerequisites of the next-best remaining targets (same ranking), prerequisites first,
    skipping any item that does not fit or whose prerequisites are not scheduled. Only then
    can a path hold prerequisites of a target it does not reach.

    Order: targets' closures are scheduled as blocks in selection order, so one target is
    finished before the next begins (cheapest wins first), followed by the groundwork.
    Within a block the order is topological and, among available items, prefers the item
    closest to the threshold (highest current mastery, unknown = 0), then the smaller id.

    Guarantees: every scheduled item follows all its unmastered prerequisites; no
    duplicates; no mastered item; ``budget`` and ``max_cost`` hold; if the union of all
    missing closures fits, every unmastered target is reached (exactly that union is
    scheduled); a single target is reached iff its closure fits; at least one target is
    reached whenever any target fits alone; with disjoint closures and no ``max_cost`` the
    number reached is optimal; the output does not depend on mapping or collection order.

    Args:
        graph: Item id -> ids of its prerequisites.
        mastery: Estimated mastery in [0, 1]; missing ids are unknown (treated as 0).
        targets: Items the learner must come to master.
        budget: At most this many steps.
        mastered_at: Mastery at or above this counts as mastered.
        cost: Item id -> cost (for example hours); None means 1 per item.
        max_cost: Optional cap on the summed cost of the path.

    Returns:
        The steps in study order.

    Raises:
        ValueError: Unknown target, prerequisite cycle, negative budget or max_cost, bad cost.
        TypeError: ``targets`` or a prerequisite collection is a bare string.

    Example:
        >>> graph = {"decimals": ["fractions"], "percentages": ["decimals", "ratios"],
        ...          "ratios": ["fractions"]}
        >>> steps = plan_path(graph, {"fractions": 0.9, "ratios": 0.4}, ["percentages"], 5)
        >>> [(s.item, s.reason) for s in steps]
        [('ratios', 'prerequisite_of:percentages'), ('decimals', 'prerequisite_of:percentages'), ('percentages', 'target')]
        >>> steps[0].reason_text
        '目标「percentages」的先修内容'
    """
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    if max_cost is not None and (math.isnan(max_cost) or max_cost < 0):
        raise ValueError(f"max_cost must be >= 0, got {max_cost}")
    limit = None if max_cost is None or math.isinf(max_cost) else Fraction(max_cost)
    target_set = _known_targets(graph, targets)
    _raise_on_cycle(graph, sorted(target_set))

    def mastered(item: str) -> bool:
        return mastery.get(item, 0.0) >= mastered_at

    def level(item: str) -> float:
        value = float(mastery.get(item, 0.0))
        return 0.0 if math.isnan(value) else value

    closures = {
        t: _missing_closure(graph, t, mastered) for t in sorted(target_set) if not mastered(t)
    }
    holders: dict[str, list[str]] = {}
    for t, closure in closures.items():
        for item in closure:
            holders.setdefault(item, []).append(t)
    price = {item: _price(cost, item) for item in holders}
    miss_n = {t: len(c) for t, c in closures.items()}
    miss_c = {t: sum((price[i] for i in c), Fraction(0)) for t, c in closures.items()}
    whole_n, whole_c = dict(miss_n), dict(miss_c)

    def rank(t: str) -> tuple[object, ...]:
        if limit is None:
            return (miss_n[t], miss_c[t], whole_n[t], whole_c[t], t)
        return (miss_c[t], miss_n[t], whole_c[t], whole_n[t], t)

    def fits(n: int, c: Fraction) -> bool:
        return used_n + n <= budget and (limit is None or used_c + c <= limit)

    sequence: list[tuple[str, str]] = []  # (item, reason)
    scheduled: set[str] = set()
    used_n, used_c = 0, Fraction(0)

    def schedule(item: str, reason: str) -> None:
        nonlocal used_n, used_c
        sequence.append((item, reason))
        scheduled.add(item)
        used_n += 1
        used_c += price[item]
        for t in holders[item]:
            miss_n[t] -= 1
            miss_c[t] -= price[item]

    remaining = set(closures)
    while True:
        feasible = [t for t in remaining if fits(miss_n[t], miss_c[t])]
        if not feasible:
            break
        best = min(feasible, key=rank)
        remaining.discard(best)
        for item in _topo_order(graph, closures[best] - scheduled, level):
            schedule(item, TARGET if item in target_set else PREREQUISITE_OF + best)

    for t in sorted(remaining, key=rank):  # groundwork; no remaining target can be completed
        for item in _topo_order(graph, closures[t] - scheduled, level):
            ready = all(p in scheduled or mastered(p) for p in _prereqs(graph, item))
            if ready and fits(1, price[item]):
                schedule(item, PARTIAL_PREREQUISITE_OF + t)

    steps: list[PathStep] = []
    total = Fraction(0)
    for item, reason in sequence:
        total += price[item]
        known = mastery.get(item)
        steps.append(
            PathStep(
                item=item,
                reason=reason,
                reason_text=_reason_text(reason),
                for_targets=tuple(holders[item]),
                cost=float(price[item]),
                cumulative_cost=float(total),
                mastery=None if known is None else float(known),
            )
        )
    return steps


def _reason_text(reason: str) -> str:
    if reason == TARGET:
        return "学习目标"
    if reason.startswith(PREREQUISITE_OF):
        return f"目标「{reason.removeprefix(PREREQUISITE_OF)}」的先修内容"
    target = reason.removeprefix(PARTIAL_PREREQUISITE_OF)
    return f"目标「{target}」的先修内容（本次预算内无法完成该目标，先打基础）"


def _prereqs(graph: Graph, item: str) -> list[str]:
    found = graph.get(item, ())
    if isinstance(found, str):
        raise TypeError(f"prerequisites of {item!r} must be a collection of ids, not a string")
    return sorted(set(found))


def _known_targets(graph: Graph, targets: Collection[str]) -> set[str]:
    if isinstance(targets, str):
        raise TypeError("targets must be a collection of ids, not a string")
    wanted = set(targets)
    absent = wanted.difference(graph)
    if absent:  # only then scan for items that appear solely as prerequisites
        absent -= {p for item in graph for p in _prereqs(graph, item)}
    if absent:
        raise ValueError(f"unknown target(s), not in the graph: {', '.join(sorted(absent))}")
    return wanted


def _raise_on_cycle(graph: Graph, roots: list[str]) -> None:
    """Iterative depth-first search over everything reachable from ``roots``."""
    state: dict[str, bool] = {}  # True while on the current path, False when finished
    for root in roots:
        if root in state:
            continue
        path, state[root] = [root], True
        stack = [iter(_prereqs(graph, root))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = False
                stack.pop()
            elif state.get(nxt):
                cycle = path[path.index(nxt) :] + [nxt]
                raise ValueError(f"prerequisite cycle: {' -> '.join(cycle)}")
            elif nxt not in state:
                state[nxt] = True
                path.append(nxt)
                stack.append(iter(_prereqs(graph, nxt)))


def _missing_closure(graph: Graph, target: str, mastered: Callable[[str], bool]) -> frozenset[str]:
    seen, stack = {target}, [target]
    while stack:
        for p in _prereqs(graph, stack.pop()):
            if p not in seen and not mastered(p):
                seen.add(p)
                stack.append(p)
    return frozenset(seen)


def _price(cost: Mapping[str, float] | None, item: str) -> Fraction:
    if cost is None:
        return Fraction(1)
    value = cost.get(item, 1.0)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"cost of {item!r} must be finite and >= 0, got {value}")
    return Fraction(value)


def _topo_order(graph: Graph, block: Collection[str], level: Callable[[str], float]) -> list[str]:
    """Kahn's algorithm over ``block``; among available items: highest mastery, then id."""
    waiting = dict.fromkeys(block, 0)
    dependents: dict[str, list[str]] = {}
    for item in block:
        for p in _prereqs(graph, item):
            if p in waiting:
                waiting[item] += 1
                dependents.setdefault(p, []).append(item)
    heap = [(-level(i), i) for i, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, item = heapq.heappop(heap)
        order.append(item)
        for d in dependents.get(item, ()):
            waiting[d] -= 1
            if not waiting[d]:
                heapq.heappush(heap, (-level(d), d))
    return order
