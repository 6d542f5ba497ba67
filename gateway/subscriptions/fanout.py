"""Sharing one upstream subscription among identical live subscriptions (docs/integration.md, "Sharing").

Many partner ERPs of one tenant subscribe to the same stream with the same selection. Each on its own
would cost one subgraph connection (one JetStream consumer in the subgraph) and one set of entity
fetches per event, per subscriber. Instead, subscriptions with the same **share key** form a group:

    key = (document, operation name, variables, principal: tenant, organization, user, roles, scopes,
           and the authorization layer's plan key)

Everything that can change a result is in the key, so one result serves every member: the group's
pump runs the first member's ``PreparedRun._events()`` (one upstream, its bridging of subgraph restarts,
the entity fetches and the tenant guard once per event) and offers each result to every member's
bounded queue. Only live subscriptions (no cursor) join a group: one that resumes from a cursor has a
history of its own to replay and keeps its own upstream.

Back-pressure: a member whose queue is full (it reads slower than events arrive) is cut off, not
waited for and not buffered without bound: its queue is dropped and it receives one result with
``SUBSCRIBER_TOO_SLOW`` and ``extensions.cursor`` = the cursor of the last event it was given, then
the stream completes; it reconnects with that cursor and loses nothing. The others never wait for it.
The last member to leave closes the upstream.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncGenerator, Hashable
from typing import TYPE_CHECKING, Any

import orjson

from gateway.auth.principal import ANONYMOUS

if TYPE_CHECKING:
    from gateway.subscriptions.session import PreparedRun

_log = logging.getLogger("gateway.subscriptions.fanout")

TOO_SLOW = "SUBSCRIBER_TOO_SLOW"


def share_key(run: PreparedRun) -> Hashable:
    principal = run.principal or ANONYMOUS
    prepared = run.prepared
    return (
        run.params.query,
        run.params.operation_name,
        orjson.dumps(run.params.variables or {}, option=orjson.OPT_SORT_KEYS),
        principal.tenant_id,
        principal.organization_id,
        principal.user_id,
        tuple(sorted(principal.roles)),
        tuple(sorted(principal.scopes)),
        principal.method,
        prepared.plan_key if prepared is not None else None,
    )


def _cursor_of(result: dict[str, Any]) -> str | None:
    cursor = (result.get("extensions") or {}).get("cursor")
    return str(cursor) if cursor is not None else None


class Member:
    """One subscriber of a group: a bounded queue the pump fills and the subscriber drains."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: collections.deque[dict[str, Any]] = collections.deque()
        self.wake = asyncio.Event()
        self.ended = False
        self.cut_off = False
        self.cursor: str | None = None  # of the last result handed to the subscriber

    def offer(self, result: dict[str, Any]) -> bool:
        if len(self.items) >= self.limit:
            self.items.clear()  # memory stays bounded; the cursor says where to resume
            self.cut_off = self.ended = True
            self.wake.set()
            return False
        self.items.append(result)
        self.wake.set()
        return True

    def end(self) -> None:
        self.ended = True
        self.wake.set()


class Group:
    def __init__(self, fanout: FanOut, key: Hashable, run: PreparedRun) -> None:
        self.fanout = fanout
        self.key = key
        self.run = run
        self.members: set[Member] = set()
        self.finished = False
        self.events = 0
        self.task = asyncio.create_task(self._pump(), name="subscription-fanout")

    async def _pump(self) -> None:
        try:
            async with contextlib.aclosing(self.run._events()) as events:
                async for result in events:
                    self.events += 1
                    for member in list(self.members):
                        if not member.offer(result):
                            self.members.discard(member)
                            self.fanout.cut_offs += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: end the members' streams, never the process
            _log.exception("shared subscription pump failed")
        finally:
            self.finished = True
            for member in self.members:
                member.end()
            self.fanout._forget(self)


class FanOut:
    def __init__(self, queue_limit: int = 1000) -> None:
        self.queue_limit = queue_limit
        self.groups: dict[Hashable, Group] = {}
        self.cut_offs = 0  # members cut off for being too slow (tests, diagnostics)

    @property
    def members(self) -> int:
        return sum(len(g.members) for g in self.groups.values())

    def _forget(self, group: Group) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]

    async def join(self, run: PreparedRun) -> AsyncGenerator[dict[str, Any], None]:
        """The results of `run`'s subscription, from the group of identical ones (made if none)."""
        key = share_key(run)
        group = self.groups.get(key)
        if group is None or group.finished:
            group = self.groups[key] = Group(self, key, run)
        member = Member(self.queue_limit)
        group.members.add(member)
        try:
            while True:
                while member.items:
                    result = member.items.popleft()
                    member.cursor = _cursor_of(result) or member.cursor
                    yield result
                if member.ended:
                    break
                member.wake.clear()
                await member.wake.wait()
            if member.cut_off:
                yield self._too_slow(member)
        finally:
            group.members.discard(member)
            if not group.members and not group.finished:
                group.finished = True  # nobody joins a group that is closing
                self._forget(group)
                group.task.cancel()  # closes the upstream subscription (and the subgraph's consumer)

    def _too_slow(self, member: Member) -> dict[str, Any]:
        result: dict[str, Any] = {
            "errors": [
                {
                    "message": f"This subscriber fell {member.limit} events behind and was cut off; "
                    "resubscribe with extensions.cursor to continue after the last event it received.",
                    "extensions": {"code": TOO_SLOW},
                }
            ]
        }
        if member.cursor is not None:
            result["extensions"] = {"cursor": member.cursor}
        return result
