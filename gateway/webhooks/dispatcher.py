"""The webhook dispatcher: one subscription per endpoint, run by the gateway's own subscription
execution, and a sender loop for the durable delivery queue.

For each endpoint this process holds the lease of (`store.lease_endpoints`), a feed task prepares
the endpoint's subscription document with `OperationRunner.prepare` as the endpoint's service
principal (its tenant, organization, roles and scopes) and iterates `PreparedRun.results()`: so the
document is validated, authorized and planned exactly like a client's, the subgraph is subscribed
with the signed context of that principal, every event's federated fields are fetched through the
planner, and the tenant guard and per-field authorization apply. Each result:

- carrying a `FORBIDDEN` error (the tenant guard nulled another tenant's object in it): skipped;
- outside the endpoint's `event_types` (the root field's `type`): skipped;
- otherwise a `pending` delivery, with its cursor, in one transaction (`store.record_event`).

A stream that fails or ends is subscribed again from the stored cursor after `resubscribe_delay`;
a document the gateway refuses is noted on the endpoint (`lastError`) and tried again later (the
supergraph may change). The sender loop claims due deliveries and POSTs them (`sender.send`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from gateway.auth.principal import Principal
from gateway.subscriptions.session import OperationParams, OperationRefused, OperationRunner
from gateway.webhooks.config import WebhookSettings
from gateway.webhooks.sender import connector, describe, send
from gateway.webhooks.store import Endpoint, LeaseLost, WebhookStore

_log = logging.getLogger("gateway.webhooks")
PRINCIPAL_METHOD = "webhook"


def principal_of(endpoint: Endpoint) -> Principal:
    return Principal(
        tenant_id=str(endpoint.tenant_id),
        organization_id=str(endpoint.organization_id),
        user_id=None,
        roles=frozenset(endpoint.roles),
        scopes=frozenset(endpoint.scopes),
        method=PRINCIPAL_METHOD,
        credential_id=str(endpoint.id),
    )


def _root(data: Any) -> tuple[str | None, Any]:
    if isinstance(data, Mapping) and data:
        key = next(iter(data))
        return key, data[key]
    return None, None


def _forbidden(result: Mapping[str, Any]) -> bool:
    """The tenant guard (or a subgraph) refused part of the event: an object of another tenant is in
    it. Fail closed: such an event is not delivered at all, not even its type and cursor."""
    return any((e.get("extensions") or {}).get("code") == "FORBIDDEN" for e in result.get("errors") or ())


def delivery_payload(
    endpoint: Endpoint, result: Mapping[str, Any], cursor: str | None
) -> tuple[str | None, dict[str, Any] | None]:
    """(event type, body to send) for one subscription result; body None: not for this endpoint."""
    _, root = _root(result.get("data"))
    if _forbidden(result):
        return None, None
    event_type = root.get("type") if isinstance(root, Mapping) else None
    event_type = str(event_type) if event_type is not None else None
    if endpoint.event_types and event_type not in endpoint.event_types:
        return event_type, None
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "endpointId": str(endpoint.id),
        "type": event_type,
        "cursor": cursor,
        "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": result.get("data"),
    }
    if result.get("errors"):
        body["errors"] = result["errors"]
    return event_type, body


class WebhookDispatcher:
    def __init__(
        self,
        runner: OperationRunner,
        store: WebhookStore,
        settings: WebhookSettings | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        self.runner = runner
        self.store = store
        self.settings = settings or WebhookSettings()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._feeds: dict[uuid.UUID, tuple[int, asyncio.Task[None]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self.sent = 0  # attempts made by this process (tests, diagnostics)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._lease_loop(), name="webhook-leases"),
            asyncio.create_task(self._send_loop(), name="webhook-sender"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        tasks = [*self._tasks, *(t for _, t in self._feeds.values())]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._feeds.clear()
        with contextlib.suppress(Exception):
            await self.store.release_leases(self.owner)

    def wake(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ endpoints

    async def _lease_loop(self) -> None:
        interval = max(self.settings.lease_seconds / 3, 0.05)
        while True:
            try:
                await self.reconcile()
            except Exception:
                _log.exception("webhook dispatcher could not renew its endpoint leases")
            await asyncio.sleep(interval)

    async def reconcile(self) -> None:
        """Start feeds of newly leased endpoints, restart changed ones, stop the others."""
        endpoints = {
            e.id: e for e in await self.store.lease_endpoints(self.owner, self.settings.lease_seconds)
        }
        for endpoint_id, (version, task) in list(self._feeds.items()):
            current = endpoints.get(endpoint_id)
            if current is None or current.version != version or task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                del self._feeds[endpoint_id]
        for endpoint_id, endpoint in endpoints.items():
            if endpoint_id not in self._feeds:
                task = asyncio.create_task(self._feed(endpoint), name=f"webhook-feed-{endpoint_id}")
                self._feeds[endpoint_id] = (endpoint.version, task)

    async def _feed(self, endpoint: Endpoint) -> None:
        cursor = endpoint.cursor
        principal = principal_of(endpoint)
        while True:
            params = OperationParams(
                query=endpoint.subscription,
                variables=endpoint.variables or None,
                extensions={"cursor": cursor} if cursor is not None else None,
            )
            try:
                run = await self.runner.prepare(params, principal, {})
            except OperationRefused as exc:
                await self.store.set_error(endpoint.id, self.owner, "refused: " + describe(exc.errors))
                await asyncio.sleep(self.settings.refused_retry_delay)
                continue
            try:
                async with contextlib.aclosing(run.results()) as results:
                    async for result in results:
                        if "data" not in result:  # the stream failed (coded errors), not an event
                            await self.store.set_error(
                                endpoint.id, self.owner, "stream: " + describe(result.get("errors"))
                            )
                            break
                        event_cursor = (result.get("extensions") or {}).get("cursor")
                        event_cursor = str(event_cursor) if event_cursor is not None else None
                        event_type, body = delivery_payload(endpoint, result, event_cursor)
                        queued = await self.store.record_event(
                            endpoint,
                            self.owner,
                            cursor=event_cursor,
                            # Without a cursor an event cannot be recognized again: a key of its own.
                            event_key=event_cursor
                            if event_cursor is not None
                            else f"nocursor:{uuid.uuid4()}",
                            event_type=event_type,
                            payload=body,
                        )
                        if event_cursor is not None:
                            cursor = event_cursor
                        if queued:
                            self.wake()
            except LeaseLost:
                _log.info("webhook endpoint %s: lease lost, stopping its feed", endpoint.id)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.exception("webhook endpoint %s: feed failed", endpoint.id)
                with contextlib.suppress(Exception):
                    await self.store.set_error(endpoint.id, self.owner, f"dispatcher: {type(exc).__name__}")
            await asyncio.sleep(self.settings.resubscribe_delay)

    # ------------------------------------------------------------------ deliveries

    async def _send_loop(self) -> None:
        limit = asyncio.Semaphore(self.settings.concurrency)
        running: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(connector=connector(self.settings)) as http:
            try:
                while True:
                    try:
                        batch = await self.store.claim_due(
                            self.settings.batch_size, self.settings.request_timeout + 5
                        )
                    except Exception:
                        _log.exception("webhook dispatcher could not claim deliveries")
                        batch = []
                    for due in batch:
                        await limit.acquire()

                        async def one(d: Any = due) -> None:
                            try:
                                await send(http, self.store, self.settings, d)
                                self.sent += 1
                            except Exception:
                                _log.exception("webhook delivery %s: attempt not recorded", d.id)
                            finally:
                                limit.release()

                        task = asyncio.create_task(one())
                        running.add(task)
                        task.add_done_callback(running.discard)
                    if len(batch) >= self.settings.batch_size:
                        continue
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)
            finally:
                for task in running:
                    task.cancel()
