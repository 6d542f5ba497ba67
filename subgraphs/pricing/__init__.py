"""The pricing subgraph: price lists, contract prices, quantity breaks and rules, quotes."""
