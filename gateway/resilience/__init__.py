"""Subgraph resilience: circuit breakers, retries with a budget, per-subgraph timeouts and limits."""
