"""What the gateway enforces is declared in finance's SDL: scopes on every query and mutation,
`@requiresScopes(finance:read)` on the credit fields, `tenantId @shareable` on the entities."""

from __future__ import annotations

import re

from subgraphs.finance.schema import schema


def _block(sdl: str, name: str) -> str:
    match = re.search(rf"\n(type|extend type) {name}\b[^{{]*\{{(.*?)\n\}}", sdl, re.S)
    assert match, name
    return match.group(2)


def test_scopes_and_tenant_ids_are_declared() -> None:
    sdl = schema.as_str()
    credit = _block(sdl, "CreditAccount")
    for field in ("creditLimit", "exposure", "available"):
        assert re.search(rf'{field}: Money!? @requiresScopes\(scopes: \[\["finance:read"\]\]\)', credit), (
            field
        )
    for entity in ("Invoice", "Payment", "JournalEntry"):
        assert "tenantId: ID! @shareable" in _block(sdl, entity), entity
    for root, scope in (("Query", "finance:read"), ("Mutation", "finance:write")):
        fields = [line for line in _block(sdl, root).splitlines() if re.match(r"\s+\w+[(:]", line)]
        unscoped = [f for f in fields if "_service" not in f and "_entities" not in f and scope not in f]
        assert fields and not [f for f in unscoped if not f.strip().startswith(('"', "#"))], unscoped
