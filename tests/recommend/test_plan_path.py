"""plan_path: property tests on random DAGs plus examples on a generic maths knowledge graph.

The properties are checked against an independent reference (closures computed here), with
exact (Fraction) cost sums so no float rounding can make a check flaky.
"""

from __future__ import annotations

import dataclasses
import doctest
import itertools
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import yanxiu.recommend.plan as plan_module
from yanxiu.recommend import PathStep, plan_path

# --------------------------------------------------------------------------- reference model


def is_mastered(mastery, item, mastered_at):
    return mastery.get(item, 0.0) >= mastered_at


def closure(graph, mastery, target, mastered_at):
    """The target plus its transitively unmastered prerequisites (recursion stops at mastered)."""
    seen, todo = {target}, [target]
    while todo:
        for p in graph.get(todo.pop(), ()):
            if p not in seen and not is_mastered(mastery, p, mastered_at):
                seen.add(p)
                todo.append(p)
    return seen


def price(items, cost):
    return sum((Fraction(cost.get(i, 1.0)) if cost else Fraction(1) for i in items), Fraction(0))


def fits(items, budget, cost, max_cost):
    return len(items) <= budget and (max_cost is None or price(items, cost) <= Fraction(max_cost))


# --------------------------------------------------------------------------- strategies


@st.composite
def problems(draw, max_nodes=12):
    """A random DAG (edges only to lower-numbered nodes) with mastery, targets and limits."""
    n = draw(st.integers(1, max_nodes))
    nodes = [f"k{i:02d}" for i in range(n)]
    graph = {}
    for i, node in enumerate(nodes):
        prereqs = draw(st.lists(st.sampled_from(nodes[:i]), unique=True)) if i else []
        if prereqs or draw(st.booleans()):  # some items appear only as prerequisites
            graph[node] = prereqs
    levels = st.one_of(st.sampled_from([0.0, 0.3, 0.59, 0.6, 0.61, 1.0]), st.floats(0, 1))
    mastery = draw(st.dictionaries(st.sampled_from(nodes), levels))
    known = sorted(set(graph).union(*graph.values()))
    targets = draw(st.lists(st.sampled_from(known), max_size=6)) if known else []
    budget = draw(st.integers(0, n + 2))
    cost = draw(
        st.none()
        | st.dictionaries(
            st.sampled_from(nodes), st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]) | st.floats(0, 5)
        )
    )
    max_cost = draw(st.none() | st.floats(0, 20) | st.sampled_from([0.0, 1.0, 2.0, 4.0]))
    mastered_at = draw(st.sampled_from([0.6, 0.6, 0.5, 0.0, 1.0]))
    return graph, mastery, targets, budget, cost, max_cost, mastered_at


def run(problem):
    graph, mastery, targets, budget, cost, max_cost, mastered_at = problem
    return plan_path(
        graph, mastery, targets, budget, mastered_at=mastered_at, cost=cost, max_cost=max_cost
    )


def shuffled(problem, rnd):
    """The same problem with every mapping and collection in a different order."""
    graph, mastery, targets, budget, cost, max_cost, mastered_at = problem

    def mix(d, f=lambda v: v):
        keys = list(d)
        rnd.shuffle(keys)
        return {k: f(d[k]) for k in keys}

    def mixed_list(v):
        v = list(v)
        rnd.shuffle(v)
        return tuple(v) if rnd.random() < 0.5 else set(v)

    targets = list(targets) * 2  # duplicates are harmless too
    rnd.shuffle(targets)
    return (
        mix(graph, mixed_list),
        mix(mastery),
        targets,
        budget,
        None if cost is None else mix(cost),
        max_cost,
        mastered_at,
    )


