"""Through the federation gateway (the composed supergraph in schema/): the demo buyer plant's
credit account and the tenant's sharing rule, answered by the finance subgraph."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

QUERY = """query($o: ID!) {
  creditAccount(organizationId: $o) {
    terms termsInheritedFrom creditLimit { amount currency } exposure { amount } }
  sharingRule { platformFeePercent supplierPercent level1DistributorPercent level2DistributorPercent }
  trialBalance { amount }
}"""


async def test_credit_account_through_the_gateway(
    service_urls: Any, serve_app: Callable[[Any], Awaitable[str]], repo_root: Path
) -> None:
    import graphql

    from devstack.seed import seed_all
    from gateway.engine import Gateway, OperationRequest
    from shared.db import Database
    from shared.gateway_context import Principal, sign_context
    from shared.settings import get_settings
    from subgraphs.finance.app import create_app as finance_app
    from subgraphs.orgs import seed as orgs_seed

    await seed_all(service_urls.database_url, ["orgs", "finance"])
    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    db = Database.for_app(settings, pool_size=2, max_overflow=0)
    gateway = None
    try:
        finance_url = await serve_app(finance_app(settings, database=db))
        sdl = (repo_root / "schema" / "supergraph.graphql").read_text()
        gateway = Gateway.from_supergraph_sdl(
            sdl.replace("http://127.0.0.1:4106/graphql", f"{finance_url}/graphql")
        )
        principal = Principal(
            tenant_id=str(orgs_seed.DEMO_TENANT_ID),
            organization_id=str(orgs_seed.PLATFORM_ID),
            scopes=("finance:read",),
        )
        header = sign_context(principal, settings.gateway_secret_bytes, ttl=120)
        result = await gateway.execute(
            OperationRequest(graphql.parse(QUERY), None, {"o": str(orgs_seed.BUYER_PLANT_ID)}),
            extra_subgraph_headers={"x-gateway-context": header},
        )
    finally:
        if gateway is not None:
            await gateway.close()
        await db.dispose()
    assert "errors" not in result, result
    data = result["data"]
    assert data["creditAccount"] == {
        "terms": "NET_30",
        "termsInheritedFrom": str(orgs_seed.BUYER_ID),
        "creditLimit": {"amount": "50000.00", "currency": "EUR"},
        "exposure": {"amount": "0.00"},
    }
    assert data["sharingRule"] == {
        "platformFeePercent": "5",
        "supplierPercent": "60",
        "level1DistributorPercent": "20",
        "level2DistributorPercent": "15",
    }
