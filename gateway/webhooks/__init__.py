"""Outbound webhooks: the dispatcher that turns subscription events into signed HTTP deliveries.

The registry (endpoints, deliveries, attempts) belongs to the orgs subgraph (`subgraphs/orgs/webhooks.py`,
tables `orgs.webhook_*`); this package only runs the endpoints' subscriptions through the gateway's own
subscription execution and sends what they yield. Contract and guarantees: docs/webhooks.md.
"""
