"""NATS request-reply service of the pricing domain: other domains (orders) ask for the prices of a
cart or the quantity rules of SKUs right now, without an HTTP mesh.

Subject `svc.pricing` (outside `pricing.>`, which the PRICING JetStream stream captures: a stream
would otherwise acknowledge the request itself). The caller's principal travels in the
`x-gateway-context` header, signed like the gateway's (an orders subgraph forwards the header it
received); the tenant and the buyer organization come from it. Request bodies are JSON:

    {"op": "cart_prices", "lines": [{"sku_id": "...", "quantity": 3}], "currency": "EUR"?}
    -> {"ok": true, "currency": "EUR", "total": "12.00", "lines": [{"sku_id", "quantity",
        "unit_price", "line_total", "source", "price_list_id", "break_min_quantity",
        "quantity_rule": {"minimum", "maximum", "increment"}, "error": null | {code, message, field}}]}
    {"op": "quantity_rules", "sku_ids": ["..."]}
    -> {"ok": true, "rules": {"<sku id>": {"minimum", "maximum", "increment"}}}

Failures answer `{"ok": false, "error": {"code", "message"}}` (UNAUTHENTICATED, BAD_REQUEST,
a pricing code). `request_pricing` is the client side: it raises `PricingUnavailable` when nobody
answers within the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import nats
import orjson
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from shared.db import Database
from shared.gateway_context import HEADER, GatewayContextError, Principal, verify_context
from shared.settings import Settings
from subgraphs.pricing import service
from subgraphs.pricing.errors import PricingError
from subgraphs.pricing.resolution import LineRequest, QuantityRule

log = logging.getLogger(__name__)

SUBJECT = "svc.pricing"
QUEUE = "pricing"  # every pricing process joins the queue group: one of them answers
MAX_LINES = service.MAX_CART_LINES


class PricingUnavailable(RuntimeError):
    """Nobody answered on `svc.pricing` in time."""


def _rule(rule: QuantityRule) -> dict[str, Any]:
    return {"minimum": rule.minimum, "maximum": rule.maximum, "increment": rule.increment}


def _fail(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


async def handle_request(db: Database, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Answer one request for an already verified principal."""
    try:
        tenant_id = uuid.UUID(str(principal.tenant_id))
    except ValueError:
        return _fail("UNAUTHENTICATED", "the context names no tenant")
    org = None
    if principal.organization_id:
        try:
            org = uuid.UUID(principal.organization_id)
        except ValueError:
            return _fail("UNAUTHENTICATED", "the context's organization is not an id")
    op = body.get("op")
    try:
        if op == "cart_prices":
            raw_lines = body.get("lines")
            if not isinstance(raw_lines, list) or len(raw_lines) > MAX_LINES:
                return _fail("BAD_REQUEST", f"lines must be a list of at most {MAX_LINES}")
            lines = [LineRequest(uuid.UUID(str(li["sku_id"])), int(li["quantity"])) for li in raw_lines]
            currency = body.get("currency")
            async with db.tenant_session(tenant_id) as session:
                buyer = await service.buyer_context(session, org)
                cart = await service.price_lines(
                    session, buyer, lines, currency=str(currency) if currency else None
                )
            out = []
            for outcome in cart.outcomes:
                r, e = outcome.resolution, outcome.error
                out.append(
                    {
                        "sku_id": str(outcome.request.sku_id),
                        "quantity": outcome.request.quantity,
                        "unit_price": r.unit_price.as_string() if r else None,
                        "line_total": r.line_total.as_string() if r else None,
                        "source": r.source.value if r else None,
                        "price_list_id": str(r.price_list.id) if r else None,
                        "break_min_quantity": r.break_min_quantity if r else None,
                        "quantity_rule": _rule(r.quantity_rule) if r else None,
                        "error": {"code": e.code.value, "message": e.message, "field": e.field}
                        if e
                        else None,
                    }
                )
            return {"ok": True, "currency": cart.currency, "total": cart.total.as_string(), "lines": out}
        if op == "quantity_rules":
            sku_ids = [uuid.UUID(str(s)) for s in body.get("sku_ids") or []][:MAX_LINES]
            async with db.tenant_session(tenant_id) as session:
                buyer = await service.buyer_context(session, org)
                rules = await service.quantity_rules_for(session, buyer, sku_ids)
            return {"ok": True, "rules": {str(s): _rule(r) for s, r in rules.items()}}
    except PricingError as exc:
        return _fail(exc.code.value, exc.message)
    except (KeyError, TypeError, ValueError):
        return _fail("BAD_REQUEST", "malformed request")
    return _fail("BAD_REQUEST", f"unknown op {op!r}")


class PricingResponder:
    """Serves `svc.pricing` on its own NATS connection until cancelled."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.ready = asyncio.Event()

    async def _on_request(self, msg: Msg) -> None:
        try:
            principal = verify_context(
                (msg.headers or {}).get(HEADER, ""), self.settings.gateway_secret_bytes
            ).principal
        except GatewayContextError as exc:
            reply = _fail("UNAUTHENTICATED", str(exc))
        else:
            try:
                body = orjson.loads(msg.data)
                reply = (
                    await handle_request(self.db, principal, body)
                    if isinstance(body, dict)
                    else _fail("BAD_REQUEST", "the body must be a JSON object")
                )
            except orjson.JSONDecodeError:
                reply = _fail("BAD_REQUEST", "the body is not JSON")
            except Exception:
                log.exception("pricing rpc: request failed")
                reply = _fail("INTERNAL_SERVER_ERROR", "Internal server error")
        await msg.respond(orjson.dumps(reply))

    async def run(self) -> None:
        delay = 0.2
        while True:
            try:
                nc = await nats.connect(
                    self.settings.nats_servers,
                    name="pricing-rpc",
                    max_reconnect_attempts=-1,
                    connect_timeout=2,
                )
                break
            except Exception as exc:
                log.warning("pricing rpc: NATS not reachable (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        try:
            await nc.subscribe(SUBJECT, queue=QUEUE, cb=self._on_request)
            await nc.flush()
            self.ready.set()
            await asyncio.Event().wait()  # serve until cancelled
        finally:
            await nc.close()


async def request_pricing(
    nc: NatsClient,
    context_header: str,
    body: dict[str, Any],
    *,
    reply_within: float = 2.0,
    subject: str = SUBJECT,
) -> dict[str, Any]:
    """Ask the pricing service; `context_header` is a signed `x-gateway-context` value."""
    try:
        msg = await nc.request(
            subject, orjson.dumps(body), timeout=reply_within, headers={HEADER: context_header}
        )
    except (NatsTimeoutError, NoRespondersError) as exc:
        raise PricingUnavailable(f"the pricing service did not answer within {reply_within} s") from exc
    reply: dict[str, Any] = orjson.loads(msg.data)
    return reply
