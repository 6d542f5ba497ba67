"""Catalog search benchmark (`python -m bench.catalog`): see `bench/catalog/run.py`."""
