"""The shop subgraphs of the core tests (real HTTP on loopback), reused for the performance mechanisms."""

from tests.gateway.core.conftest import shop_env, shop_servers

__all__ = ["shop_env", "shop_servers"]
