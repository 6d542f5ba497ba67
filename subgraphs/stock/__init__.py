"""The stock subgraph: locations, levels, reservations, adjustments (see docs/stock.md)."""
