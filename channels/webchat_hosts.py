"""Which host names the web chat answers under, and which pages may open its socket.

Checking that a WebSocket's Origin matches its Host is not enough: under DNS rebinding a
page at evil.example has its name made to resolve to this server, and its requests then
carry `Host: evil.example` and `Origin: http://evil.example`, which agree. So the Host must
be one of ours first: BOT_PUBLIC_URL's host, one listed in BOT_ALLOWED_HOSTS, or a loopback
name (localhost, 127.0.0.1, [::1]) on any port. A name without a port matches it on any
port (the attacker controls their name, not our port); with a port, only that port. Only
then does "the Origin is this page's own origin" mean something; BOT_PUBLIC_URL's origin
and BOT_ALLOWED_ORIGINS are allowed besides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Request

LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]"})
_HOST = re.compile(r"(?P<name>[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(?P<port>\d{1,5}))?")


def _split(host: str) -> tuple[str, str | None] | None:
    """(name, port or None) of a `host[:port]`, or None when it is not one."""
    match = _HOST.fullmatch(host.lower())
    return (match["name"], match["port"]) if match else None


def _public_url_parts(settings: Mapping[str, Any]) -> tuple[str, str]:
    """BOT_PUBLIC_URL's origin and host[:port], or two empty strings."""
    public = settings["BOT_PUBLIC_URL"]
    if not public:
        return "", ""
    parts = urlsplit(public)
    host = parts.netloc.rpartition("@")[2].lower()
    return f"{parts.scheme}://{host}", host


def host_allowed(host: str, settings: Mapping[str, Any]) -> bool:
    """Whether a request's Host (`host[:port]`) is one the web chat answers under."""
    given = _split(host)
    if given is None:
        return False
    name, port = given
    if name in LOOPBACK:
        return True
    for entry in (_public_url_parts(settings)[1], *settings["BOT_ALLOWED_HOSTS"]):
        allowed = _split(entry)
        if allowed and allowed[0] == name and allowed[1] in (None, port):
            return True
    return False


def origin_allowed(origin: str, request: Request, settings: Mapping[str, Any]) -> bool:
    """Whether a page at `origin` may open the socket: this page's own origin (its Host
    already allowed), BOT_PUBLIC_URL's, or one in BOT_ALLOWED_ORIGINS."""
    own = f"{request.scheme}://{request.host}".lower()
    public = _public_url_parts(settings)[0]
    allowed = {own, *settings["BOT_ALLOWED_ORIGINS"]} | ({public} if public else set())
    return origin.rstrip("/").lower() in allowed


def refusal(request: Request, settings: Mapping[str, Any], *, check_origin: bool) -> str | None:
    """Why this web-chat request must be refused (403), naming the setting, or None."""
    if not host_allowed(request.host, settings):
        return (
            f"host {request.host!r} is not BOT_PUBLIC_URL's, not in BOT_ALLOWED_HOSTS and "
            "not loopback"
        )
    origin = request.headers.get("Origin", "")
    if check_origin and not origin_allowed(origin, request, settings):
        return (
            f"origin {origin or '(none)'!r} is not this page's, not BOT_PUBLIC_URL's and not "
            "in BOT_ALLOWED_ORIGINS"
        )
    return None
