"""The development stack: real PostgreSQL, NATS JetStream and Redis from PyPI wheels, and the
launcher behind `make up` (`python -m devstack up`).

`services.start_services()` starts the three servers on free loopback ports (unless their URL
environment variables point at existing servers); the tests' session fixtures use it too.
"""
