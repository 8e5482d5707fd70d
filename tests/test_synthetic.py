from collections import deque

from yanxiu.catalog.schema import find_cycle, parse_resources
from yanxiu.lab.synthetic import generate_resources, generate_teachers


def test_synthetic_catalog_is_valid_deterministic_and_acyclic(content):
    items = list(generate_resources(3000, seed=3))
    assert items == list(generate_resources(3000, seed=3))
    assert items != list(generate_resources(3000, seed=4))
    resources, problems = parse_resources(
        [(f"synthetic {i}", r) for i, r in enumerate(items)], competency_ids=content.competency_ids
    )
    assert problems == [] and len(resources) == 3000
    assert find_cycle({r.id: r.prerequisites for r in resources}) is None
    assert sum(1 for r in resources if r.prerequisites) > 300


def test_synthetic_teachers_complete_resources_that_fit_them():
    items = list(generate_resources(2000))
    by_id = {r["id"]: r for r in items}
    teachers = generate_teachers(500, items)
    assert len(teachers) == 500 and teachers == generate_teachers(500, items)
    assert sum(len(t.completed) for t in teachers) > 1000
    for t in teachers:
        for rid in t.completed:
            r = by_id[rid]
            assert t.stage in r["stages"] and (
                r["subjects"] == ["通用"] or t.subject in r["subjects"]
            )


def test_generator_scales_to_100k_lazily():
    (last,) = deque(generate_resources(100_000), maxlen=1)
    assert last["id"] == "SYN-0099999"
