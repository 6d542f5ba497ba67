"""The development stack, on the top floor (docs/architecture.md): it knows every service.

`make up` (`python -m devstack up`) starts real PostgreSQL, NATS JetStream and Redis from PyPI
wheels (`services.start_services()`, which the tests' session fixtures use too), migrates and
seeds every registered subgraph (`migrate`, `seed`), then starts the subgraphs and the gateway
(`launcher`). `make schema` (`schema_export`) writes `schema/` with the gateway's composer.
"""
