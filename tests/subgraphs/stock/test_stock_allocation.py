"""The allocation strategy (pure): properties under hypothesis, and the documented order."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.stock.allocation import (
    Allocation,
    Candidate,
    Line,
    Place,
    Shortage,
    allocate,
    haversine_km,
    rank,
)

LOCS = [uuid.UUID(int=i + 1) for i in range(4)]
SKUS = [uuid.UUID(int=100 + i) for i in range(3)]

places = st.builds(
    Place,
    region=st.sampled_from([None, "ARA", "HH"]),
    postal_code=st.sampled_from([None, "69001", "69100", "20095"]),
    latitude=st.one_of(st.none(), st.floats(-60, 60)),
    longitude=st.one_of(st.none(), st.floats(-170, 170)),
)
candidates = st.lists(
    st.builds(Candidate, location_id=st.sampled_from(LOCS), priority=st.integers(0, 3), place=places),
    min_size=0,
    max_size=4,
    unique_by=lambda c: c.location_id,
)
stock = st.dictionaries(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(LOCS)), st.integers(0, 20), max_size=12
)
lines = st.lists(
    st.builds(Line, line_id=st.uuids().map(str), sku_id=st.sampled_from(SKUS), quantity=st.integers(1, 25)),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(lines, candidates, stock, st.one_of(st.none(), places))
def test_allocation_properties(ls: list[Line], cs: list[Candidate], avail: dict, dest: Place | None) -> None:
    result = allocate(ls, cs, avail, dest)
    cand_ids = {c.location_id for c in cs}
    usable = {k: v for k, v in avail.items() if k[1] in cand_ids}
    demand: dict[uuid.UUID, int] = {}
    for ln in ls:
        demand[ln.sku_id] = demand.get(ln.sku_id, 0) + ln.quantity
    supply = {s: sum(v for (sk, _), v in usable.items() if sk == s) for s in demand}
    if isinstance(result, Shortage):
        # all or none: a shortage only when some SKU's total demand exceeds its total supply
        assert any(demand[s] > supply[s] for s in demand)
        assert result.lines
        return
    assert isinstance(result, Allocation)
    assert all(demand[s] <= supply[s] for s in demand)
    used: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for pick in result.picks:
        assert pick.location_id in cand_ids and pick.quantity > 0
        used[(pick.sku_id, pick.location_id)] = used.get((pick.sku_id, pick.location_id), 0) + pick.quantity
    for key, qty in used.items():
        assert qty <= avail.get(key, 0)  # never more than a location has
    for ln in ls:
        served = sum(p.quantity for p in result.picks if p.line_id == ln.line_id)
        assert served == ln.quantity  # every line fully served


@settings(max_examples=200, deadline=None)
@given(
    st.builds(Line, line_id=st.just("l"), sku_id=st.just(SKUS[0]), quantity=st.integers(1, 20)),
    candidates,
    stock,
    st.one_of(st.none(), places),
)
def test_a_line_one_location_can_serve_is_not_split_and_goes_to_the_first_ranked(
    line: Line, cs: list[Candidate], avail: dict, dest: Place | None
) -> None:
    result = allocate([line], cs, avail, dest)
    ranked = rank(cs, dest)
    able = [c for c in ranked if avail.get((line.sku_id, c.location_id), 0) >= line.quantity]
    if able:
        assert isinstance(result, Allocation)
        assert [p.location_id for p in result.picks] == [able[0].location_id]
    elif isinstance(result, Allocation):
        assert len(result.picks) > 1  # split only when no single location could


def test_priority_beats_distance_and_distance_beats_region() -> None:
    lyon = Place("ARA", "69001", 45.76, 4.84)
    hamburg = Place("HH", "20095", 53.55, 9.99)
    near, far, unknown = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
    cs = [Candidate(far, 1, hamburg), Candidate(near, 1, lyon), Candidate(unknown, 1, Place("ARA", "69002"))]
    assert [c.location_id for c in rank(cs, Place("ARA", "69003", 45.75, 4.85))] == [near, far, unknown]
    cs[0] = Candidate(far, 0, hamburg)
    assert rank(cs, Place("ARA", "69003", 45.75, 4.85))[0].location_id == far
    # without coordinates: same region, then the longest postal prefix
    no_coords = [
        Candidate(far, 1, Place("HH", "20095")),
        Candidate(near, 1, Place("ARA", "69100")),
        Candidate(unknown, 1, Place("ARA", "69001")),
    ]
    assert [c.location_id for c in rank(no_coords, Place("ARA", "69003"))] == [unknown, near, far]


def test_haversine() -> None:
    paris, london = Place(latitude=48.8566, longitude=2.3522), Place(latitude=51.5074, longitude=-0.1278)
    assert 340 < haversine_km(paris, london) < 350