# --------------------------------------------------------------------------- properties


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_plan_properties(problem):
    graph, mastery, targets, budget, cost, max_cost, mastered_at = problem
    steps = run(problem)
    items = [s.item for s in steps]
    position = {item: i for i, item in enumerate(items)}

    assert len(items) == len(set(items)), "no duplicates"
    assert len(items) <= budget, "budget held"
    if max_cost is not None:
        assert price(items, cost) <= Fraction(max_cost), "max_cost held"
    for i, item in enumerate(items):
        assert not is_mastered(mastery, item, mastered_at), "no mastered item"
        for p in graph.get(item, ()):
            if not is_mastered(mastery, p, mastered_at):
                assert position.get(p, len(items)) < i, f"{p} must precede {item}"

    open_targets = sorted({t for t in targets if not is_mastered(mastery, t, mastered_at)})
    closures = {t: closure(graph, mastery, t, mastered_at) for t in open_targets}
    plan = set(items)
    reached = [t for t in open_targets if closures[t] <= plan]
    covered = set().union(*(closures[t] for t in reached))
    union = set().union(*closures.values())

    assert plan <= union, "only items some unmastered target needs"
    if fits(union, budget, cost, max_cost):
        assert plan == union and reached == open_targets, "everything fits -> all reached"
    if len(open_targets) == 1:
        (t,) = open_targets
        assert (t in reached) == fits(closures[t], budget, cost, max_cost)
    if any(fits(c, budget, cost, max_cost) for c in closures.values()):
        assert reached, "at least as good as the best single target"
    for t in open_targets:  # greedy stops only when no further target fits next to `covered`
        if t not in reached:
            assert not fits(covered | closures[t], budget, cost, max_cost)
    # groundwork (prerequisites of unreached targets) only after all completed closures
    groundwork = [i for i, item in enumerate(items) if item not in covered]
    assert all(i >= len(covered) for i in groundwork)
    # related items stay together: at any moment at most one target is in progress
    for n in range(len(covered) + 1):
        prefix = set(items[:n])
        done = set().union(*(closures[t] for t in reached if closures[t] <= prefix))
        started = prefix - done
        assert any(started <= closures[t] for t in reached) or not started

    total = Fraction(0)
    for step in steps:
        total += Fraction(step.cost)
        assert step.cumulative_cost == float(total)
        assert step.mastery == mastery.get(step.item)
        assert step.for_targets == tuple(t for t in open_targets if step.item in closures[t])
        if step.reason == "target":
            assert step.item in targets and step.item in reached
            assert step.reason_text == "学习目标"
        else:
            kind, target = step.reason.split(":", 1)
            assert target in step.for_targets and step.item not in targets
            assert (kind == "prerequisite_of") == (target in reached)
            assert kind in {"prerequisite_of", "partial_prerequisite_of"}
            assert step.reason_text.startswith(f"目标「{target}」的先修内容")


