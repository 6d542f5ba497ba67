"""ASGI entry point: `uvicorn --factory subgraphs.finance.app:create_app`.

Besides `/graphql` and `/healthz` (the factory's), finance serves:
- `POST /webhooks/{provider}`: signed provider webhooks (webhooks.py; no gateway context: the
  provider signs with its own secret);
- `GET /invoices/{id}.pdf`: the invoice PDF, for a caller with the gateway's signed context and
  `finance:read` (the GraphQL field `Invoice.pdfBase64` carries the same document);
and runs the sweepers (overdue invoices, due settlements) in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from shared.app_factory import SubgraphRuntime, create_subgraph_app
from shared.db import Database
from shared.errors import UserInputError
from shared.gateway_context import HEADER, GatewayContextError, verify_context
from shared.settings import Settings, get_settings
from subgraphs.finance import payments, queries, sweeper, webhooks
from subgraphs.finance.config import FinanceSettings, get_finance_settings
from subgraphs.finance.consumers import OrderEvents, OrgUnitProjection
from subgraphs.finance.models import SCHEMA, InvoiceRow, OrderRow
from subgraphs.finance.providers import PaymentProvider, ProviderEventError, providers
from subgraphs.finance.schema import render_invoice, schema

log = logging.getLogger(__name__)


def _json(body: dict[str, object], status: int) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def webhook_endpoint(known: dict[str, PaymentProvider], fin: FinanceSettings):  # type: ignore[no-untyped-def]
    async def receive(request: Request) -> Response:
        provider = known.get(request.path_params["provider"])
        if provider is None:
            return _json({"error": "unknown provider"}, 404)
        body = await request.body()
        try:
            webhooks.verify(
                provider.webhook_secret(),
                request.headers.get(webhooks.SIGNATURE_HEADER),
                body,
                now=time.time(),
                tolerance=fin.webhook_tolerance,
            )
        except webhooks.WebhookError as exc:
            log.warning("finance: refused %s webhook: %s", provider.name, exc)
            return _json({"error": str(exc)}, 401)
        try:
            event = provider.parse_event(body)
        except ProviderEventError as exc:
            return _json({"error": str(exc)}, 400)
        runtime: SubgraphRuntime = request.app.state.runtime
        try:
            async with runtime.db.tenant_session(event.tenant_id) as session:
                outcome = await payments.apply_provider_event(session, provider.name, event)
        except UserInputError as exc:
            # Not stored: the provider retries (the order may not have reached finance yet).
            return _json({"error": str(exc)}, 422)
        return _json({"status": outcome.status}, 200)

    return receive


async def invoice_pdf(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    try:
        principal = verify_context(request.headers.get(HEADER) or "", settings.gateway_secret_bytes).principal
    except GatewayContextError:
        return _json({"error": "missing or invalid gateway context"}, 401)
    if not principal.has_scope("finance:read") or not principal.tenant_id:
        return _json({"error": "finance:read required"}, 403)
    try:
        invoice_id = uuid.UUID(request.path_params["invoice_id"])
        tenant = uuid.UUID(principal.tenant_id)
    except ValueError:
        return _json({"error": "not found"}, 404)
    caller = None
    with contextlib.suppress(ValueError, TypeError):
        caller = uuid.UUID(str(principal.organization_id))
    runtime: SubgraphRuntime = request.app.state.runtime
    async with runtime.db.tenant_session(tenant) as session:
        row = await session.get(InvoiceRow, invoice_id)
        if row is None or not await queries.may_see_buyer(session, caller, row.buyer_organization_id):
            return _json({"error": "not found"}, 404)
        names = {
            o: await queries.org_name(session, o)
            for o in (row.seller_organization_id, row.buyer_organization_id)
        }
        order = await session.get(OrderRow, (tenant, row.order_id))
        pdf = render_invoice(row, names, order.number if order else "")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{row.number}.pdf"'},
    )


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    fin = get_finance_settings()
    app = create_subgraph_app(
        schema,
        name="finance",
        settings=settings,
        database=database,
        outbox_schema=SCHEMA,
        consumers=[OrderEvents, OrgUnitProjection],
    )
    app.state.settings = settings
    app.add_route("/webhooks/{provider}", webhook_endpoint(providers(), fin), methods=["POST"])
    app.add_route("/invoices/{invoice_id}.pdf", invoice_pdf, methods=["GET"])
    factory_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The factory's lifespan (database, relay, consumers) plus the sweepers.
        async with factory_lifespan(app):
            runtime: SubgraphRuntime = app.state.runtime
            task = asyncio.create_task(sweeper.run(runtime.db, fin.sweep_interval), name="finance-sweeper")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    app.router.lifespan_context = lifespan
    return app
