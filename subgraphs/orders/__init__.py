"""The orders subgraph: carts, purchases and orders, approvals, the placement saga, returns."""
