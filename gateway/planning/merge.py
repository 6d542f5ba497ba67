"""Fetch merging: fold an entity fetch into a later fetch to the same subgraph for the same objects.

The planner layers fetch groups by dependency depth (as early as possible), and on each layer the
entity groups of one subgraph already share ONE ``_entities`` call (siblings in a ``Parallel`` are
merged).  Across layers that is not enough: in the benchmark query inventory is asked for ``inStock``
as soon as the products are known and again one layer later for ``shippingEstimate`` (which
``@requires`` ``price``/``weight`` from products).  This pass moves such an earlier fetch down to the
later one so both travel in one request.

It is a pure function over plain data: layers of *slots* (one slot = one subgraph request to be), each
slot listing the fetch groups it will carry.  A slot S1 (entity fetch to subgraph X on layer i) is
folded into a slot S2 (entity fetch to X on layer j > i) when

- every group of S1 has an entity path that S2 also covers (same objects: the representations sent
  by S2 come from the same objects, and S1's key fields travel as S1's own inputs, unioned per path);
- no group depending on a group of S1 (directly; indirect dependents are later still) runs on a layer
  <= j, so nothing between the two needs S1's output, ``@requires`` chains included;
- no group of S1 needs a different representation of the same objects than a group of S2
  (``clash``: a field required with two argument values).

S1 then disappears and its groups are planned as part of S2.  Moving a fetch later never starts it
before its own inputs (they were ready on layer i < j).  Root fetches never move.  The request count
drops by one per fold and the plan gets no deeper (S2's layer existed already).  The caller rebuilds
each merged fetch from its groups, so selections, aliases, representations (union of the requires
per path and type) and variable usages (union) are computed exactly as for same-layer siblings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(slots=True)
class Slot:
    """One request to be: the fetch groups (ids) sent together to ``subgraph``."""

    subgraph: str
    entity: bool  # an ``_entities`` fetch (root fetches never move)
    members: list[int] = field(default_factory=list)


Layers = dict[int, list[Slot]]


def fold_later_fetches(
    layers: Mapping[int, list[Slot]],
    paths: Mapping[int, tuple[str, ...]],
    dependents: Mapping[int, set[int]],
    clash: Callable[[int, int], bool],
) -> Layers:
    """Return new layers where earlier entity slots are folded into later slots of the same subgraph
    at the same paths when nothing in between depends on them (see the module docstring).

    ``paths``: group id -> entity path; ``dependents``: group id -> ids of the groups that need its
    output; ``clash(a, b)``: groups ``a`` and ``b`` cannot share one request.
    """
    out: Layers = {
        lv: [Slot(s.subgraph, s.entity, list(s.members)) for s in slots] for lv, slots in layers.items()
    }
    changed = True
    while changed:
        changed = False
        where = {gid: lv for lv, slots in out.items() for s in slots for gid in s.members}
        for lv in sorted(out):
            for slot in out[lv]:
                target = _target(out, lv, slot, where, paths, dependents, clash)
                if target is None:
                    continue
                target.members.extend(slot.members)
                out[lv].remove(slot)
                changed = True
                break
            if changed:
                break
    return {lv: slots for lv, slots in out.items() if slots}


def _target(
    layers: Layers,
    lv: int,
    slot: Slot,
    where: Mapping[int, int],
    paths: Mapping[int, tuple[str, ...]],
    dependents: Mapping[int, set[int]],
    clash: Callable[[int, int], bool],
) -> Slot | None:
    if not slot.entity or not slot.members:
        return None
    # The fold target must run before every group that needs this slot's output.
    limit = min(
        (where[d] for m in slot.members for d in dependents.get(m, ()) if d in where),
        default=None,
    )
    for lv2 in sorted(layers):
        if lv2 <= lv or (limit is not None and lv2 >= limit):
            continue
        for other in layers[lv2]:
            if not other.entity or other.subgraph != slot.subgraph:
                continue
            covered = {paths[m] for m in other.members}
            if not all(paths[m] in covered for m in slot.members):
                continue
            if any(clash(a, b) for a in slot.members for b in other.members):
                continue
            return other
    return None
