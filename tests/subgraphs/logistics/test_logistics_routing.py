"""Routing rules: the pure decision, and a table of cases where `simulateRouting` (no effect)
gives the same choice the live routing then makes when the order is confirmed."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from subgraphs.logistics import routing, service
from subgraphs.logistics.shipment_states import (
    ShipmentStatus,
    TrackingOutcome,
    TrackingStatus,
    apply_tracking,
    can_transition,
    path_to,
)
from tests.subgraphs.logistics.helpers import World, apply_in, order_spec

SIMULATE = """
query($input: RoutingSimulateInput!) { simulateRouting(input: $input) {
  chosen { score parcels { locationId carrierCode lines { lineId quantity } } }
  candidates { score } userErrors { field code } } }"""


def test_state_machine_moves() -> None:
    S = ShipmentStatus
    assert can_transition(S.CREATED, S.LABELLED) and not can_transition(S.DELIVERED, S.IN_TRANSIT)
    assert not can_transition(S.DISPATCHED, S.CANCELLED)
    assert path_to(S.LABELLED, S.DELIVERED) == [S.DISPATCHED, S.DELIVERED]
    assert path_to(S.DELIVERED, S.IN_TRANSIT) == []
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 1, 1, tzinfo=UTC)
    late = apply_tracking(S.DELIVERED, t, TrackingStatus.IN_TRANSIT, t - timedelta(hours=1))
    assert late.outcome == TrackingOutcome.STALE
    assert apply_tracking(S.DELIVERED, t, TrackingStatus.IN_TRANSIT, t + timedelta(hours=1)).outcome == (
        TrackingOutcome.IGNORED
    )
    assert apply_tracking(S.LABELLED, None, TrackingStatus.DELIVERED, t).target == S.DELIVERED
    assert apply_tracking(S.IN_TRANSIT, t, TrackingStatus.LOST, t + timedelta(1)).target == S.EXCEPTION
    assert apply_tracking(S.IN_TRANSIT, t, TrackingStatus.PICKED_UP, t + timedelta(1)).outcome == (
        TrackingOutcome.IGNORED
    )


def _carriers() -> list[routing.CarrierInfo]:
    return [
        routing.CarrierInfo("c-std", "STD", Decimal("0.85"), Decimal("5.90")),
        routing.CarrierInfo("c-exp", "EXP", Decimal("0.98"), Decimal("9.90")),
        routing.CarrierInfo("c-ch", "CHX", Decimal("0.99"), Decimal("1.00"), frozenset({"CH"})),
    ]


def test_pure_routing_swaps_same_sku_lines_to_one_parcel() -> None:
    # Two lines of one SKU allocated at two locations (5 each): the lines may swap locations, but
    # every plan ships exactly what stock holds per (SKU, location).
    lines = [routing.Line("l1", "sku", 5), routing.Line("l2", "sku", 5), routing.Line("l3", "bolt", 1)]
    allocations = [
        routing.Allocation("l1", "sku", "A", 5),
        routing.Allocation("l2", "sku", "B", 5),
        routing.Allocation("l3", "bolt", "A", 1),
    ]
    warehouses = [
        routing.WarehouseInfo("A", "DE", Decimal("4")),
        routing.WarehouseInfo("B", "AT", Decimal("6")),
    ]
    decision = routing.route(
        lines, allocations, warehouses, _carriers(), country="DE", weights=routing.Weights()
    )
    # Each unit ships from where stock holds it: per (sku, location) the allocated quantity exactly.
    shipped: dict[tuple[str, str], int] = {}
    for parcel in decision.chosen.parcels:
        for li in parcel.lines:
            sku = next(x.sku_id for x in lines if x.line_id == li.line_id)
            shipped[(sku, parcel.location_id)] = shipped.get((sku, parcel.location_id), 0) + li.quantity
    assert shipped == {("sku", "A"): 5, ("sku", "B"): 5, ("bolt", "A"): 1}
    assert {p.carrier_code for p in decision.chosen.parcels} == {"STD"}  # 5.90 + 10 x 0.15 < 9.90 + 10 x 0.02
    picky = routing.route(
        lines,
        allocations,
        warehouses,
        _carriers(),
        country="DE",
        weights=routing.Weights(carrier_quality=Decimal("500")),
    )
    assert {p.carrier_code for p in picky.chosen.parcels} == {"EXP"}
    assert len(decision.candidates) >= 2 and decision.chosen == decision.candidates[0]
    swiss = routing.route(
        lines, allocations, warehouses, _carriers(), country="CH", weights=routing.Weights()
    )
    assert {p.carrier_code for p in swiss.chosen.parcels} == {"CHX"}  # the only one cheap and serving CH
    with pytest.raises(routing.RoutingError):
        routing.route(
            lines, allocations[:1], warehouses, _carriers(), country="DE", weights=routing.Weights()
        )


CASES: list[tuple[str, dict[str, str], str, list[tuple[int, str]], set[str]]] = [
    # name, weights, delivery country, items (quantity, warehouse attr), expected carrier codes
    ("default weights: price and quality", {}, "DE", [(2, "main"), (1, "south")], {"STD"}),
    ("price first", {"carrierQuality": "0", "carrierPrice": "2"}, "DE", [(2, "main")], {"STD"}),
    (
        "quality first",
        {"carrierQuality": "500", "carrierPrice": "1"},
        "AT",
        [(1, "south"), (3, "south")],
        {"EXP"},
    ),
    ("region heavy", {"region": "100", "carrierQuality": "0"}, "AT", [(4, "main"), (1, "south")], {"STD"}),
]


@pytest.mark.parametrize(
    ("name", "weights", "country", "items", "carriers"), CASES, ids=[c[0] for c in CASES]
)
async def test_simulation_matches_live_routing(
    http_world: World,
    name: str,
    weights: dict[str, str],
    country: str,
    items: list[tuple[int, str]],
    carriers: set[str],
) -> None:
    w = http_world
    sku = uuid.uuid4()
    spec = order_spec(
        w,
        [(sku if i == 0 else uuid.uuid4(), q, getattr(w, loc)) for i, (q, loc) in enumerate(items)],
        country=country,
    )
    await w.apply("orders", "placed", spec.id, spec.placed)
    await w.apply("stock", "reserved", spec.id, {"order_id": str(spec.id), "allocations": spec.allocations})
    update = await w.gql(
        "mutation($input: LogisticsSettingsUpdateInput!) {"
        " logisticsSettingsUpdate(input: $input) { userErrors { code } } }",
        {"input": {"routingWeights": weights}} if weights else {"input": {}},
    )
    assert update["logisticsSettingsUpdate"]["userErrors"] == []
    simulated = (await w.gql(SIMULATE, {"input": {"orderId": str(spec.id)}}))["simulateRouting"]
    assert simulated["userErrors"] == [], name
    chosen = simulated["chosen"]
    assert chosen["score"] == simulated["candidates"][0]["score"]
    assert await w.shipments(spec.id) == []  # simulating acts on nothing

    await w.apply("orders", "confirmed", spec.id, {"order_id": str(spec.id)})
    live = await w.shipments(spec.id)
    expected: list[tuple[str, str, list[tuple[str, int]]]] = sorted(
        (p["locationId"], p["carrierCode"], sorted((li["lineId"], li["quantity"]) for li in p["lines"]))
        for p in chosen["parcels"]
    )
    codes = {w.standard: "STD", w.express: "EXP"}
    got = sorted(
        (
            str(s.location_id),
            codes[s.carrier_id] if s.carrier_id else None,
            sorted((li["line_id"], li["quantity"]) for li in s.lines),
        )
        for s in live
    )
    assert got == expected, name
    assert {c for _, c, _ in got} == carriers, name


async def test_simulate_with_trial_weights_and_bad_input(http_world: World) -> None:
    w = http_world
    spec = order_spec(w, [(uuid.uuid4(), 1, w.main)])
    await w.apply("orders", "placed", spec.id, spec.placed)
    await w.apply("stock", "reserved", spec.id, {"order_id": str(spec.id), "allocations": spec.allocations})
    trial = await w.gql(SIMULATE, {"input": {"orderId": str(spec.id), "weights": {"carrierQuality": "500"}}})
    assert trial["simulateRouting"]["chosen"]["parcels"][0]["carrierCode"] == "EXP"
    default = await w.gql(SIMULATE, {"input": {"orderId": str(spec.id)}})
    assert (
        default["simulateRouting"]["chosen"]["parcels"][0]["carrierCode"] == "STD"
    )  # the trial was not saved
    bad: dict[str, Any] = await w.gql(
        SIMULATE, {"input": {"orderId": str(spec.id), "weights": {"region": "-1"}}}
    )
    assert bad["simulateRouting"]["userErrors"] == [{"field": ["weights", "region"], "code": "INVALID"}]
    unknown = await w.gql(SIMULATE, {"input": {"orderId": "nope"}})
    assert unknown["simulateRouting"]["userErrors"][0]["code"] == "INVALID"
    missing = await w.gql(SIMULATE, {"input": {"orderId": str(uuid.uuid4())}})
    assert missing["simulateRouting"]["userErrors"][0]["code"] == "NOT_FOUND"
    async with w.db.tenant_session(w.tenant) as session:
        await apply_in(session, w.tenant, "orders", "confirmed", spec.id, {"order_id": str(spec.id)})
        assert (await service.tenant_settings(session, w.tenant)).weights == routing.Weights()
