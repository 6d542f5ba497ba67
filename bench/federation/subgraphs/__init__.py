"""The scenario's four subgraphs (accounts, inventory, products, reviews) in Python, served by one process."""