@settings(max_examples=200, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_deterministic_under_reordering(problem, rnd):
    first = run(problem)
    assert run(problem) == first
    assert run(shuffled(problem, rnd)) == first


@st.composite
def disjoint_problems(draw):
    """Targets whose missing closures cannot overlap: one private chain-ish DAG each."""
    graph, targets, cost = {}, [], {}
    for g in range(draw(st.integers(1, 5))):
        size = draw(st.integers(1, 5))
        nodes = [f"g{g}_{i}" for i in range(size)]
        graph[nodes[0]] = []
        for i, node in enumerate(nodes[1:], start=1):
            graph[node] = draw(st.lists(st.sampled_from(nodes[:i]), min_size=1, unique=True))
        targets.append(nodes[-1])
        for node in nodes:
            cost[node] = draw(st.sampled_from([0.5, 1.0, 4.0]))
    budget = draw(st.integers(0, 20))
    return graph, {}, targets, budget, draw(st.none() | st.just(cost)), None, 0.6


@settings(max_examples=200, deadline=None)
@given(disjoint_problems())
def test_optimal_when_closures_are_disjoint(problem):
    graph, mastery, targets, budget, cost, _, mastered_at = problem
    steps = run(problem)
    plan = {s.item for s in steps}
    closures = {t: closure(graph, mastery, t, mastered_at) for t in targets}
    best = max(
        k
        for k in range(len(targets) + 1)
        for chosen in itertools.combinations(targets, k)
        if len(set().union(*(closures[t] for t in chosen))) <= budget
    )
    assert sum(closures[t] <= plan for t in targets) == best


# --------------------------------------------------------------------------- examples

# A generic knowledge structure (primary-school arithmetic), nothing to do with the catalog.
MATHS = {
    "addition": ["counting"],
    "subtraction": ["addition"],
    "multiplication": ["addition"],
    "division": ["multiplication", "subtraction"],
    "fractions": ["division"],
    "decimals": ["fractions"],
    "ratios": ["fractions"],
    "percentages": ["decimals", "ratios"],
}


def trace(steps):
    return [(s.item, s.reason) for s in steps]


def test_maths_graph_full_path():
    mastery = {"counting": 0.95, "addition": 0.8, "subtraction": 0.55, "multiplication": 0.2}
    steps = plan_path(MATHS, mastery, ["percentages"], budget=10)
    for_p = "prerequisite_of:percentages"
    assert trace(steps) == [
        ("subtraction", for_p),  # 0.55: closest to the threshold goes first
        ("multiplication", for_p),
        ("division", for_p),
        ("fractions", for_p),
        ("decimals", for_p),
        ("ratios", for_p),
        ("percentages", "target"),
    ]
    assert steps[0].mastery == 0.55 and steps[2].mastery is None
    assert steps[0].reason_text == "目标「percentages」的先修内容"
    assert steps[-1].reason_text == "学习目标"
    assert [s.cumulative_cost for s in steps] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_mastered_items_stop_the_recursion_and_mastered_targets_vanish():
    mastery = {"fractions": 0.7, "ratios": 0.9}  # division etc. unknown, but not needed
    steps = plan_path(MATHS, mastery, ["percentages", "ratios"], budget=10)
    assert trace(steps) == [
        ("decimals", "prerequisite_of:percentages"),
        ("percentages", "target"),
    ]
    assert all(s.for_targets == ("percentages",) for s in steps)


def test_cheapest_target_first_and_one_target_at_a_time():
    mastery = {"counting": 1.0, "addition": 1.0}
    steps = plan_path(MATHS, mastery, ["division", "multiplication", "subtraction"], budget=10)
    assert trace(steps) == [
        ("multiplication", "target"),  # ties (1 step each) go by id
        ("subtraction", "target"),
        ("division", "target"),
    ]
    assert steps[0].for_targets == ("division", "multiplication")


def test_budget_picks_most_targets_then_groundwork():
    graph = {"big": ["b1", "b2", "b3"], "small_a": ["a1"], "small_b": ["s1"]}
    steps = plan_path(graph, {}, ["big", "small_a", "small_b"], budget=5)
    assert trace(steps) == [
        ("a1", "prerequisite_of:small_a"),
        ("small_a", "target"),
        ("s1", "prerequisite_of:small_b"),
        ("small_b", "target"),
        ("b1", "partial_prerequisite_of:big"),  # leftover step: groundwork, never the target
    ]
    assert steps[-1].reason_text.startswith("目标「big」的先修内容（")


def test_shared_prerequisites_make_a_target_cheaper():
    graph = {"t1": ["x", "y"], "t2": ["x", "y"], "t3": ["z1", "z2"]}
    steps = plan_path(graph, {}, ["t1", "t2", "t3"], budget=4)
    assert [s.item for s in steps] == ["x", "y", "t1", "t2"]
    assert steps[0].for_targets == ("t1", "t2")


def test_costs_and_max_cost():
    cost = {"decimals": 2.0, "ratios": 1.5, "percentages": 0.5, "fractions": 3.0}
    mastery = {"division": 0.9}
    steps = plan_path(MATHS, mastery, ["percentages"], budget=10, cost=cost)
    assert [(s.item, s.cost, s.cumulative_cost) for s in steps] == [
        ("fractions", 3.0, 3.0),
        ("decimals", 2.0, 5.0),
        ("ratios", 1.5, 6.5),
        ("percentages", 0.5, 7.0),
    ]
    assert plan_path(MATHS, mastery, ["percentages"], 10, cost=cost, max_cost=7.0) == steps
    both = ["percentages", "decimals"]
    short = plan_path(MATHS, mastery, both, 10, cost=cost, max_cost=6.0)
    assert trace(short) == [
        ("fractions", "prerequisite_of:decimals"),
        ("decimals", "target"),
    ]
    assert short[-1].cumulative_cost == 5.0  # ratios (1.5) would exceed 6.0
    roomier = plan_path(MATHS, mastery, both, 10, cost=cost, max_cost=6.5)
    assert trace(roomier) == trace(short) + [("ratios", "partial_prerequisite_of:percentages")]
    assert roomier[-1].cumulative_cost == 6.5


def test_max_cost_ranks_by_cost_and_steps_rank_without_it():
    graph = {"cheap_long": ["c1", "c2"], "dear_short": []}
    cost = {"cheap_long": 0.5, "c1": 0.5, "c2": 0.5, "dear_short": 4.0}
    by_steps = plan_path(graph, {}, ["cheap_long", "dear_short"], budget=3, cost=cost)
    assert [s.item for s in by_steps] == ["dear_short", "c1", "c2"]
    by_cost = plan_path(graph, {}, ["cheap_long", "dear_short"], 3, cost=cost, max_cost=4.0)
    assert [s.item for s in by_cost] == ["c1", "c2", "cheap_long"]


def test_cycle_is_reported_with_its_path():
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    with pytest.raises(ValueError, match="prerequisite cycle: a -> b -> c -> a"):
        plan_path(graph, {}, ["d"], budget=5)
    with pytest.raises(ValueError, match="prerequisite cycle: a -> b -> c -> a"):
        plan_path(graph, {"a": 1.0, "b": 1.0, "c": 1.0}, ["d"], budget=5)  # even if mastered
    with pytest.raises(ValueError, match="prerequisite cycle: x -> x"):
        plan_path({"x": ["x"]}, {}, ["x"], budget=5)


def test_unknown_targets_and_bad_arguments():
    with pytest.raises(ValueError, match="unknown target.*algebra, geometry"):
        plan_path(MATHS, {}, ["geometry", "algebra", "fractions"], budget=5)
    assert plan_path(MATHS, {"counting": 0.1}, ["counting"], 1)[0].item == "counting"
    with pytest.raises(ValueError, match="budget"):
        plan_path(MATHS, {}, ["fractions"], budget=-1)
    with pytest.raises(ValueError, match="max_cost"):
        plan_path(MATHS, {}, ["fractions"], budget=3, max_cost=-1.0)
    with pytest.raises(ValueError, match="cost of 'fractions'"):
        plan_path(MATHS, {}, ["fractions"], budget=3, cost={"fractions": float("nan")})
    with pytest.raises(TypeError):
        plan_path(MATHS, {}, "fractions", budget=3)
    with pytest.raises(TypeError):
        plan_path({"b": "a"}, {}, ["b"], budget=3)


def test_edge_cases():
    assert plan_path(MATHS, {}, ["percentages"], budget=0) == []
    assert plan_path(MATHS, {}, [], budget=5) == []
    assert plan_path({}, {"x": 0.2}, [], budget=5) == []
    zero = plan_path(MATHS, {"addition": 1.0}, ["multiplication"], 1, cost={"multiplication": 0})
    assert trace(zero) == [("multiplication", "target")] and zero[0].cumulative_cost == 0.0
    inf = plan_path(MATHS, {"addition": 1.0}, ["multiplication"], 1, max_cost=float("inf"))
    assert inf == plan_path(MATHS, {"addition": 1.0}, ["multiplication"], 1)
    step = inf[0]
    assert isinstance(step, PathStep)
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.item = "other"  # type: ignore[misc]


def test_docstring_example():
    assert doctest.testmod(plan_module).failed == 0
