"""Which addresses an outbound webhook may be sent to (orgs checks at registration, the gateway's
dispatcher again at every connection, through its resolver: a name that later resolves to a
private address is refused then too).

Allowed: `https://` (or `http://`) URLs without credentials whose host resolves only to public
addresses. Refused: private, loopback, link-local, multicast, reserved and unspecified addresses
(`10/8`, `127/8`, `169.254/16`, `::1`, `fc00::/7`, ...), so a tenant cannot make the platform call
its own internals. `allow_loopback` (a dev/test setting) lets loopback through, nothing else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


class WebhookUrlError(ValueError):
    """The URL may not be used; the message says why (safe to show to the tenant)."""


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return not (
        ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a syntactically acceptable webhook URL, else WebhookUrlError."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"a URL of 1 to {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlError("not a valid URL") from None
    if parts.scheme not in ("https", "http"):
        raise WebhookUrlError("only https:// (or http://) URLs")
    if not parts.hostname:
        raise WebhookUrlError("the URL has no host")
    if parts.username or parts.password:
        raise WebhookUrlError("no credentials in the URL; verify the signature instead")
    if parts.fragment:
        raise WebhookUrlError("no fragment (#...) in the URL")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_url(url: str, *, allow_loopback: bool) -> None:
    """Raise WebhookUrlError unless `url` may receive webhooks (every resolved address allowed)."""
    _, host, port = parse_url(url)
    try:
        addresses = await resolve(host, port)
    except OSError:
        raise WebhookUrlError(f"the host {host} does not resolve") from None
    if not addresses:
        raise WebhookUrlError(f"the host {host} does not resolve")
    refused = [a for a in addresses if not address_allowed(a, allow_loopback=allow_loopback)]
    if refused:
        raise WebhookUrlError(f"the host {host} resolves to a private or loopback address ({refused[0]})")
