"""The client's address behind load balancers: `Forwarded` (RFC 7239) or `X-Forwarded-For`, believed only
when the TCP peer is a configured proxy (`GATEWAY_TRUSTED_PROXIES`, addresses or CIDR networks).

The chain is read from the right (the hop nearest to us) and every trusted proxy is skipped; the first
address that is not a trusted proxy is the client. Anything to its left was written by the client or
by proxies we do not know, so it is never believed. A peer that is not a trusted proxy is the client
itself, whatever headers it sends (a forged `X-Forwarded-For` changes nothing). When a trusted proxy
hands over something that is not an address ("unknown", an obfuscated `_id`, garbage), the nearest
address we could still attribute is used: the proxy that forwarded it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    value = text.strip().strip('"').strip()
    if value.startswith("["):  # "[2001:db8::1]:4711" (Forwarded) or "[2001:db8::1]"
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # "192.0.2.60:8080"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_for(headers: Mapping[str, str]) -> list[str]:
    """The `for=` hops of `Forwarded` (preferred when present), else of `X-Forwarded-For`, left to right."""
    forwarded = headers.get("forwarded")
    if forwarded:
        hops: list[str] = []
        for element in forwarded.split(","):
            value = ""
            for pair in element.split(";"):
                name, _, raw = pair.partition("=")
                if name.strip().lower() == "for":
                    value = raw.strip()
            hops.append(value)
        return hops
    chain = headers.get("x-forwarded-for")
    return [hop.strip() for hop in chain.split(",")] if chain else []


class TrustedProxies:
    def __init__(self, proxies: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(p.strip(), strict=False) for p in proxies
        )

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def client_address(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        """The end client's address for a request from `peer` with (lower-case) `headers`."""
        if peer is None:
            return None
        nearest = _address(peer)
        if nearest is None or not self.networks or not self.trusts(nearest):
            return peer
        for hop in reversed(forwarded_for(headers)):
            address = _address(hop)
            if address is None:
                break  # not attributable beyond this proxy
            nearest = address
            if not self.trusts(address):
                break
        return str(nearest)
