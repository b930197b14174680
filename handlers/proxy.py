"""Who is asking, and over what, when the service sits behind a reverse proxy.

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only from a configured trusted proxy
(`TRUSTED_PROXIES`): from anyone else they are whatever the client chose to send, and trusting
them would let one client pose as many (escaping rate limits) or as HTTPS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

from handlers.appkeys import settings_key
from settings import Network


def _trusted(address: str | None, networks: Sequence[Network]) -> bool:
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _networks(request: web.Request) -> tuple[Network, ...]:
    return request.app[settings_key].trusted_proxy_networks


def client_ip(request: web.Request) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    address in X-Forwarded-For that is not itself a trusted proxy."""
    networks = _networks(request)
    peer = request.remote or "unknown"
    if not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from the client side of the proxy: not an identity
    return peer


def is_https(request: web.Request) -> bool:
    """HTTPS here, or a trusted proxy says the client used HTTPS."""
    if request.secure:
        return True
    if not _trusted(request.remote, _networks(request)):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https"
