"""Fetching a URL a user sent without letting them reach inside our network (SSRF).

Every hop, redirects included, resolves the host once, refuses the request if any address is
not a public unicast one, and connects to the address it checked: the pool is keyed by that
IP, the `Host` header and TLS name stay the host's, so no second lookup can swap it (DNS
rebinding). This follows requests-hardened's adapter; we need our own policy (an allow-list
for tests, CGNAT, NAT64 and 6to4 blocked, every address of a name checked, not only the
first), so the adapter is written here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges `is_global` lets through, or that wrap another address.
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # carrier-grade NAT, and Alibaba's metadata service at 100.100.100.200
        "192.88.99.0/24",  # 6to4 relays
        "192.0.0.0/24",  # IETF protocol assignments (older Pythons call parts of it global)
        "64:ff9b::/96",  # NAT64: an IPv4 address inside IPv6
        "64:ff9b:1::/48",
        "2002::/16",  # 6to4: an IPv4 address inside IPv6
    )
)
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class BlockedAddress(requests.RequestException):
    """The URL leads to an address the bot must not fetch."""


def is_public(ip: IPAddress) -> bool:
    """Whether `ip` is a public unicast address (an IPv4-mapped IPv6 one judged as IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or any(ip in network for network in _EXTRA_BLOCKED)
    )


def resolve(host: str, port: int, allowed: Iterable[Network] = ()) -> str:
    """The address to connect to for `host`: every address it resolves to must be public or
    inside `allowed`. Numeric spellings (`2852039166`, `0x7f.1`, `0177.0.0.1`) resolve to
    the address they spell and are judged as such."""
    allowed = tuple(allowed)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise requests.ConnectionError(f"cannot resolve {host!r}: {error}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses:
        raise requests.ConnectionError(f"{host!r} has no address")
    for address in addresses:
        if not (is_public(address) or any(address in network for network in allowed)):
            raise BlockedAddress(f"{host!r} leads to {address}, which is not public")
    first = addresses[0]
    return f"[{first}]" if first.version == 6 else str(first)


class GuardedAdapter(HTTPAdapter):
    """An adapter that connects only to checked addresses; mount it for http and https."""

    def __init__(self, allowed: Iterable[Network] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.allowed = tuple(allowed)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host = host_params["host"]
        port = host_params["port"] or (443 if host_params["scheme"] == "https" else 80)
        request.headers = CaseInsensitiveDict(request.headers or {})
        shown = f"[{host}]" if ":" in host else host
        request.headers["Host"] = f"{shown}:{host_params['port']}" if host_params["port"] else shown
        if host_params["scheme"] == "https":
            # Check the certificate, and send SNI, for the name, not the pinned address.
            pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
        host_params["host"] = resolve(host, port, self.allowed).strip("[]")
        return host_params, pool_kwargs

    def get_connection(self, url, proxies=None):  # pragma: no cover -- deprecated path
        raise NotImplementedError("use get_connection_with_tls_context (requests >= 2.32.2)")
