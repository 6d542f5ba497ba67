"""Flash-sale reservation benchmark (`python -m bench.stock`): see `bench/stock/run.py`."""
